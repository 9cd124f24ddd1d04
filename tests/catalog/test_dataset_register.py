import os
import time
from uuid import UUID

import pytest

from catalog.models import Dataset, DatasetVersion
from governance.models import Change, Ownership
from tests.fingerprints import independent_fingerprint

URL = "/api/v1/datasets/"


@pytest.mark.django_db
def test_it_registers_a_dataset_and_makes_the_caller_its_owner(owner_client, owner):
    response = owner_client.post(
        URL,
        {
            "namespace": "team-vision",
            "name": "street-signs",
            "description": "Photos of street signs",
            "license": "CC-BY-4.0",
            "tags": ["Vision", "signs"],
            "sensitivity": "internal",
        },
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["namespace"] == "team-vision"
    assert body["name"] == "street-signs"
    assert body["license"] == "CC-BY-4.0"
    assert body["tags"] == ["signs", "vision"]
    assert body["owners"] == [{"type": "user", "name": owner.username, "role": "owner"}]
    assert body["latest_version"] is None
    assert response["Location"].endswith(f"/api/v1/datasets/{body['id']}/")
    assert Ownership.objects.filter(dataset_id=body["id"], user=owner, role="owner").exists()


@pytest.mark.django_db
def test_it_needs_only_namespace_and_name(owner_client):
    response = owner_client.post(URL, {"namespace": "file", "name": "/data/minimal.csv"})

    assert response.status_code == 201
    assert response.json()["sensitivity"] == "internal"
    assert response.json()["license"] == ""


@pytest.mark.django_db
def test_it_creates_version_1_from_a_source_and_profiles_it(owner_client, iris_csv, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = owner_client.post(
            URL,
            {
                "namespace": "team-tabular",
                "name": "flowers",
                "source": {"uri": "flowers/train.csv", "label_column": "species"},
            },
        )

    assert response.status_code == 201, response.json()
    latest = response.json()["latest_version"]
    assert latest["number"] == 1
    assert latest["status"] == "pending"  # the answer does not wait for the worker
    # The profiling task sent on commit; run in-process here, it then tells that the version settled.
    assert len(callbacks) == 2

    version = DatasetVersion.objects.get(pk=latest["id"])
    assert version.status == "ready"
    assert version.format == "csv"
    assert version.label_column == "species"
    assert version.uri == iris_csv.as_uri()
    assert version.size_bytes == iris_csv.stat().st_size
    assert version.file_count == 1
    assert version.fingerprint == independent_fingerprint({"train.csv": iris_csv.read_bytes()})


@pytest.mark.django_db
def test_it_answers_409_with_the_existing_id(owner_client, stranger_client, dataset):
    response = stranger_client.post(URL, {"namespace": dataset.namespace, "name": dataset.name})

    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["existing_id"] == str(dataset.pk)
    assert body["status"] == 409
    assert dataset.name in body["detail"]
    assert Dataset.objects.count() == 1


@pytest.mark.django_db
def test_it_writes_nothing_when_the_source_is_rejected(owner_client, storage_root):
    response = owner_client.post(URL, {"namespace": "team", "name": "broken", "source": {"uri": "missing/file.csv"}})

    assert response.status_code == 400
    assert "source.uri" in response.json()["errors"]
    assert not Dataset.objects.exists()
    assert not Ownership.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "no-namespace"}, "namespace"),
        ({"namespace": "team"}, "name"),
        ({"namespace": "", "name": "x"}, "namespace"),
        ({"namespace": "team", "name": "x" * 513}, "name"),
        ({"namespace": "team\nother", "name": "x"}, "namespace"),
        ({"namespace": "team", "name": "nul\x00byte"}, "name"),
        ({"namespace": "team", "name": "x", "sensitivity": "top-secret"}, "sensitivity"),
        ({"namespace": "team", "name": "x", "tags": "vision"}, "tags"),
        ({"namespace": "team", "name": "x", "tags": ["has space"]}, "tags.0"),
        ({"namespace": "team", "name": "x", "tags": [1, {"a": 1}]}, "tags.1"),
        ({"namespace": "team", "name": "x", "license": "MIT; rm -rf /"}, "license"),
        ({"namespace": "team", "name": "x", "description": 12}, "description"),
        ({"namespace": "team", "name": "x", "source": "data.csv"}, "source.non_field_errors"),
        ({"namespace": "team", "name": "x", "source": {}}, "source.uri"),
        ({"namespace": "team", "name": "x", "source": {"uri": "a.csv", "format": "xlsx"}}, "source.format"),
        ({"namespace": ["team"], "name": "x"}, "namespace"),
    ],
)
def test_it_rejects_a_bad_field_naming_it(owner_client, storage_root, payload, field):
    response = owner_client.post(URL, payload)

    assert response.status_code == 400, response.json()
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert field in body["errors"], body
    assert body["status"] == 400
    assert field in body["detail"]
    assert not Dataset.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("/etc/passwd", "outside the allowed storage roots"),
        ("file:///etc/passwd", "outside the allowed storage roots"),
        ("../outside.csv", "'..'"),
        ("flowers/../../outside.csv", "'..'"),
        ("~/data.csv", "Home-directory"),
        ("missing.csv", "not found under any storage root"),
        ("*.parquet", "matches no files"),
        ("ftp://example.org/data.csv", "not supported"),
        ("http://example.org/data.csv", "https://"),
        ("s3x://bucket/key.csv", "not supported"),
        ("file://otherhost/data.csv", "local path"),
        ("https://127.0.0.1/data.csv", "private, loopback or reserved"),
        ("https://10.1.2.3/data.csv", "private, loopback or reserved"),
        ("https://[::1]/data.csv", "private, loopback or reserved"),
        ("https://user:secret@example.org/data.csv", "credentials"),
        ("https://example.org:99999/data.csv", "port"),
        ("   ", "may not be blank"),
    ],
)
def test_it_rejects_a_source_it_may_not_read(owner_client, storage_root, uri, message):
    response = owner_client.post(URL, {"namespace": "team", "name": "x", "source": {"uri": uri}})

    assert response.status_code == 400, response.json()
    errors = response.json()["errors"]["source.uri"]
    assert any(message in error for error in errors), errors


@pytest.mark.django_db
def test_it_rejects_a_symlink_that_leads_out_of_the_storage_roots(owner_client, storage_root, tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("a,b\n1,2\n")
    os.symlink(secret, storage_root / "innocent.csv")

    response = owner_client.post(URL, {"namespace": "team", "name": "x", "source": {"uri": "innocent.csv"}})

    assert response.status_code == 400
    assert "outside the allowed storage roots" in response.json()["errors"]["source.uri"][0]


@pytest.mark.django_db
def test_it_rejects_a_source_whose_format_cannot_be_told(owner_client, storage_root):
    (storage_root / "blob.bin").write_bytes(b"\x00\x01")

    response = owner_client.post(URL, {"namespace": "team", "name": "x", "source": {"uri": "blob.bin"}})

    assert response.status_code == 400
    assert "source.format" in response.json()["errors"]["source.uri"][0]


@pytest.mark.django_db
def test_it_accepts_an_explicit_format_for_an_unnamed_file(owner_client, storage_root):
    (storage_root / "export").write_text("a,b\n1,2\n")

    response = owner_client.post(URL, {"namespace": "team", "name": "x", "source": {"uri": "export", "format": "csv"}})

    assert response.status_code == 201, response.json()


@pytest.mark.django_db
def test_it_registers_a_directory_and_a_glob(owner_client, storage_root):
    shards = storage_root / "shards"
    shards.mkdir()
    for index in range(3):
        (shards / f"part-{index}.jsonl").write_text(f'{{"x": {index}}}\n')

    directory = owner_client.post(URL, {"namespace": "team", "name": "dir", "source": {"uri": "shards"}})
    pattern = owner_client.post(URL, {"namespace": "team", "name": "glob", "source": {"uri": "shards/*.jsonl"}})

    assert directory.status_code == 201, directory.json()
    assert pattern.status_code == 201, pattern.json()
    assert DatasetVersion.objects.get(dataset__name="dir").format == "jsonl"
    assert DatasetVersion.objects.get(dataset__name="glob").uri == "file://" + str(shards) + "/%2A.jsonl"


@pytest.mark.django_db
def test_it_rejects_anonymous_requests_with_401(anonymous_client):
    response = anonymous_client.post(URL, {"namespace": "team", "name": "x"})

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Token")
    assert response.json()["status"] == 401


@pytest.mark.django_db
def test_it_rejects_a_body_that_is_not_json(owner_client):
    response = owner_client.generic("POST", URL, "{not json", content_type="application/json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert "JSON parse error" in response.json()["detail"]


@pytest.mark.django_db
def test_it_rejects_a_json_array_body(owner_client):
    response = owner_client.post(URL, [1, 2], format="json")

    assert response.status_code == 400


@pytest.mark.django_db
def test_it_rejects_other_media_types_with_415(owner_client):
    response = owner_client.generic("POST", URL, "namespace=a&name=b", content_type="application/x-www-form-urlencoded")

    assert response.status_code == 415
    assert response.json()["status"] == 415


@pytest.mark.django_db
def test_it_rejects_an_oversized_body_with_413(owner_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = owner_client.post(URL, {"namespace": "team", "name": "x", "description": "d" * 5000})

    assert response.status_code == 413
    assert response.json()["status"] == 413


# --- Bytes another dataset registered ----------------------------------------------------------------


def _patients(storage_root):
    path = storage_root / "clinic" / "patients.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("email,diagnosis\na@example.org,flu\nb@example.org,cold\n")
    return path


def _restricted_patients(owner_client, storage_root, sensitivity="restricted"):
    _patients(storage_root)
    response = owner_client.post(
        URL,
        {
            "namespace": "clinic",
            "name": "patients-secret",
            "sensitivity": sensitivity,
            "source": {"uri": "clinic/patients.csv"},
        },
    )
    assert response.status_code == 201, response.json()
    return response.json()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "uri",
    [
        "clinic/patients.csv",
        "{root}/clinic/patients.csv",
        "file://{root}/clinic/patients.csv",
        "clinic",
        "{root}",
        "*/**",
        "c*/*.csv",
        "**/patients.csv",
    ],
)
def test_it_refuses_bytes_of_a_dataset_the_caller_may_not_read(owner_client, stranger_client, storage_root, uri):
    secret = _restricted_patients(owner_client, storage_root)

    response = stranger_client.post(
        URL, {"namespace": "mine", "name": "copy", "source": {"uri": uri.format(root=storage_root), "format": "csv"}}
    )

    assert response.status_code == 403, response.json()
    detail = response.json()["detail"]
    assert "may not read" in detail
    assert "patients-secret" not in detail
    assert secret["id"] not in detail
    assert "patients.csv" not in detail
    assert not Dataset.objects.filter(name="copy").exists()


@pytest.mark.django_db
def test_it_registers_next_to_a_restricted_dataset_what_does_not_take_it_in(
    owner_client, stranger_client, storage_root
):
    _restricted_patients(owner_client, storage_root)
    (storage_root / "clinic" / "public.jsonl").write_text('{"x": 1}\n')
    (storage_root / "clinical-trials").mkdir()
    (storage_root / "clinical-trials" / "t.csv").write_text("a\n1\n")

    pattern = stranger_client.post(URL, {"namespace": "mine", "name": "a", "source": {"uri": "clinic/*.jsonl"}})
    sibling = stranger_client.post(URL, {"namespace": "mine", "name": "b", "source": {"uri": "clinical-trials"}})

    assert pattern.status_code == 201, pattern.json()
    assert sibling.status_code == 201, sibling.json()


@pytest.mark.django_db
def test_it_lets_a_reader_register_the_bytes_again_at_the_strictest_sensitivity(
    owner_client, stranger, client_for, storage_root
):
    secret = _restricted_patients(owner_client, storage_root)
    owner_client.post(f"/api/v1/datasets/{secret['id']}/grants/", {"user": stranger.username})

    response = client_for(stranger).post(
        URL,
        {"namespace": "mine", "name": "copy", "sensitivity": "public", "source": {"uri": "clinic/patients.csv"}},
    )

    assert response.status_code == 201, response.json()
    assert response.json()["sensitivity"] == "restricted"
    entry = Change.objects.get(object_type="dataset", object_id=response.json()["id"], action="create")
    assert entry.after["sensitivity"] == "restricted"
    assert "strictest sensitivity" in entry.after["sensitivity_reason"]
    assert "patients-secret" not in str(entry.after)


@pytest.mark.django_db
def test_it_keeps_a_stricter_sensitivity_asked_for(owner_client, stranger_client, storage_root):
    _restricted_patients(owner_client, storage_root, sensitivity="public")

    response = stranger_client.post(
        URL, {"namespace": "mine", "name": "copy", "sensitivity": "confidential", "source": {"uri": "clinic"}}
    )

    assert response.status_code == 201, response.json()
    assert response.json()["sensitivity"] == "confidential"
    entry = Change.objects.get(object_type="dataset", object_id=response.json()["id"], action="create")
    assert "sensitivity_reason" not in entry.after


@pytest.mark.django_db
def test_it_applies_the_bytes_rule_to_new_versions(owner_client, stranger, client_for, storage_root):
    secret = _restricted_patients(owner_client, storage_root)
    mine = client_for(stranger).post(URL, {"namespace": "mine", "name": "mine"}).json()
    versions = f"/api/v1/datasets/{mine['id']}/versions/"

    refused = client_for(stranger).post(versions, {"uri": "clinic/patients.csv"})
    assert refused.status_code == 403
    assert "patients-secret" not in refused.json()["detail"]
    assert not DatasetVersion.objects.filter(dataset_id=mine["id"]).exists()

    owner_client.post(f"/api/v1/datasets/{secret['id']}/grants/", {"user": stranger.username})
    accepted = client_for(stranger).post(versions, {"uri": "clinic/patients.csv"})

    assert accepted.status_code == 201, accepted.json()
    assert Dataset.objects.get(pk=mine["id"]).sensitivity == "restricted"
    raised = Change.objects.get(object_type="dataset", object_id=mine["id"], action="update")
    assert raised.before == {"sensitivity": "internal"}
    assert raised.after["sensitivity"] == "restricted"


@pytest.mark.django_db
def test_it_keeps_a_paths_identity_with_the_first_registration(owner_client, stranger, client_for, storage_root):
    from catalog.selectors import datasets_at_locations

    first = _restricted_patients(owner_client, storage_root, sensitivity="public")
    second = client_for(stranger).post(URL, {"namespace": "mine", "name": "copy", "source": {"uri": "clinic"}})
    third = client_for(stranger).post(
        URL, {"namespace": "mine", "name": "again", "source": {"uri": "clinic/patients.csv"}}
    )
    assert second.status_code == third.status_code == 201

    uri = (storage_root / "clinic" / "patients.csv").as_uri()

    assert datasets_at_locations([uri])[uri].pk == UUID(first["id"])


# --- Globs are looked at within a bound --------------------------------------------------------------


@pytest.mark.django_db
def test_it_refuses_a_deep_recursive_pattern_at_once(owner_client, storage_root):
    folder = storage_root
    for depth in range(30):
        folder = folder / f"d{depth}"
    folder.mkdir(parents=True)

    started = time.monotonic()
    response = owner_client.post(URL, {"namespace": "team", "name": "deep", "source": {"uri": "**/" * 40 + "*.csv"}})

    assert time.monotonic() - started < 1
    assert response.status_code == 400
    assert "too broad" in response.json()["errors"]["source.uri"][0]


@pytest.mark.django_db
def test_it_refuses_a_pattern_whose_first_match_lies_beyond_the_folder_budget(owner_client, storage_root, settings):
    settings.CATALOG_GLOB_MAX_DIRECTORIES = 20
    folder = storage_root / "wide"
    for depth in range(40):
        folder = folder / f"d{depth:02}"
    folder.mkdir(parents=True)
    (folder / "late.csv").write_text("a\n1\n")
    (storage_root / "near").mkdir()
    (storage_root / "near" / "x.csv").write_text("a\n1\n")

    broad = owner_client.post(URL, {"namespace": "team", "name": "broad", "source": {"uri": "wide/**/*.csv"}})
    near = owner_client.post(URL, {"namespace": "team", "name": "near", "source": {"uri": "near/**/*.csv"}})

    assert broad.status_code == 400
    assert "too broad" in broad.json()["errors"]["source.uri"][0]
    assert near.status_code == 201, near.json()


@pytest.mark.django_db
def test_it_keeps_personal_data_masked_for_a_reader_who_registers_the_bytes_again(
    owner_client, owner, stranger, client_for, storage_root
):
    from catalog.selectors import personal_data_visible_to

    secret = _restricted_patients(owner_client, storage_root)
    owner_client.post(f"/api/v1/datasets/{secret['id']}/grants/", {"user": stranger.username})
    copy = client_for(stranger).post(URL, {"namespace": "mine", "name": "copy", "source": {"uri": "clinic"}}).json()
    unrelated = client_for(stranger).post(URL, {"namespace": "mine", "name": "unrelated"}).json()

    assert not personal_data_visible_to(user=stranger, dataset_id=UUID(copy["id"]))
    assert not personal_data_visible_to(user=stranger, dataset_id=UUID(secret["id"]))
    assert personal_data_visible_to(user=stranger, dataset_id=UUID(unrelated["id"]))
    assert personal_data_visible_to(user=owner, dataset_id=UUID(secret["id"]))


@pytest.mark.django_db
def test_it_refuses_a_pattern_it_cannot_look_through_in_time(owner_client, storage_root, monkeypatch):
    monkeypatch.setattr("catalog.sources._GLOB_SCAN_SECONDS", -1.0)
    (storage_root / "a").mkdir()
    (storage_root / "a" / "x.csv").write_text("a\n1\n")

    response = owner_client.post(URL, {"namespace": "team", "name": "slow", "source": {"uri": "a/*.csv"}})

    assert response.status_code == 400
    assert "too broad" in response.json()["errors"]["source.uri"][0]


@pytest.mark.parametrize(
    "pattern",
    ["*.csv", "*/*.csv", "**/*.csv", "**", "a/**", "a/**/c/*.csv", "**/b/**/*.csv", "[ab]/*", "?/x.csv", "*/.h*", "z*"],
)
def test_it_finds_a_first_match_exactly_when_glob_does(tmp_path, settings, pattern):
    import glob

    from catalog.sources import _glob_matches_something

    settings.CATALOG_GLOB_MAX_DIRECTORIES = 1000
    for relative in ("a/x.csv", "a/b/c/y.csv", "b/.hidden.csv", ".git/z.csv", "top.txt"):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("1\n")
    full = f"{tmp_path}/{pattern}"
    expected = any(os.path.isfile(match) for match in glob.glob(full, recursive=True))

    assert _glob_matches_something(full) is expected
