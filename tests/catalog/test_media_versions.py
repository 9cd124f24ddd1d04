"""Folders of images and documents through the catalog: registration, the stored profile and
thumbnails, the parts of a large folder merged, and the admin page."""

import base64
import io
import json
import uuid

import mlcroissant as mlc
import pytest
from django.urls import reverse
from PIL import Image

from catalog import pipeline, services
from catalog.models import Dataset, DatasetVersion, ProfilePart, Thumbnail
from catalog.pipeline import profiling
from profiler.media import items as media_items
from tests.croissant import mlcroissant_validate
from tests.factories import UserFactory
from tests.profiling.media_folders import draw, image_folder, text_corpus

pytestmark = pytest.mark.django_db


@pytest.fixture
def pets(storage_root):
    return image_folder(storage_root / "pets")


def _codes(version: DatasetVersion) -> set[str]:
    return {finding["code"] for finding in version.quality["findings"]}


def test_an_image_folder_is_detected_and_profiled(owner_client, pets, django_capture_on_commit_callbacks):
    api_client = owner_client
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(
            "/api/v1/datasets/", {"namespace": "vision", "name": "pets", "source": {"uri": str(pets)}}, format="json"
        )
    assert response.status_code == 201, response.content
    version = DatasetVersion.objects.get(pk=response.json()["latest_version"]["id"])
    assert version.format == "images"
    assert version.status == "ready", version.error
    assert version.row_count == 22
    assert version.file_count == 23
    assert version.quality["class_counts"] == {"cat": 14, "dog": 8}
    assert {"unreadable_files", "label_conflicts", "split_leakage", "duplicate_images"} <= _codes(version)
    assert version.profile["media"] == {"kind": "images", "items": 22, "files": 23}
    assert set(version.profile["splits"]) == {"train", "test"}

    body = api_client.get(f"/api/v1/versions/{version.pk}/").json()
    features = {feature["name"]: feature for feature in body["features"]}
    assert features["label"]["role"] == "label"
    assert features["width"]["statistics"]["histogram"]["kind"] == "equal_width"
    assert body["quality"]["label_conflicts"]["examples"] == [
        ["train/cat/000.png (cat)", "train/dog/copy-of-cat.png (dog)"]
    ]
    thumbnails = list(Thumbnail.objects.filter(version=version))
    assert [thumbnail.label for thumbnail in thumbnails] == ["cat"] * 4 + ["dog"] * 4
    assert Image.open(io.BytesIO(bytes(thumbnails[0].content))).format == "JPEG"


def test_features_of_a_text_corpus_can_be_searched(owner_client, storage_root, django_capture_on_commit_callbacks):
    corpus = text_corpus(storage_root / "reviews")
    api_client = owner_client
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(
            "/api/v1/datasets/", {"namespace": "nlp", "name": "reviews", "source": {"uri": str(corpus)}}, format="json"
        )
    assert response.status_code == 201, response.content
    version = DatasetVersion.objects.get(pk=response.json()["latest_version"]["id"])
    assert version.format == "text"
    assert version.status == "ready", version.error
    assert {"duplicate_documents", "near_duplicate_documents", "empty_documents"} <= _codes(version)
    listed = api_client.get("/api/v1/datasets/", {"feature": "characters"}).json()
    assert [entry["name"] for entry in listed["results"]] == ["reviews"]


def test_the_parts_of_a_large_folder_merge_into_the_same_profile(owner, dataset, pets, monkeypatch, settings):
    """What a chord of workers does, step by step: the files hashed and recorded, each part stored, then merged."""
    whole = services.version_create(actor=owner, dataset=dataset, uri=str(pets), format="images")
    assert pipeline.version_profile(version_id=whole.pk) == "ready"
    whole.refresh_from_db()
    monkeypatch.setattr(media_items, "IMAGES_PER_PARTITION", 5)
    split = services.version_create(actor=owner, dataset=dataset, uri=str(pets), format="images")
    settings.CELERY_TASK_ALWAYS_EAGER = False
    claim = uuid.uuid4()
    assert (
        pipeline.version_profile(version_id=split.pk, claim=claim, dispatch_parts=lambda **kwargs: None) == "profiling"
    )
    for index in range(5):
        assert pipeline.version_profile_part(version_id=split.pk, claim=claim, index=index)
    assert ProfilePart.objects.filter(version=split, index__lt=profiling._PLAN_INDEX).count() == 5
    assert pipeline.version_merge_parts(version_id=split.pk, claim=claim, parts=5) == "ready"
    split.refresh_from_db()
    for key in ("class_counts", "duplicate_rows", "label_conflicts", "split_leakage", "unreadable", "duplicates"):
        assert split.quality[key] == whole.quality[key], key
    assert [thumbnail.path for thumbnail in Thumbnail.objects.filter(version=split)] == [
        thumbnail.path for thumbnail in Thumbnail.objects.filter(version=whole)
    ]


def test_a_folder_that_is_not_images_fails_with_the_reason(owner, dataset, storage_root):
    folder = storage_root / "notes"
    folder.mkdir()
    (folder / "readme.md").write_text("nothing to see")
    version = services.version_create(actor=owner, dataset=dataset, uri=str(folder), format="images")
    assert pipeline.version_profile(version_id=version.pk) == "failed"
    version.refresh_from_db()
    assert version.status == "failed"
    assert "holds no image files" in version.error
    assert "readme.md" in version.error


def test_the_admin_page_shows_a_few_thumbnails_beside_the_class_balance(client, owner, dataset, pets):
    version = services.version_create(actor=owner, dataset=dataset, uri=str(pets), format="images")
    assert pipeline.version_profile(version_id=version.pk) == "ready"
    admin = UserFactory(username="ada-admin", is_staff=True, is_superuser=True)
    client.force_login(admin)
    page = client.get(reverse("admin:catalog_dataset_change", args=[dataset.pk])).content.decode()
    assert '<svg class="class-balance"' in page
    assert "A few images of each class" in page
    assert page.count('<img src="data:image/jpeg;base64,') == 8
    thumbnail = Thumbnail.objects.filter(version__dataset=dataset).first()
    assert base64.b64encode(bytes(thumbnail.content)).decode() in page
    # The originals are never in the page.
    assert base64.b64encode((pets / thumbnail.path).read_bytes()).decode() not in page


def test_the_api_answers_the_thumbnails_to_those_who_may_read_the_version(
    owner_client, stranger_client, owner, dataset, pets
):
    version = services.version_create(actor=owner, dataset=dataset, uri=str(pets), format="images")
    assert pipeline.version_profile(version_id=version.pk) == "ready"

    thumbnails = owner_client.get(f"/api/v1/versions/{version.pk}/thumbnails/").json()

    assert [(entry["label"], entry["path"]) for entry in thumbnails[:2]] == [
        ("cat", "test/cat/000.png"),
        ("cat", "test/cat/001.png"),
    ]
    assert len(thumbnails) == 8
    prefix = "data:image/jpeg;base64,"
    assert thumbnails[0]["src"].startswith(prefix)
    picture = Image.open(io.BytesIO(base64.b64decode(thumbnails[0]["src"].removeprefix(prefix))))
    assert picture.size == (thumbnails[0]["width"], thumbnails[0]["height"])
    Dataset.objects.filter(pk=dataset.pk).update(sensitivity="restricted")
    assert stranger_client.get(f"/api/v1/versions/{version.pk}/thumbnails/").status_code == 404


def test_the_croissant_export_of_a_folder_describes_its_items_and_mlcroissant_reads_them(
    owner_client, owner, dataset, storage_root
):
    folder = storage_root / "shapes"
    for split, count in (("train", 3), ("test", 2)):
        for label in ("circle", "square"):
            for index in range(count):
                draw(folder / split / label / f"{index}.png", hash((split, label, index)) % 10_000)
    draw(folder / "train" / "circle" / "extra.jpg", 77, format="JPEG")
    version = services.version_create(actor=owner, dataset=dataset, uri=str(folder), format="images")
    assert pipeline.version_profile(version_id=version.pk) == "ready"

    document = owner_client.get(f"/api/v1/datasets/{dataset.pk}/card/croissant").json()
    file_set = next(item for item in document["distribution"] if item["@type"] == "cr:FileSet")
    assert file_set["includes"] == ["**/*.jpg", "**/*.png"]
    assert {item["encodingFormat"] for item in document["distribution"] if item["@type"] == "cr:FileObject"} == {
        "image/png",
        "image/jpeg",
    }
    (records,) = document["recordSet"]
    assert [field["name"] for field in records["field"]] == ["content", "path", "label", "split"]
    path = folder / "croissant.json"  # a file set is read relative to the document
    path.write_text(json.dumps(document))
    validation = mlcroissant_validate(path)
    assert validation.returncode == 0, validation.stderr[-2000:]
    read = {
        record["items/path"].decode(): record for record in mlc.Dataset(jsonld=str(path)).records(record_set="items")
    }
    assert len(read) == 11
    extra = read["train/circle/extra.jpg"]
    assert extra["items/label"].decode() == "circle"
    assert extra["items/split"].decode() == "train"
    assert extra["items/content"].size == (48, 40)
    assert read["test/square/1.png"]["items/label"].decode() == "square"


def test_the_croissant_export_of_a_text_corpus_reads_its_documents(owner_client, owner, dataset, storage_root):
    corpus = text_corpus(storage_root / "reviews")
    version = services.version_create(actor=owner, dataset=dataset, uri=str(corpus), format="text")
    assert pipeline.version_profile(version_id=version.pk) == "ready"
    document = owner_client.get(f"/api/v1/datasets/{dataset.pk}/card/croissant").json()
    path = corpus / "croissant.json"
    path.write_text(json.dumps(document))

    read = {
        record["items/path"].decode(): record for record in mlc.Dataset(jsonld=str(path)).records(record_set="items")
    }

    assert len(read) == 25
    assert read["pos/contact.txt"]["items/label"].decode() == "pos"
    assert read["pos/contact.txt"]["items/content"].decode() == (corpus / "pos/contact.txt").read_text()


def test_drift_between_two_versions_of_an_image_folder_flags_the_changed_sizes(owner, dataset, storage_root):
    for index in range(30):
        draw(storage_root / "v1" / ("cat" if index % 2 else "dog") / f"{index}.png", index, size=(48, 40))
        draw(storage_root / "v2" / ("cat" if index % 3 else "dog") / f"{index}.png", index, size=(96, 80))
    first = services.version_create(actor=owner, dataset=dataset, uri=str(storage_root / "v1"), format="images")
    assert pipeline.version_profile(version_id=first.pk) == "ready"
    second = services.version_create(actor=owner, dataset=dataset, uri=str(storage_root / "v2"), format="images")
    assert pipeline.version_profile(version_id=second.pk) == "ready"
    first.refresh_from_db()
    second.refresh_from_db()

    report = services.version_drift(version=second, against=first)

    drifted = {feature["name"] for feature in report["features"] if feature["drifted"]}
    assert {"width", "height", "bytes"} <= drifted
    assert "format" not in drifted
