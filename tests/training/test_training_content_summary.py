"""A model's public summary of training content (EU AI Act, Article 53(1)(d)): filled from the catalog for
its latest completed run, with the narratives its owners write."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog import services as catalog_services
from catalog.models import Dataset, Feature
from governance.choices import ObjectType, Origin, OwnershipRole, Sensitivity
from governance.models import Change
from lineage.services import edge_declare
from tests.factories import DatasetFactory, OwnershipFactory, UserFactory, VersionFactory
from tests.profiling.media_folders import image_folder
from tests.training.recorded import record, write_rows
from training.content_summary import MAX_NARRATIVE_CHARS, band
from training.models import TrainingContentNarrative
from training.services import model_create, training_run_record
from training.specs import InputRef, ModelRef, RunSpec

pytestmark = pytest.mark.django_db

ENGLISH = "The quick brown fox jumps over the lazy dog near the river bank this morning, number {}."
FRENCH = "Le renard brun rapide saute par-dessus le chien paresseux au bord de la rivière ce matin, numéro {}."


def summary_path(model_id) -> str:
    return f"/api/v1/models/{model_id}/training-content-summary"


def _registered(capture, owner, dataset, path, **options):
    with capture(execute=True):
        version = catalog_services.version_create(actor=owner, dataset=dataset, uri=path.as_uri(), **options)
    version.refresh_from_db()
    assert version.status == "ready", version.error
    return version


def _dataset(owner, namespace, name, **fields):
    made = DatasetFactory(namespace=namespace, name=name, **fields)
    OwnershipFactory(dataset=made, user=owner, role=OwnershipRole.OWNER)
    return made


@pytest.fixture
def trained(owner, storage_root, django_capture_on_commit_callbacks):
    """A model trained on a public CC-BY-4.0 corpus of documents in English and French, a purchased table, and
    synthetic images derived by lineage from a dataset crawled from https://news.example.org."""
    capture = django_capture_on_commit_callbacks
    corpus = storage_root / "corpus" / "docs.jsonl"
    corpus.parent.mkdir()
    corpus.write_text(
        "".join(json.dumps({"text": line.format(index)}) + "\n" for index in range(20) for line in (ENGLISH, FRENCH))
    )
    public = _dataset(owner, "pub", "wiki-corpus", license="CC-BY-4.0", origin=Origin.PUBLIC_DATASET)
    public_v1 = _registered(capture, owner, public, corpus.parent, format="text")

    purchased = _dataset(owner, "vendor", "prices", license="LicenseRef-vendor-eula", origin=Origin.PURCHASED)
    purchased_v1 = _registered(capture, owner, purchased, write_rows(storage_root / "prices" / "data.csv"))

    crawled = _dataset(owner, "crawl", "news", origin=Origin.WEB_CRAWLED)
    crawled_v1 = VersionFactory(
        dataset=crawled, number=1, uri="https://news.example.org/dumps/2026-11.jsonl", format="jsonl", size_bytes=5_000
    )
    Feature.objects.create(
        version=crawled_v1,
        name="text",
        position=0,
        dtype="string",
        logical_type="text",
        statistics={"count": 100, "string_length": {"mean": 400.0}},
    )
    synthetic = _dataset(owner, "lab", "rendered-shapes", license="CC0-1.0", origin=Origin.SYNTHETIC)
    synthetic_v1 = _registered(capture, owner, synthetic, image_folder(storage_root / "shapes"))
    edge_declare(actor=owner, source=crawled, target=synthetic)

    run = record(owner, "assistant", public_v1, purchased_v1, synthetic_v1)
    return {
        "run": run,
        "model": run.model,
        "public": public_v1,
        "purchased": purchased_v1,
        "synthetic": synthetic_v1,
        "crawled": crawled_v1,
    }


def _summary(client, model, **query):
    response = client.get(summary_path(model.pk), query)
    assert response.status_code == 200, response.content
    return response.json()


def _names(section) -> list[str]:
    return [entry["dataset"] for entry in section["datasets"]["value"]]


TO_COMPLETE = {"value": None, "to_complete": True}


def test_it_places_each_source_under_its_section(owner_client, trained):
    sections = _summary(owner_client, trained["model"])["sections"]

    assert _names(sections["2.1"]) == ["pub/wiki-corpus"]
    assert sections["2.1"]["used"]["value"] == "Yes"
    assert sections["2.1"]["modalities"]["value"] == ["Text"]
    [large] = sections["2.1"]["large_datasets"]["value"]
    assert (large["dataset"], large["license"]) == ("pub/wiki-corpus", "CC-BY-4.0")
    assert _names(sections["2.2.1"]) == ["vendor/prices"]
    assert sections["2.2.1"]["used"]["value"] == "Yes"
    assert sections["2.2.1"]["modalities"]["value"] == ["Other"]
    assert _names(sections["2.5"]) == ["lab/rendered-shapes"]
    assert sections["2.5"]["modalities"]["value"] == ["Image"]
    # Every origin is known and none is partner, user or other data: the catalog can say no.
    assert sections["2.2.2"]["used"]["value"] == "No"
    assert sections["2.2.2"]["publicly_known_datasets"]["value"] == "Not applicable."
    assert sections["2.4"]["model_interactions"]["value"] == "No"
    assert sections["2.6"]["used"]["value"] == "No"


def test_the_crawled_upstream_is_listed_under_crawled_data_with_its_domain(owner_client, trained):
    crawled = _summary(owner_client, trained["model"])["sections"]["2.3"]

    [entry] = crawled["datasets"]["value"]
    assert entry["dataset"] == "crawl/news"
    assert entry["reached"] == "upstream"
    assert entry["upstream_of"] == "lab/rendered-shapes"
    assert crawled["used"]["value"] == "Yes"
    assert crawled["modalities"]["value"] == ["Text"]
    assert crawled["domains"]["value"] == [{"domain": "news.example.org", "bytes": 5000, "datasets": ["crawl/news"]}]
    month = trained["crawled"].created_at.strftime("%m/%Y")
    assert crawled["collection_period"]["value"] == {"from": month, "to": month}
    # What a crawler is and how it behaves is the provider's to say.
    for item in ("crawlers", "purposes", "behaviour", "content_description"):
        assert crawled[item] == TO_COMPLETE


def test_modalities_sizes_languages_and_date_come_from_the_profiles(owner_client, trained):
    general = _summary(owner_client, trained["model"])["sections"]["1.3"]

    assert general["modalities"]["value"] == ["Text", "Image", "Other"]
    sizes = {entry["modality"]: entry for entry in general["training_data_size"]["value"]}
    # 20 English documents of 16 words and 20 French ones of 20; the folder's images; the table's 30 rows.
    assert sizes["Text"]["estimate"] == 20 * 16 + 20 * 20
    assert sizes["Text"]["band"] == "Less than 1 billion tokens"
    assert sizes["Text"]["datasets"] == ["pub/wiki-corpus"]
    assert sizes["Image"]["estimate"] == trained["synthetic"].row_count > 0
    assert sizes["Image"]["band"] == "Less than 1 million images"
    assert (sizes["Other"]["estimate"], sizes["Other"]["unit"], sizes["Other"]["band"]) == (30, "rows of tables", None)
    languages = general["languages"]["value"]["languages"]
    assert {entry["language"]: entry["documents"] for entry in languages} == {"en": 20, "fr": 20}
    latest = max(trained[name].created_at for name in ("public", "purchased", "synthetic", "crawled"))
    assert general["latest_collection_date"]["value"]["date"] == latest.date().isoformat()


def test_what_the_catalog_cannot_know_is_to_complete(owner_client, trained):
    summary = _summary(owner_client, trained["model"])
    sections = summary["sections"]

    assert set(sections) == {
        "header", "1.1", "1.2", "1.3", "2.1", "2.2.1", "2.2.2", "2.3", "2.4", "2.5", "2.6", "3.1", "3.2", "3.3",
    }  # fmt: skip
    for section, item in (
        ("1.1", "provider"),
        ("1.2", "placement_date"),
        ("1.3", "content_types"),
        ("1.3", "continued_training"),
        ("2.5", "market_models"),
        ("3.1", "code_of_practice_signatory"),
        ("3.1", "measures"),
        ("3.2", "measures"),
    ):
        assert sections[section][item] == TO_COMPLETE, (section, item)
    assert sections["1.2"]["model_names"]["value"] == ["ml/assistant 1.0.0"]
    assert summary["labels"]["3.2"]["items"]["measures"]["id"] == "3.2-a"


def test_the_sizes_fall_in_the_template_s_bands():
    assert band("Text", 999_999_999) == "Less than 1 billion tokens"
    assert band("Text", 5e9) == "1 billion to 10 trillion tokens"
    assert band("Text", 2e13) == "More than 10 trillion tokens"
    assert band("Image", 2_000_000) == "1 million to 1 billion images"
    assert band("Other", 10) is None


def test_the_markdown_document_follows_the_template(owner_client, trained):
    response = owner_client.get(summary_path(trained["model"].pk), {"format": "markdown"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/markdown")
    text = response.content.decode()
    assert text.index("### 1.3 Modalities") < text.index("### 2.1 Publicly") < text.index("### 3.2 Removal")
    assert "- crawl/news v1 (Text; upstream of lab/rendered-shapes)" in text
    assert "- news.example.org (5,000 bytes; crawl/news)" in text
    assert "- Text: Less than 1 billion tokens (estimated 720 tokens; from pub/wiki-corpus)." in text
    assert "- Other (tabular records): approximately 30 rows of tables (from vendor/prices)." in text
    assert "_To complete._" in text


def test_an_owner_s_narrative_is_stored_logged_and_fills_the_item(owner_client, owner, trained):
    model = trained["model"]
    text = "We honour robots.txt and the TDM reservation protocol."

    response = owner_client.patch(
        summary_path(model.pk), {"sections": {"3.1": {"measures": text}, "2.5": {"market_models": "None."}}}
    )

    assert response.status_code == 200, response.content
    assert response.json()["sections"]["3.1"]["measures"] == {
        "value": text,
        "to_complete": False,
        "source": "narrative",
    }
    assert TrainingContentNarrative.objects.get(model=model, section="3.1", item="measures").text == text
    change = Change.objects.get(object_type=ObjectType.MODEL, object_id=str(model.pk), action="update")
    assert change.actor == owner
    assert change.after == {"training_content_summary": {"3.1": {"measures": text}, "2.5": {"market_models": "None."}}}
    assert _summary(owner_client, model)["sections"]["2.5"]["market_models"]["value"] == "None."
    markdown = owner_client.get(summary_path(model.pk), {"format": "markdown"}).content.decode()
    assert text in markdown

    # Null removes it; the item is to complete again.
    assert owner_client.patch(summary_path(model.pk), {"sections": {"3.1": {"measures": None}}}).status_code == 200
    assert _summary(owner_client, model)["sections"]["3.1"]["measures"] == TO_COMPLETE


def test_a_narrative_beside_a_catalog_value_leaves_the_value(owner_client, trained):
    model = trained["model"]

    owner_client.patch(summary_path(model.pk), {"sections": {"2.1": {"used": "Yes, see our data card."}}})

    item = _summary(owner_client, model)["sections"]["2.1"]["used"]
    assert (item["value"], item["narrative"]) == ("Yes", "Yes, see our data card.")


def test_a_stranger_may_read_but_not_write_the_narrative(stranger_client, owner_client, trained):
    model = trained["model"]
    changes = Change.objects.count()

    response = stranger_client.patch(summary_path(model.pk), {"sections": {"3.2": {"measures": "Mine now."}}})

    assert response.status_code == 403
    assert not TrainingContentNarrative.objects.exists()
    assert Change.objects.count() == changes
    assert _summary(stranger_client, model)["sections"]["3.2"]["measures"] == TO_COMPLETE


def test_a_steward_of_the_model_may_write_it(client_for, owner, trained):
    from governance.services import model_ownership_add

    steward = UserFactory(username="model-steward")
    model_ownership_add(model_id=trained["model"].pk, user=steward, role=OwnershipRole.STEWARD, actor=owner)

    response = client_for(steward).patch(summary_path(trained["model"].pk), {"sections": {"3.2": {"measures": "x"}}})

    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"sections": {"9.9": {"x": "y"}, "2.1": {}}}, "sections", "'9.9'"),
        ({"sections": {"2.1": {"large_datasets_": "y"}}}, "sections.2.1", "'large_datasets_'"),
        ({"sections": {"2.1": {"datasets": "y"}}}, "sections.2.1", "'datasets'"),
        ({"sections": {"3.1": {"measures": "x" * (MAX_NARRATIVE_CHARS + 1)}}}, "sections.3.1.measures", "20000"),
        ({"sections": {"3.1": {"measures": {"a": 1}}}}, "sections.3.1.measures", "valid string"),
        ({"sections": {"3.1": "text"}}, "sections.3.1", "dictionary"),
        ({"sections": []}, "sections", "dictionary"),
        ({"section": {}}, "section", "sections"),
    ],
)
def test_it_refuses_hostile_narratives_and_writes_nothing(owner_client, trained, body, field, words):
    response = owner_client.patch(summary_path(trained["model"].pk), body, format="json")

    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert field in errors, errors
    assert words in " ".join(errors[field])
    assert not TrainingContentNarrative.objects.exists()


def test_it_refuses_a_nul_a_deep_body_and_a_huge_one(owner_client, trained):
    path = summary_path(trained["model"].pk)
    nul = owner_client.generic(
        "PATCH", path, json.dumps({"sections": {"3.1": {"measures": "a\u0000b"}}}), content_type="application/json"
    )
    deep = owner_client.generic("PATCH", path, '{"sections": ' + "[" * 5000 + "]" * 5000 + "}", "application/json")

    huge = owner_client.generic(
        "PATCH", path, json.dumps({"sections": {"3.1": {"measures": "x" * 6_000_000}}}), "application/json"
    )

    assert nul.status_code == 400
    assert deep.status_code == 400
    assert huge.status_code == 413
    assert not TrainingContentNarrative.objects.exists()


def test_the_service_refuses_a_nul_too(owner, trained):
    from config import errors
    from training.services import training_content_narrative_update

    with pytest.raises(errors.Invalid) as refused:
        training_content_narrative_update(actor=owner, model=trained["model"], sections={"3.2": {"measures": "a\x00"}})
    assert refused.value.field == "sections.3.2.measures"


def test_a_model_with_no_completed_run_is_a_conflict(owner, owner_client):
    model = model_create(actor=owner, namespace="ml", name="untrained")

    response = owner_client.get(summary_path(model.pk))

    assert response.status_code == 409
    assert response.json()["type"].endswith("no_completed_run")
    assert "no completed, confirmed training run" in response.json()["detail"]
    assert owner_client.get(summary_path("00000000-0000-4000-8000-000000000000")).status_code == 404


def test_a_running_run_is_not_summarised(owner, owner_client, trained):
    training_run_record(
        actor=owner,
        spec=RunSpec(model=ModelRef(id=trained["model"].pk), model_version="2.0.0", status="running", inputs=()),
    )

    assert _summary(owner_client, trained["model"])["run"]["id"] == str(trained["run"].pk)


def test_an_upstream_dataset_the_reader_may_not_read_is_a_counted_placeholder(
    owner, owner_client, stranger_client, trained
):
    Dataset.objects.filter(pk=trained["crawled"].dataset_id).update(sensitivity=Sensitivity.RESTRICTED)

    crawled = _summary(stranger_client, trained["model"])["sections"]["2.3"]

    [entry] = crawled["datasets"]["value"]
    assert entry["dataset"] == "a restricted dataset you may not read"
    assert (entry["id"], entry["version"], entry["license"], entry["size"]) == (None, None, None, None)
    assert entry["restricted"] is True
    assert crawled["used"]["value"] == "Yes"
    # Its source is not shown either: the domain is not known to this reader.
    assert crawled["domains"] == TO_COMPLETE
    stranger_text = stranger_client.get(summary_path(trained["model"].pk), {"format": "markdown"}).content.decode()
    assert "crawl/news" not in stranger_text
    assert "news.example.org" not in stranger_text
    assert _names(_summary(owner_client, trained["model"])["sections"]["2.3"]) == ["crawl/news"]


def test_a_dataset_of_unknown_origin_keeps_the_no_answers_open(owner, owner_client, trained):
    Dataset.objects.filter(pk=trained["purchased"].dataset_id).update(origin="")

    summary = _summary(owner_client, trained["model"])

    assert [entry["dataset"] for entry in summary["unclassified"]] == ["vendor/prices"]
    assert summary["sections"]["2.2.1"]["used"] == TO_COMPLETE
    assert summary["sections"]["2.4"]["model_interactions"] == TO_COMPLETE


def _model_with_inputs(owner, count: int, name: str):
    versions = []
    for index in range(count):
        source = DatasetFactory(namespace="q", name=f"{name}-source-{index}", origin=Origin.WEB_CRAWLED)
        VersionFactory(dataset=source, number=1, uri=f"https://site{index}.example.org/x.jsonl", size_bytes=10)
        dataset = _dataset(owner, "q", f"{name}-{index}", origin=Origin.PUBLIC_DATASET, license="MIT")
        version = VersionFactory(dataset=dataset, number=1, format="text", row_count=5)
        Feature.objects.create(
            version=version,
            name="language",
            position=0,
            dtype="string",
            statistics={"count": 5, "top_values": [{"value": "de", "count": 5}], "null_count": 0},
        )
        edge_declare(actor=owner, source=source, target=dataset)
        versions.append(version)
    return training_run_record(
        actor=owner,
        spec=RunSpec(
            model=ModelRef(namespace="q", name=name),
            status="completed",
            inputs=tuple(InputRef(version=version.pk) for version in versions),
        ),
    ).model


def test_the_summary_costs_the_same_queries_for_one_input_and_for_six(client_for, owner):
    reader = client_for(UserFactory(username="reader"))
    one, six = _model_with_inputs(owner, 1, "one"), _model_with_inputs(owner, 6, "six")
    OwnershipFactory(dataset=DatasetFactory(namespace="q", name="unrelated"), user=owner)

    def queries(model):
        with CaptureQueriesContext(connection) as captured:
            summary = _summary(reader, model)
        return len(captured), summary

    counted_one, _ = queries(one)
    counted_six, summary = queries(six)

    assert counted_six == counted_one
    assert len(summary["sections"]["2.1"]["datasets"]["value"]) == 6
    assert len(summary["sections"]["2.3"]["domains"]["value"]) == 6


def test_the_model_s_admin_page_links_to_the_summary(client, trained):
    client.force_login(UserFactory(username="ada-admin", is_staff=True, is_superuser=True))
    model = trained["model"]

    page = client.get(reverse("admin:training_model_change", args=[model.pk])).content.decode()

    assert f'href="{summary_path(model.pk)}?format=markdown"' in page
    document = client.get(f"{summary_path(model.pk)}?format=markdown")
    assert document.status_code == 200
    assert document.content.decode().startswith("# Public summary of training content: ml/assistant 1.0.0")


def test_a_narrative_for_a_model_with_no_completed_run_is_refused_and_not_written(owner, owner_client):
    model = model_create(actor=owner, namespace="ml", name="untrained")

    response = owner_client.patch(summary_path(model.pk), {"sections": {"3.2": {"measures": "x"}}})

    assert response.status_code == 409
    assert not TrainingContentNarrative.objects.exists()
