"""A new version keeps what the version before it was registered with (its label column, splits, read
options and task type) unless its registration says otherwise, and says so when the label it kept is
gone from the data."""

import uuid

import pytest

from catalog import pipeline, services
from catalog.models import DatasetVersion, ProfilePart
from governance.models import Change
from tests.hostile import deep
from tests.profiling.media_folders import draw

pytestmark = pytest.mark.django_db


def _versions_url(dataset) -> str:
    return f"/api/v1/datasets/{dataset.pk}/versions/"


@pytest.fixture
def register(owner_client, dataset, django_capture_on_commit_callbacks):
    """Register a version of `dataset` as its owner, profiled in-process; answers the stored version."""

    def register(body, client=owner_client):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(_versions_url(dataset), body, format="json")
        assert response.status_code == 201, response.json()
        return DatasetVersion.objects.get(pk=response.json()["id"])

    return register


def _schema_warnings(version: DatasetVersion) -> list[dict]:
    return [
        finding
        for finding in version.quality.get("findings", [])
        if finding["code"] == "schema_change" and finding["severity"] == "warning"
    ]


def test_it_keeps_the_label_of_the_version_before(register, iris_csv, owner_client):
    register({"uri": str(iris_csv), "label_column": "species"})

    # The README's example: a new version named by its folder alone.
    second = register({"uri": "flowers/", "format": "csv"})

    assert second.status == "ready", second.error
    assert second.label_column == "species"
    assert second.quality["label_column"] == "species"
    assert second.quality["class_counts"] == {"setosa": 10, "versicolor": 10, "virginica": 10}
    assert _schema_warnings(second) == []
    body = owner_client.get(f"/api/v1/versions/{second.pk}/").json()
    assert body["label_column"] == "species"
    entry = Change.objects.get(object_type="version", object_id=str(second.pk), action="create")
    assert (entry.after["label_column"], entry.after["inherited"], entry.after["inherited_from"]) == (
        "species",
        ["label_column"],
        1,
    )


@pytest.mark.parametrize("removed", [None, ""])
def test_an_explicit_null_removes_the_label(register, iris_csv, removed):
    register({"uri": str(iris_csv), "label_column": "species"})

    second = register({"uri": str(iris_csv), "label_column": removed})

    assert second.label_column == ""
    assert second.status == "ready", second.error
    assert not second.quality.get("class_counts")
    assert "inherited" not in Change.objects.get(object_type="version", object_id=str(second.pk)).after


def test_a_label_given_again_replaces_the_one_before(register, iris_csv):
    register({"uri": str(iris_csv), "label_column": "species"})

    second = register({"uri": str(iris_csv), "label_column": "petal width"})

    assert second.label_column == "petal width"
    assert second.quality["label_column"] == "petal width"


def test_it_keeps_splits_read_options_and_task_type(register, storage_root):
    folder = storage_root / "ratings"
    folder.mkdir()
    for split, offset in (("train", 0), ("test", 100)):
        rows = "".join(f"{index + offset};{index % 4};{index % 3}\n" for index in range(40))
        (folder / f"{split}.csv").write_text("hours;rating;shift\n" + rows)
    first = register(
        {
            "uri": "ratings/",
            "label_column": "rating",
            "task_type": "regression",
            "splits": {"train": "train.csv", "test": "test.csv"},
            "read_options": {"delimiter": ";"},
        }
    )
    assert first.status == "ready", first.error

    second = register({"uri": "ratings/"})

    assert second.status == "ready", second.error
    assert (second.label_column, second.task_type, second.splits, second.read_options) == (
        "rating",
        "regression",
        {"train": "train.csv", "test": "test.csv"},
        first.read_options,
    )
    assert second.quality["task_type"] == "regression"
    assert set(second.profile["splits"]) == {"train", "test"}
    entry = Change.objects.get(object_type="version", object_id=str(second.pk))
    assert entry.after["inherited"] == ["label_column", "splits", "read_options", "task_type"]

    # Another label: the task type said what the old one was, so it is not carried over to this one.
    third = register({"uri": "ratings/", "label_column": "shift"})
    assert (third.label_column, third.task_type, third.splits) == ("shift", "", second.splits)

    fourth = register({"uri": "ratings/", "splits": None, "read_options": None, "task_type": None})
    assert (fourth.label_column, fourth.splits, fourth.read_options, fourth.task_type) == ("shift", {}, {}, "")
    # Without its read options the semicolons are sniffed again: the columns are the same.
    assert fourth.status == "ready", fourth.error


def test_read_options_are_not_carried_to_a_source_of_another_format(register, storage_root):
    (storage_root / "scores.csv").write_text("a;label\n" + "".join(f"{i};{i % 2}\n" for i in range(20)))
    (storage_root / "scores.jsonl").write_text("".join(f'{{"a": {i}, "label": {i % 2}}}\n' for i in range(20)))
    register({"uri": "scores.csv", "label_column": "label", "read_options": {"delimiter": ";"}})

    second = register({"uri": "scores.jsonl"})

    assert (second.format, second.label_column, second.read_options) == ("jsonl", "label", {})
    assert second.status == "ready", second.error


def test_a_label_gone_from_the_data_is_a_schema_change_warning(register, iris_csv, storage_root, owner_client):
    register({"uri": str(iris_csv), "label_column": "species"})
    unlabelled = storage_root / "flowers-unlabelled.csv"
    unlabelled.write_text("petal length,petal width\n" + "".join(f"{1 + i / 10},{i / 50}\n" for i in range(30)))

    second = register({"uri": str(unlabelled)})

    assert second.status == "ready", second.error
    assert second.label_column == "species"  # what the version was registered with stays on record
    assert not second.quality.get("label_column")
    [warning] = _schema_warnings(second)
    assert warning["feature"] == "species"
    assert "'species'" in warning["message"]
    assert "version 1" in warning["message"]
    # Beside the drift report's own schema change (which lists every removed column), most severe first.
    changes = [finding["severity"] for finding in second.quality["findings"] if finding["code"] == "schema_change"]
    assert changes == ["warning", "info"]
    shown = owner_client.get(f"/api/v1/versions/{second.pk}/").json()["quality"]["findings"]
    assert warning in shown


def test_the_same_label_named_again_and_gone_is_the_same_warning(register, iris_csv, storage_root):
    register({"uri": str(iris_csv), "label_column": "species"})
    (storage_root / "other.csv").write_text("kind,size\n" + "".join(f"k{i % 3},{i}\n" for i in range(30)))

    second = register({"uri": "other.csv", "label_column": "species"})

    assert second.status == "ready", second.error
    assert [warning["feature"] for warning in _schema_warnings(second)] == ["species"]


def test_a_new_label_column_missing_from_the_data_still_fails_the_version(register, iris_csv):
    register({"uri": str(iris_csv), "label_column": "species"})

    second = register({"uri": str(iris_csv), "label_column": "specis"})

    assert second.status == "failed"
    assert "'specis' is not among the columns" in second.error


def test_a_label_gone_from_a_folder_of_images_is_a_warning_too(register, storage_root):
    labelled = storage_root / "shapes-v1"
    for index in range(6):
        draw(labelled / f"{index}.png", seed=index)
    (labelled / "labels.csv").write_text(
        "file_name,kind\n" + "".join(f"{index}.png,{'round' if index % 2 else 'square'}\n" for index in range(6))
    )
    first = register({"uri": "shapes-v1", "label_column": "kind"})
    assert first.status == "ready", first.error
    for index in range(6):
        draw(storage_root / "shapes-v2" / ("round" if index % 2 else "square") / f"{index}.png", seed=index)

    second = register({"uri": "shapes-v2"})

    assert second.status == "ready", second.error
    assert [warning["feature"] for warning in _schema_warnings(second)] == ["kind"]


def test_the_parts_of_a_chord_profile_without_the_label_that_is_gone(
    owner, dataset, storage_root, settings, monkeypatch
):
    folder = storage_root / "shards"
    folder.mkdir()
    for shard in range(3):
        (folder / f"part-{shard}.csv").write_text(
            "id,score\n" + "".join(f"{shard * 100 + row},{row % 7}\n" for row in range(50))
        )
    (storage_root / "labelled.csv").write_text("id,score,label\n1,2,a\n2,3,b\n")
    first = services.version_create(actor=owner, dataset=dataset, uri="labelled.csv", label_column="label")
    settings.CELERY_TASK_ALWAYS_EAGER = True
    assert pipeline.version_profile(version_id=first.pk) == "ready"
    second = services.version_create(actor=owner, dataset=dataset, uri=str(folder))
    settings.CELERY_TASK_ALWAYS_EAGER = False
    claim = uuid.uuid4()

    assert (
        pipeline.version_profile(version_id=second.pk, claim=claim, dispatch_parts=lambda **kwargs: None) == "profiling"
    )
    for index in range(3):
        assert pipeline.version_profile_part(version_id=second.pk, claim=claim, index=index)
    assert pipeline.version_merge_parts(version_id=second.pk, claim=claim, parts=3) == "ready"

    second.refresh_from_db()
    assert second.row_count == 150
    assert [warning["feature"] for warning in _schema_warnings(second)] == ["label"]
    assert not ProfilePart.objects.filter(version=second).exists()


def test_a_version_profiled_again_drops_the_warning_once_the_label_is_back(register, iris_csv, storage_root):
    register({"uri": str(iris_csv), "label_column": "species"})
    path = storage_root / "growing.csv"
    path.write_text("petal length\n" + "".join(f"{i}\n" for i in range(30)))
    second = register({"uri": str(path)})
    assert len(_schema_warnings(second)) == 1

    path.write_text("petal length,species\n" + "".join(f"{i},{'ab'[i % 2]}\n" for i in range(30)))
    services.version_reprofile(actor=second.created_by, version=second)
    pipeline.version_profile(version_id=second.pk)

    second.refresh_from_db()
    assert second.status == "ready", second.error
    assert _schema_warnings(second) == []
    assert second.quality["label_column"] == "species"


def test_a_stranger_cannot_register_a_version_that_drops_the_label(stranger_client, dataset, register, iris_csv):
    first = register({"uri": str(iris_csv), "label_column": "species"})

    response = stranger_client.post(_versions_url(dataset), {"uri": str(iris_csv), "label_column": None}, format="json")

    assert response.status_code == 403
    assert list(DatasetVersion.objects.filter(dataset=dataset)) == [first]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"label_column": "spe\x00cies"}, "label_column"),
        ({"label_column": "x" * 5000}, "label_column"),
        ({"label_column": ["species"]}, "label_column"),
        ({"splits": {"train": {"nested": "train/"}}}, "splits"),
        ({"splits": "train/"}, "splits"),
        ({"read_options": {"delimiter": ";", "colour": "red"}}, "read_options"),
        ({"task_type": "clustering"}, "task_type"),
    ],
)
def test_it_rejects_bad_fields_of_a_new_version(owner_client, dataset, iris_csv, body, field):
    response = owner_client.post(_versions_url(dataset), {"uri": str(iris_csv), **body}, format="json")

    assert response.status_code == 400, response.json()
    assert any(key.startswith(field) for key in response.json()["errors"]), response.json()
    assert not DatasetVersion.objects.filter(dataset=dataset).exists()


def test_it_refuses_a_new_version_nested_too_deeply(owner_client, dataset, iris_csv):
    body = f'{{"uri": "{iris_csv}", "splits": {{"train": {deep(5_000)}}}}}'

    response = owner_client.generic("POST", _versions_url(dataset), body, content_type="application/json")

    assert response.status_code == 400
    assert "more than 100 levels deep" in response.json()["detail"]
    assert not DatasetVersion.objects.filter(dataset=dataset).exists()
