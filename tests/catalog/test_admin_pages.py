"""The admin as a place to browse and review: the dataset list and page, charts, actions."""

import re

import pytest
from django.urls import reverse

from audits.rules import Purpose
from audits.services import audit_run
from catalog.models import DataCard, Dataset, DatasetVersion, Feature
from lineage.models import LineageEdge
from tests.factories import DatasetFactory, OwnershipFactory, UserFactory, VersionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_admin(client):
    admin = UserFactory(username="ada-admin", is_staff=True, is_superuser=True)
    client.force_login(admin)
    client.user = admin
    return client


@pytest.fixture
def profiled(dataset):
    version = VersionFactory(
        dataset=dataset,
        number=1,
        row_count=60,
        fingerprint="sha256:" + "ab" * 32,
        quality={
            "class_counts": {"stop": 40, "yield": 15, "merge": 5},
            "findings": [
                {"severity": "warning", "code": "class_imbalance", "feature": None, "message": "merge is rare"}
            ],
        },
        profile={
            "sample": {
                "columns": ["email", "width"],
                "rows": [{"row": "a.csv:1", "values": {"email": "ada@example.org", "width": 3}}],
                "masked_rows": [{"row": "a.csv:1", "values": {"email": "a**@e******.org", "width": 3}}],
                "pii_columns": ["email"],
            }
        },
    )
    Feature.objects.create(
        version=version,
        name="width",
        position=0,
        dtype="double",
        logical_type="numeric",
        statistics={
            "count": 60,
            "null_count": 0,
            "min": 1.0,
            "max": 9.0,
            "mean": 4.2,
            "histogram": {"kind": "equal_width", "edges": [1, 3, 5, 7, 9], "counts": [10, 40, 5, 5]},
        },
    )
    Feature.objects.create(
        version=version,
        name="email",
        position=1,
        dtype="string",
        logical_type="text",
        pii=True,
        statistics={
            "count": 60,
            "top_values": [{"value": "ada@example.org", "count": 2}],
            "histogram": {
                "kind": "categorical",
                "values": [{"value": "ada@example.org", "count": 2}],
                "other_count": 58,
            },
            "pii_kinds": ["email"],
        },
    )
    return version


def _page(client, dataset) -> str:
    response = client.get(reverse("admin:catalog_dataset_change", args=[dataset.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_list_shows_owners_rows_card_and_license(staff_admin, profiled):
    Dataset.objects.filter(pk=profiled.dataset_id).update(license="CC-BY-4.0")
    DataCard.objects.create(dataset_id=profiled.dataset_id, summary="Signs.", completeness=0.0714)

    page = staff_admin.get(reverse("admin:catalog_dataset_changelist")).content.decode()

    assert "olivia-owner" in page
    assert "CC-BY-4.0" in page
    assert ">60<" in page
    assert "7%" in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [("owner=olivia-owner", {"street-signs"}), ("card=none", {"street-signs", "other"}), ("card=complete", set())],
)
def test_the_list_filters(staff_admin, dataset, query, expected):
    DatasetFactory(name="other")

    page = staff_admin.get(reverse("admin:catalog_dataset_changelist") + "?" + query).content.decode()

    assert {name for name in ("street-signs", "other") if f">{name}<" in page} == expected


def test_the_list_costs_the_same_queries_whatever_the_page(staff_admin, django_assert_max_num_queries):
    for index in range(20):
        dataset = DatasetFactory(name=f"page-{index}")
        OwnershipFactory(dataset=dataset, user=UserFactory(username=f"owner-{index}"))
        VersionFactory(dataset=dataset, number=1)

    with django_assert_max_num_queries(14):
        response = staff_admin.get(reverse("admin:catalog_dataset_changelist"))
    assert response.status_code == 200


def test_the_page_draws_each_histogram_with_bars_proportional_to_the_counts(staff_admin, profiled):
    page = _page(staff_admin, profiled.dataset)

    (histogram,) = re.findall(r'<svg class="histogram".*?</svg>', page, flags=re.DOTALL)[:1]
    bars = re.findall(r'height="([\d.]+)" fill="[^"]+" data-count="(\d+)"', histogram)
    assert [int(count) for _, count in bars] == [10, 40, 5, 5]
    tallest = max(float(height) for height, _ in bars)
    for height, count in bars:
        assert float(height) == pytest.approx(tallest * int(count) / 40, abs=0.01)


def test_the_page_shows_the_card_sanitised(staff_admin, profiled):
    DataCard.objects.create(
        dataset_id=profiled.dataset_id,
        summary="**Street signs** <script>alert('x')</script> [site](javascript:alert(1))",
        labeling="Two annotators.",
    )

    page = _page(staff_admin, profiled.dataset)

    assert "<strong>Street signs</strong>" in page
    assert "alert('x')" not in page
    assert "javascript:alert" not in page
    assert "Two annotators." in page
    assert "/card/croissant" in page


def test_the_page_masks_personal_data_for_staff_who_do_not_answer_for_it(staff_admin, profiled, owner):
    page = _page(staff_admin, profiled.dataset)

    assert "ada@example.org" not in page
    assert "a***@e***.org" in page  # masked when read, from the feature's flag
    assert "personal data masked" in page
    owner.is_staff = owner.is_superuser = True  # the admin is for staff; this one also owns the dataset
    owner.save()
    staff_admin.force_login(owner)
    assert "ada@example.org" in _page(staff_admin, profiled.dataset)


def test_the_page_shows_class_balance_findings_versions_lineage_changes_and_audits(staff_admin, profiled, owner):
    source = DatasetFactory(name="raw-photos")
    LineageEdge.objects.create(source=source, target=profiled.dataset, origin="manual")
    DatasetVersion.objects.filter(pk=profiled.pk).update(
        quality={
            **profiled.quality,
            "drift": {"drifted_features": ["width"], "label_drifted": True, "schema_changed": False},
        }
    )
    audit = audit_run(actor=owner, datasets=[profiled.dataset_id], purpose=Purpose(commercial=True))

    page = _page(staff_admin, profiled.dataset)

    assert '<svg class="class-balance"' in page
    assert ">stop<" in page
    assert "40 (66.7%)" in page
    assert "class_imbalance" in page
    assert "drifted: width" in page
    assert '<svg class="lineage"' in page
    assert "team-vision/raw-photos" in page
    assert reverse("admin:governance_audit_change", args=[audit.pk]) in page


def test_the_reprofile_action_queues_the_latest_versions(staff_admin, profiled, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        response = staff_admin.post(
            reverse("admin:catalog_dataset_changelist"),
            {"action": "reprofile_latest", "_selected_action": [str(profiled.dataset_id)]},
            follow=True,
        )

    assert "1 version(s) queued for profiling." in response.content.decode()
    assert DatasetVersion.objects.get(pk=profiled.pk).status == "pending"


def test_the_deprecate_action_asks_for_a_reason(staff_admin, dataset):
    url = reverse("admin:catalog_dataset_changelist")
    selected = {"action": "deprecate", "_selected_action": [str(dataset.pk)]}

    asked = staff_admin.post(url, selected)
    done = staff_admin.post(url, {**selected, "reason": "Use street-signs-v2."}, follow=True)

    assert "Why, and what to use instead." in asked.content.decode()
    assert "1 dataset(s) deprecated." in done.content.decode()
    dataset.refresh_from_db()
    assert (dataset.lifecycle, dataset.deprecation_reason) == ("deprecated", "Use street-signs-v2.")


def test_it_shows_the_page_of_a_retired_dataset(staff_admin, dataset):
    Dataset.objects.filter(pk=dataset.pk).update(lifecycle="retired")

    response = staff_admin.get(reverse("admin:catalog_dataset_change", args=[dataset.pk]))

    assert response.status_code == 200
    assert "Retired" in response.content.decode()


def test_it_refuses_a_look_alike_name_when_staff_add_a_dataset(staff_admin):
    form = {
        "namespace": "team",
        "name": "patients-secr\u0435t",
        "sensitivity": "internal",
        "lifecycle": "active",
        "ownership_set-TOTAL_FORMS": "0",
        "ownership_set-INITIAL_FORMS": "0",
        "versions-TOTAL_FORMS": "0",
        "versions-INITIAL_FORMS": "0",
    }

    response = staff_admin.post(reverse("admin:catalog_dataset_add"), form)

    assert response.status_code == 200  # the form again, with the error
    assert "mixes Cyrillic and Latin letters" in response.content.decode()
    assert not Dataset.objects.filter(namespace="team").exists()
