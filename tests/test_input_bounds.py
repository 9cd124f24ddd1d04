"""Input that once cost a worker or answered 500 is refused with a 4xx that says why, quickly: YAML aliases and
deep nesting, JSON nested too deep, NUL and lone surrogates in bodies, queries and paths, moments out of range,
node ids with many colons."""

import gzip
import io
import json
import re
import socket
import time

import pytest
from django import db
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework import exceptions

from catalog import services
from catalog.cards.html import markdown_html
from catalog.models import DataCard, Dataset
from config.api.parsers import BoundedJSONParser, Documents, _text_fine, check_document
from lineage.models import LineageEdge
from tests.factories import DatasetFactory, OwnershipFactory, VersionFactory
from tests.hostile import ALIAS_BOMB, deep

pytestmark = pytest.mark.django_db


def _card_import(client, dataset, content):
    # Encoded here (ASCII, escaped): a lone surrogate cannot be encoded as UTF-8 by the test client.
    body = json.dumps({"format": "huggingface", "content": content})
    return client.generic("POST", f"/api/v1/datasets/{dataset.pk}/card/import", body, content_type="application/json")


def test_it_refuses_a_yaml_alias_bomb_in_a_card_quickly(owner_client, dataset):
    started = time.monotonic()
    response = _card_import(owner_client, dataset, ALIAS_BOMB)

    assert time.monotonic() - started < 1
    assert response.status_code == 400, response.json()
    assert "anchors or aliases" in response.json()["errors"]["content"][0]
    assert not DataCard.objects.filter(dataset=dataset).exclude(summary="").exists()


@pytest.mark.parametrize("levels", [21, 5_000])
def test_it_refuses_yaml_front_matter_nested_too_deeply(owner_client, dataset, levels):
    response = _card_import(
        owner_client, dataset, f"---\ntask_categories: {deep(levels)}\n---\n## Dataset Summary\n\nx\n"
    )

    assert response.status_code == 400, response.json()
    assert "nest" in response.json()["errors"]["content"][0]


def test_it_refuses_long_yaml_front_matter_quickly(owner_client, dataset):
    front_matter = "".join(f"key{index}: [a, b, c, {{x: 1, y: two}}]\n" for index in range(40_000))

    started = time.monotonic()
    response = _card_import(owner_client, dataset, f"---\n{front_matter}---\n## Dataset Summary\n\nx\n")

    assert time.monotonic() - started < 1
    assert response.status_code == 400, response.json()
    assert "longer than 128 KiB" in response.json()["errors"]["content"][0]


def test_it_still_imports_front_matter_without_aliases(owner_client, dataset):
    readme = "---\nlicense: mit\ntask_categories:\n- text-classification\n---\n\n## Dataset Summary\n\nReviews.\n"

    response = _card_import(owner_client, dataset, readme)

    assert response.status_code == 200, response.json()
    assert DataCard.objects.get(dataset=dataset).summary == "Reviews."


@pytest.mark.parametrize("levels", [101, 1_000, 100_000])
def test_it_refuses_json_nested_too_deeply_on_every_endpoint(owner_client, anonymous_client, dataset, levels):
    body = '{"namespace": ' * 1 + deep(levels) + "}"
    for client, path in [
        (owner_client, "/api/v1/datasets/"),
        (owner_client, f"/api/v1/datasets/{dataset.pk}/card/import"),
        (owner_client, "/api/v1/lineage"),
        (anonymous_client, "/api/v1/auth/token/"),
    ]:
        response = client.generic("POST", path, body, content_type="application/json")
        assert response.status_code == 400, (path, response.content[:300])
        assert "more than 100 levels deep" in response.json()["detail"], path


@pytest.mark.parametrize(
    ("text", "fine"),
    [
        ("[" * 100 + "]" * 100, True),
        ("[" * 101 + "]" * 101, False),
        ('{"a": "' + "[{" * 300 + '"}', True),  # brackets inside a string nest nothing
        ('{"a": "\\ud83d\\ude00"}', True),  # a pair of surrogate escapes is one character
        ('{"a": "\\\\u0000"}', True),  # a backslash, then the letters u0000
        ('{"a": "\\u0000"}', False),
        ('{"a": "\\udc00"}', False),
        ('{"\\uD800": 1}', False),
        ('{"a": [1e308, 1.7976931348623157e308, -1e308, 1e-400, 123e100]}', True),  # doubles, if barely
        ('{"a": "1e400"}', True),  # a text that reads like a number
        ('{"a": {"b": [1e400]}}', False),
        ('{"a": -1E+309}', False),
        ('{"a": ' + "9" * 400 + "}", True),  # an integer: Python keeps every digit
        ('{"a": ' + "9" * 400 + ".5}", False),
    ],
)
def test_the_first_look_at_the_text_and_the_walk_agree(text, fine):
    data = json.loads(text)
    try:
        check_document(data)
        walked = True
    except (exceptions.ParseError, exceptions.ValidationError):
        walked = False
    try:
        BoundedJSONParser().parse(io.BytesIO(text.encode()))
        looked = True
    except (exceptions.ParseError, exceptions.ValidationError):
        looked = False

    assert walked == looked == fine


# Text full of what the first look reads: quotes, backslashes, brackets, and escapes of NUL and surrogates.
_tricky_text = st.text(
    alphabet=st.one_of(st.sampled_from('"\\[]{}u0\x00\ud800\udfff\ud83d\ude00'), st.characters(codec="utf-8")),
    max_size=12,
)
_documents = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | _tricky_text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_tricky_text, children, max_size=4),
    max_leaves=40,
)


def _depth(value) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


def _unstorable_inside(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value or any(0xD800 <= ord(char) <= 0xDFFF for char in value)
    if isinstance(value, dict):
        return any(_unstorable_inside(key) or _unstorable_inside(item) for key, item in value.items())
    if isinstance(value, list):
        return any(map(_unstorable_inside, value))
    return False


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=_documents, limit=st.integers(0, 6), ascii_only=st.booleans())
def test_the_first_look_reads_the_depth_and_the_escapes_as_a_walk_would(document, limit, ascii_only):
    # Lone surrogates can be sent only escaped: UTF-8 cannot carry them.
    text = json.dumps(document, ensure_ascii=ascii_only or _unstorable_inside(document)).encode()
    assert json.loads(text) == document

    fine = _text_fine(text, limit)

    nothing_to_refuse = _depth(document) <= limit and not _unstorable_inside(document)
    # Never fine where the walk would refuse.
    assert not fine or nothing_to_refuse
    # Without an escape that might be NUL or a surrogate (a pair of them is left to the walk), the depth
    # alone decides, exactly.
    if not re.search(rb"\\u(?:0000|[dD][89a-fA-F])", text):
        assert fine == nothing_to_refuse


def test_an_array_is_read_item_by_item_as_a_list_would_be():
    items = [{"a": [1, 2.5, "x]"]}, [], "text", None, {"b": {"c": "\u00e9"}}]
    read = BoundedJSONParser().array_parse(json.dumps(items).encode(), "utf-8", prepare=lambda item: [item])

    assert isinstance(read, Documents)
    assert len(read) == 5
    assert read[0] == [items[0]]
    assert read[-1] == [items[-1]]
    assert read[1:4] == [[item] for item in items[1:4]]
    assert list(read) == [[item] for item in items]
    with pytest.raises(IndexError):
        read[5]


@pytest.mark.parametrize(
    "body",
    ['{"a": 1}', "[1, NaN]", "[" * 101 + "]" * 101, '[{"a": "\\u0000"}]', '["\\ud83d\\ude00"]'],
    ids=["object", "nan", "deep", "nul", "surrogate-pair"],
)
def test_an_array_the_first_look_cannot_settle_is_read_whole(body):
    parser = BoundedJSONParser()
    try:
        read = parser.array_parse(body.encode(), "utf-8")
    except (exceptions.ParseError, exceptions.ValidationError) as exc:
        with pytest.raises(type(exc)):
            parser.parse(io.BytesIO(body.encode()))
    else:
        assert not isinstance(read, Documents)
        assert read == parser.parse(io.BytesIO(body.encode()))


def test_it_refuses_a_gzipped_event_nested_too_deeply(owner_client):
    body = gzip.compress(('{"run": ' + deep(5_000) + "}").encode())

    response = owner_client.generic(
        "POST", "/api/v1/lineage", body, content_type="application/json", HTTP_CONTENT_ENCODING="gzip"
    )

    assert response.status_code == 400
    assert "levels deep" in response.json()["detail"]


def test_it_accepts_json_as_deep_as_the_limit(owner_client, dataset):
    content = {"@context": {}, "description": "x"}
    node: dict = content
    for _ in range(97):
        node["extra"] = {}
        node = node["extra"]

    response = owner_client.post(
        f"/api/v1/datasets/{dataset.pk}/card/import", {"format": "croissant", "content": content}
    )

    assert response.status_code != 400 or "levels deep" not in response.json()["detail"], response.json()


EVENT = {
    "eventType": "COMPLETE",
    "eventTime": "2026-11-01T12:00:00Z",
    "producer": "https://example.com/trainer",
    "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    "run": {"runId": "0195c2a8-6a2b-7d7e-9d62-5a0f8c9d2b11"},
    "job": {"namespace": "ml", "name": "features.build"},
    "inputs": [{"namespace": "s3://raw", "name": "clicks.parquet"}],
    "outputs": [{"namespace": "ml", "name": "clicks_features"}],
}


def _with(path: tuple, value) -> str:
    event = json.loads(json.dumps(EVENT))
    node = event
    for key in path[:-1]:
        node = node.setdefault(key, {}) if isinstance(node, dict) else node[key]
    node[path[-1]] = value
    return json.dumps(event)


@pytest.mark.parametrize("bad", ["\x00", "\ud800", "a\udfffb"])
@pytest.mark.parametrize(
    "where",
    [("job", "name"), ("inputs", 0, "namespace"), ("outputs", 0, "name"), ("run", "facets", "custom")],
)
def test_it_refuses_unstorable_text_in_an_event(owner_client, bad, where):
    value = {"_producer": "https://example.com", "_schemaURL": "https://example.com/x", "v": bad}
    body = _with(where, value if where[-1] == "custom" else f"clicks{bad}")

    response = owner_client.generic("POST", "/api/v1/lineage", body, content_type="application/json")

    assert response.status_code == 400, response.content[:500]
    path = ".".join(map(str, where)) + (".v" if where[-1] == "custom" else "")
    [message] = response.json()["errors"][path]
    assert "NUL" in message or "lone surrogate" in message


@pytest.mark.parametrize("bad", ["\x00", "\ud83d"])
def test_it_refuses_unstorable_text_in_a_facet_key(owner_client, bad):
    body = _with(("run", "facets"), {f"x{bad}": {"_producer": "https://e.com", "_schemaURL": "https://e.com/x"}})

    response = owner_client.generic("POST", "/api/v1/lineage", body, content_type="application/json")

    assert response.status_code == 400, response.content[:500]
    [(path, [message])] = response.json()["errors"].items()
    assert path == "run.facets." + ascii(f"x{bad}")[1:-1]
    assert message.startswith("This key has a")


@pytest.mark.parametrize("bad", ["\x00", "\udc00"])
def test_it_refuses_unstorable_text_in_a_card_import(owner_client, dataset, bad):
    response = _card_import(owner_client, dataset, f"## Dataset Summary\n\nReviews{bad}\n")

    assert response.status_code == 400
    assert response.json()["errors"]["content"][0].startswith("This text has a")


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/lineage?nodeId=dataset:%00:%00",
        "/api/v1/column-lineage?nodeId=datasetField:a:%00:c",
        "/api/v1/licenses/%00/",
        "/api/v1/datasets/?search=%00",
        "/api/v1/datasets/?namespace=a%00b",
        "/api/v1/datasets/?x%00=1",
    ],
)
def test_it_refuses_nul_in_a_query_or_a_path(owner_client, path):
    response = owner_client.get(path)

    assert response.status_code == 400, response.content[:500]
    assert response["Content-Type"] == "application/problem+json"
    assert "NUL" in response.json()["detail"]


def test_it_refuses_nul_in_an_admin_path(client):
    response = client.get("/admin/catalog/dataset/?q=%00")

    assert response.status_code == 400


def test_it_still_accepts_text_that_is_merely_unusual(owner_client, storage_root):
    (storage_root / "emoji.csv").write_text("a,b\n1,2\n")

    response = owner_client.post(
        "/api/v1/datasets/",
        {"namespace": "team", "name": "clicks-\U0001f600-\u00e9t\u00e9", "source": {"uri": "emoji.csv"}},
    )

    assert response.status_code == 201, response.json()


@pytest.mark.parametrize("moment", ["2026-01-01T25:00:00Z", "2026-02-30", "2026-13-01T00:00:00Z", "9999-99-99"])
def test_it_refuses_an_as_of_that_is_not_a_moment(owner_client, dataset, moment):
    response = owner_client.get(f"/api/v1/datasets/{dataset.pk}/versions/", {"as_of": moment})

    assert response.status_code == 400, response.content[:500]
    assert "as_of" in response.json()["errors"]


def test_it_answers_options_on_the_card_import(owner_client, dataset):
    response = owner_client.options(f"/api/v1/datasets/{dataset.pk}/card/import")

    assert response.status_code == 200, response.content[:500]
    assert "POST" in response["Allow"]


def test_it_does_not_tell_the_internal_address_a_refused_host_resolves_to(owner_client, monkeypatch):
    def resolve(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.20.30.40", port))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)

    response = owner_client.post(
        "/api/v1/datasets/",
        {"namespace": "team", "name": "x", "source": {"uri": "https://internal.example.org/data.csv"}},
    )

    assert response.status_code == 400
    assert "private, loopback or reserved" in response.json()["errors"]["source.uri"][0]
    assert "10.20.30.40" not in response.content.decode()


@pytest.mark.parametrize(
    "node_id",
    ["datasetField:" + ":" * 1_000, "datasetField:" + "a:" * 20_000, "datasetField:" + "x" * 5_000 + ":a:b"],
)
def test_it_refuses_a_field_node_id_with_too_many_colons_quickly(owner_client, node_id):
    started = time.monotonic()
    response = owner_client.get("/api/v1/column-lineage", {"nodeId": node_id})

    assert time.monotonic() - started < 1
    assert response.status_code == 400, response.content[:300]
    assert "no dataset has such a name" in response.json()["errors"]["nodeId"][0]


def test_it_refuses_a_dataset_node_id_with_too_many_colons(owner_client):
    response = owner_client.get("/api/v1/lineage", {"nodeId": "dataset:" + ":" * 17})

    assert response.status_code == 400
    assert "more than 16 colons" in response.json()["errors"]["nodeId"][0]


def test_it_still_finds_a_dataset_whose_namespace_holds_colons(owner_client, owner):
    dataset = DatasetFactory(namespace="postgres://db.example.org:5432", name="public.clicks:v2")
    OwnershipFactory(dataset=dataset, user=owner)

    response = owner_client.get(
        "/api/v1/lineage", {"nodeId": "dataset:postgres://db.example.org:5432:public.clicks:v2"}
    )

    assert response.status_code == 200, response.content[:300]


def test_it_answers_a_location_without_the_query_string_of_the_request(owner_client, storage_root):
    (storage_root / "plain.csv").write_text("a,b\n1,2\n")

    response = owner_client.post(
        "/api/v1/datasets/?format=json", {"namespace": "team", "name": "plain", "source": {"uri": "plain.csv"}}
    )

    assert response.status_code == 201, response.json()
    assert response["Location"] == f"http://testserver/api/v1/datasets/{response.json()['id']}/"


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("name", "zebra-patients-secr\u0435t", "mixes Cyrillic and Latin letters in the word 'secr\u0435t'"),
        ("name", "\u03b1lpha-clicks", "mixes Greek and Latin"),
        ("name", "patients\u200bsecret", "U+200B ZERO WIDTH SPACE"),
        ("name", "patients\u202etxt.exe", "U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("name", "patients\ufe0f", "U+FE0F VARIATION SELECTOR-16"),
        ("name", "patients\u00a0secret", "U+00A0 NO-BREAK SPACE"),
        ("namespace", "\uff54eam", "a look-alike of 't'"),
        ("namespace", "te\u200dam", "U+200D ZERO WIDTH JOINER"),
    ],
)
def test_it_refuses_a_name_that_passes_for_another(owner_client, storage_root, field, value, said):
    body = {"namespace": "team", "name": "patients", field: value}

    response = owner_client.post("/api/v1/datasets/", body)

    assert response.status_code == 400, response.json()
    assert said in response.json()["errors"][field][0]


def test_it_registers_the_nfc_and_nfd_spellings_of_a_name_as_one_name(owner_client):
    first = owner_client.post("/api/v1/datasets/", {"namespace": "caf\u00e9", "name": "r\u00e9sum\u00e9s"})
    twin = owner_client.post("/api/v1/datasets/", {"namespace": "cafe\u0301", "name": "re\u0301sume\u0301s"})

    assert first.status_code == 201, first.json()
    assert first.json()["namespace"] == "caf\u00e9"
    assert twin.status_code == 409, twin.json()


@pytest.mark.parametrize(
    "name", ["\u0434\u0430\u043d\u043d\u044b\u0435", "data-\u96c6", "\u03bc-model", "caf\u00e9 menus"]
)
def test_it_registers_names_in_one_script_or_beside_another(owner_client, name):
    response = owner_client.post("/api/v1/datasets/", {"namespace": "team", "name": name})

    assert response.status_code == 201, response.json()


@pytest.mark.parametrize(
    ("where", "said"),
    [
        (("outputs", 0, "name"), "outputs/0/name"),
        (("inputs", 0, "namespace"), "inputs/0/namespace"),
        (("job", "name"), "job/name"),
    ],
)
def test_it_refuses_an_event_naming_a_dataset_or_job_that_passes_for_another(owner_client, where, said):
    body = _with(where, "zebra-patients-secr\u0435t")

    response = owner_client.generic("POST", "/api/v1/lineage", body, content_type="application/json")

    assert response.status_code == 400, response.content[:500]
    assert "mixes Cyrillic and Latin" in response.json()["errors"][said][0]
    assert not Dataset.objects.filter(name__startswith="zebra").exists()


def test_it_refuses_an_invisible_character_in_a_symlink_of_an_event(owner_client):
    symlinks = {
        "_producer": "https://example.com",
        "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/SymlinksDatasetFacet.json",
        "identifiers": [{"namespace": "warehouse", "name": "clicks\u200b", "type": "TABLE"}],
    }
    body = _with(("outputs", 0, "facets", "symlinks"), symlinks)

    response = owner_client.generic("POST", "/api/v1/lineage", body, content_type="application/json")

    assert response.status_code == 400, response.content[:500]
    assert "ZERO WIDTH SPACE" in response.json()["errors"]["outputs/0/facets/symlinks/identifiers/0/name"][0]


def test_it_takes_the_nfc_and_nfd_spellings_in_events_as_one_dataset(owner_client):
    composed = owner_client.generic(
        "POST", "/api/v1/lineage", _with(("outputs", 0, "name"), "r\u00e9sum\u00e9s"), content_type="application/json"
    )
    event = json.loads(_with(("outputs", 0, "name"), "re\u0301sume\u0301s"))
    event["eventType"] = "RUNNING"
    decomposed = owner_client.generic("POST", "/api/v1/lineage", json.dumps(event), content_type="application/json")

    assert composed.status_code == 201, composed.content[:500]
    assert decomposed.status_code == 201, decomposed.content[:500]
    assert list(Dataset.objects.filter(namespace="ml").values_list("name", flat=True)) == ["r\u00e9sum\u00e9s"]


def test_it_shows_names_in_an_audit_report_as_written_never_as_links(owner_client, owner):
    injected = '[Approved by legal](https://evil.example/x) <a href="https://evil.example">ok</a> **PASS**'
    source = DatasetFactory(namespace="audit", name=f"src {injected}", license="CC-BY-NC-4.0")
    training = DatasetFactory(namespace="audit", name="training", license="CC-BY-4.0")
    for dataset in (source, training):
        OwnershipFactory(dataset=dataset, user=owner)
        VersionFactory(dataset=dataset, number=1)
    LineageEdge.objects.create(source=source, target=training, origin="manual")
    purpose = {"commercial": True, "distribute_model": False, "distribute_data": False}
    created = owner_client.post("/api/v1/audits/", {"datasets": [str(training.pk)], "purpose": purpose})
    assert created.status_code == 201, created.json()

    text = owner_client.get(f"/api/v1/audits/{created.json()['id']}/markdown").content.decode()
    html = str(markdown_html(text))

    assert r"\[Approved by legal\]\(https://evil.example/x\)" in text
    assert "&lt;a href=" in text
    assert "evil.example" not in "".join(re.findall(r"<a [^>]*>", html))
    assert "<strong>PASS</strong>" not in html
    assert "[Approved by legal](https://evil.example/x)" in html  # shown as written


def test_it_answers_400_when_the_database_refuses_a_value(owner_client, dataset, monkeypatch):
    def refuse(*args, **kwargs):
        raise db.DataError('value too long for type character varying(255) in column "secret_column"')

    monkeypatch.setattr(services, "dataset_update", refuse)

    response = owner_client.patch(f"/api/v1/datasets/{dataset.pk}/", {"description": "x"})

    assert response.status_code == 400, response.content[:300]
    assert "cannot be stored" in response.json()["errors"]["non_field_errors"][0]
    assert "secret_column" not in response.content.decode()


def test_it_refuses_a_number_too_large_for_a_double_by_its_path(owner_client):
    body = '{"eventType": "COMPLETE", "run": {"facets": {"stats": {"rows": [1, 2E+400]}}}}'

    for path in ("/api/v1/lineage", "/api/v1/datasets/"):
        response = owner_client.generic("POST", path, body, content_type="application/json")

        assert response.status_code == 400, (path, response.content[:300])
        assert response.json()["errors"] == {
            "run.facets.stats.rows.1": ["This number is too large: it must fit a double (at most about 1.8e308)."]
        }, path
