"""Label quality of a registered version: run after profiling (tasks in-process here), stored in
`quality` beside the profile, its groups and examples masked as the sample is, and never stuck."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from django.utils import timezone

from catalog.models import DatasetVersion, Feature
from catalog.pipeline import labels as label_pipeline
from tests.factories import DatasetFactory, OwnershipFactory
from tests.hostile import deep
from tests.realdata_sources import penguins

# Registration hands the version to profiling when its transaction commits: these tests commit.
pytestmark = pytest.mark.django_db(transaction=True)

FLIP_SEED = 4


def write_penguins(path, *, flip_share=0.05, species=None):
    """The Palmer penguins with a seeded share of their species changed to the next species; returns
    the data rows (1-based) that were changed."""
    frame = penguins().drop(columns=["rowid"], errors="ignore")
    rng = np.random.default_rng(FLIP_SEED)
    flipped = rng.choice(len(frame), size=round(len(frame) * flip_share), replace=False)
    order = sorted(frame["species"].unique())
    values = frame["species"].to_numpy().copy()
    for index in flipped:
        values[index] = order[(order.index(values[index]) + 1) % len(order)]
    frame["species"] = species if species is not None else values
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return {int(index) + 1 for index in flipped}


def register(client, dataset, path, **fields):
    response = client.post(
        f"/api/v1/datasets/{dataset.pk}/versions/",
        {"uri": str(path), "label_column": "species", **fields},
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def test_it_finds_planted_flips_groups_and_reports_them_on_the_version(owner_client, dataset, storage_root):
    path = storage_root / "penguins" / "penguins.csv"
    planted = write_penguins(path)

    version_id = register(owner_client, dataset, path, group_features=["island"])

    body = owner_client.get(f"/api/v1/versions/{version_id}/").json()
    assert body["status"] == "ready"
    assert body["label_quality_status"] == "ready", body["label_quality_error"]
    assert body["group_features"] == ["island"]
    issues = body["quality"]["label_issues"]
    flagged = {int(example["row"].rsplit(":", 1)[1]) for example in issues["examples"]}
    assert issues["rows_checked"] == 344 - 0  # every row has a species
    assert issues["sampled"] is False
    assert len(flagged & planted) / len(planted) >= 0.7
    assert all(example["row"].startswith("penguins.csv:") for example in issues["examples"])
    islands = {entry["value"]: entry for entry in body["quality"]["groups"]["island"]}
    assert set(islands) == {"Biscoe", "Dream", "Torgersen"}
    codes = {finding["code"] for finding in body["quality"]["findings"]}
    assert {"label_issues", "group_label_disparity"} <= codes
    # The profile's own findings are still there beside them.
    assert body["quality"]["class_counts"]


def test_it_marks_a_version_without_a_classification_label_not_applicable(owner_client, dataset, storage_root):
    path = storage_root / "penguins" / "penguins.csv"
    write_penguins(path, flip_share=0)

    response = owner_client.post(
        f"/api/v1/datasets/{dataset.pk}/versions/",
        {"uri": str(path), "label_column": "body_mass_g", "task_type": "regression"},
        format="json",
    )

    body = owner_client.get(f"/api/v1/versions/{response.json()['id']}/").json()
    assert body["label_quality_status"] == "not_applicable"
    assert "label_issues" not in body["quality"]


def test_it_says_so_when_label_quality_is_turned_off(owner_client, dataset, storage_root, settings):
    settings.CATALOG_LABEL_QUALITY = False
    path = storage_root / "penguins" / "penguins.csv"
    write_penguins(path)

    body = owner_client.get(f"/api/v1/versions/{register(owner_client, dataset, path)}/").json()

    assert body["status"] == "ready"
    assert body["label_quality_status"] == "not_applicable"
    assert "CATALOG_LABEL_QUALITY" in body["label_quality_error"]
    assert "label_issues" not in body["quality"]


def test_it_fails_with_a_reason_on_a_single_class(owner_client, dataset, storage_root):
    path = storage_root / "penguins" / "penguins.csv"
    write_penguins(path, species="Adelie")

    version_id = register(owner_client, dataset, path, task_type="classification")

    version = DatasetVersion.objects.get(pk=version_id)
    assert version.status == "ready"
    assert version.label_quality_status == "failed"
    assert "at least two classes" in version.label_quality_error


def test_it_reports_a_group_feature_that_is_not_a_column(owner_client, dataset, storage_root):
    path = storage_root / "penguins" / "penguins.csv"
    write_penguins(path)

    version_id = register(owner_client, dataset, path, group_features=["region"])

    quality = owner_client.get(f"/api/v1/versions/{version_id}/").json()["quality"]
    missing = [finding for finding in quality["findings"] if finding["code"] == "group_feature_missing"]
    assert [finding["feature"] for finding in missing] == ["region"]


def test_it_keeps_group_features_for_the_next_version(owner_client, dataset, storage_root):
    path = storage_root / "penguins" / "penguins.csv"
    write_penguins(path)
    register(owner_client, dataset, path, group_features=["island"])
    second = storage_root / "penguins2" / "penguins.csv"
    write_penguins(second, flip_share=0.02)

    version_id = register(owner_client, dataset, second)

    assert DatasetVersion.objects.get(pk=version_id).group_features == ["island"]


def test_it_drops_a_result_about_a_profile_stored_since(owner_client, dataset, storage_root):
    path = storage_root / "penguins" / "penguins.csv"
    write_penguins(path)
    version_id = register(owner_client, dataset, path)
    DatasetVersion.objects.filter(pk=version_id).update(label_quality_status="pending")
    version = DatasetVersion.objects.get(pk=version_id)

    # A profile stored while the analysis runs: the analysis must not write over it.
    original = label_pipeline._analyse

    def profile_meanwhile(*args, **kwargs):
        result = original(*args, **kwargs)
        DatasetVersion.objects.filter(pk=version_id).update(
            profiled_at=timezone.now(), quality={**version.quality, "findings": []}
        )
        return result

    label_pipeline._analyse = profile_meanwhile
    try:
        outcome = label_pipeline.version_label_quality(version_id=version.pk)
    finally:
        label_pipeline._analyse = original

    assert outcome is None
    assert DatasetVersion.objects.get(pk=version_id).quality["findings"] == []


def test_it_analyses_again_after_a_reprofile(owner_client, dataset, storage_root):
    path = storage_root / "penguins" / "penguins.csv"
    write_penguins(path)
    version_id = register(owner_client, dataset, path)
    first = DatasetVersion.objects.get(pk=version_id).quality["label_issues"]["count"]

    response = owner_client.post(f"/api/v1/versions/{version_id}/reprofile/")

    assert response.status_code in (200, 202), response.content
    version = DatasetVersion.objects.get(pk=version_id)
    assert version.label_quality_status == "ready"
    assert version.quality["label_issues"]["count"] == first
    codes = [finding["code"] for finding in version.quality["findings"]]
    assert codes.count("label_issues") == 1


def test_it_requeues_an_analysis_whose_worker_died(owner_client, dataset, storage_root, settings):
    path = storage_root / "penguins" / "penguins.csv"
    write_penguins(path)
    version_id = register(owner_client, dataset, path)
    long_ago = timezone.now() - settings.CATALOG_PROFILING_STUCK_AFTER * 2
    DatasetVersion.objects.filter(pk=version_id).update(
        label_quality_status="running", label_quality_changed_at=long_ago
    )

    from catalog.tasks import versions_label_quality_requeue

    assert versions_label_quality_requeue() == [DatasetVersion.objects.get(pk=version_id).pk]
    assert DatasetVersion.objects.get(pk=version_id).label_quality_status == "ready"


def test_it_masks_personal_data_groups_and_labels_for_other_readers(owner_client, stranger_client, owner, storage_root):
    shared = DatasetFactory(namespace="zoo", name="penguins", sensitivity="internal")
    OwnershipFactory(dataset=shared, user=owner)
    path = storage_root / "penguins" / "penguins.csv"
    write_penguins(path)
    version_id = register(owner_client, shared, path, group_features=["island"])
    for name in ("island", "species"):
        feature = Feature.objects.get(version_id=version_id, name=name)
        answer = owner_client.patch(f"/api/v1/versions/{version_id}/features/{feature.position}/", {"pii": True})
        assert answer.status_code == 200, answer.content

    seen = stranger_client.get(f"/api/v1/versions/{version_id}/").json()["quality"]
    owned = owner_client.get(f"/api/v1/versions/{version_id}/").json()["quality"]

    assert {entry["value"] for entry in owned["groups"]["island"]} == {"Biscoe", "Dream", "Torgersen"}
    text = str(seen["groups"]) + str(seen["label_issues"]) + str(seen["findings"])
    for secret in ("Biscoe", "Dream", "Torgersen", "Adelie", "Gentoo", "Chinstrap"):
        assert secret not in text
    assert set(seen["label_issues"]["by_class"]) <= {"class 1", "class 2", "class 3"}


def test_it_hides_the_label_quality_of_a_restricted_dataset_from_a_stranger(
    owner_client, stranger_client, owner, storage_root
):
    secret = DatasetFactory(namespace="zoo", name="secret", sensitivity="restricted")
    OwnershipFactory(dataset=secret, user=owner)
    path = storage_root / "penguins" / "penguins.csv"
    write_penguins(path)
    version_id = register(owner_client, secret, path, group_features=["island"])

    assert stranger_client.get(f"/api/v1/versions/{version_id}/").status_code == 404
    assert (
        stranger_client.post(
            f"/api/v1/datasets/{secret.pk}/versions/", {"uri": str(path), "group_features": ["sex"]}, format="json"
        ).status_code
        == 404
    )


@pytest.mark.parametrize(
    "group_features",
    [
        "island",
        [1, 2],
        ["is\x00land"],
        [["island"]],
        ["x" * 5000],
        [f"f{index}" for index in range(1000)],
    ],
    ids=["string", "numbers", "nul", "nested", "huge-name", "too-many"],
)
def test_it_rejects_bad_group_features(owner_client, dataset, storage_root, group_features):
    path = storage_root / "penguins" / "penguins.csv"
    write_penguins(path)

    response = owner_client.post(
        f"/api/v1/datasets/{dataset.pk}/versions/",
        {"uri": str(path), "label_column": "species", "group_features": group_features},
        format="json",
    )

    assert response.status_code == 400, response.content
    assert any(key.startswith("group_features") for key in response.json()["errors"])
    assert not DatasetVersion.objects.filter(dataset=dataset).exists()


def test_it_rejects_deeply_nested_group_features(owner_client, dataset, storage_root):
    path = storage_root / "penguins" / "penguins.csv"
    write_penguins(path)
    body = f'{{"uri": "{path}", "label_column": "species", "group_features": {deep(5000)}}}'

    response = owner_client.post(f"/api/v1/datasets/{dataset.pk}/versions/", body, content_type="application/json")

    assert response.status_code == 400, response.content
    assert not DatasetVersion.objects.filter(dataset=dataset).exists()


def test_it_reads_the_source_like_the_profile_names_rows(storage_root):
    from profiler.files import expand
    from profiler.labels import read_table
    from profiler.readers import plan_partitions

    path = storage_root / "penguins.csv"
    write_penguins(path, flip_share=0)

    frame, names = read_table(plan_partitions(expand(str(path)), "csv"), ["species", "island"])

    expected = pd.read_csv(path)
    assert len(frame) == len(expected)
    assert names[0] == "penguins.csv:1"
    assert names[-1] == f"penguins.csv:{len(expected)}"
    assert frame["island"].tolist() == expected["island"].tolist()
