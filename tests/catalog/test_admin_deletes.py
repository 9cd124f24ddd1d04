"""Delete in the admin is what DELETE is in the API: retirement, through the same service and into the
change log. Deleting a retired dataset purges it, by the API's purge rules. Versions are never deleted."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from catalog.models import Dataset, DatasetVersion, Feature
from catalog.services import dataset_retire
from governance.models import Change
from lineage.models import LineageEdge
from tests.factories import DatasetFactory, OwnershipFactory, UserFactory, VersionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_admin(client):
    admin = UserFactory(username="ada-admin", is_staff=True, is_superuser=True)
    client.force_login(admin)
    return client


@pytest.fixture
def version(dataset):
    return VersionFactory(dataset=dataset, number=1, fingerprint="sha256:" + "cd" * 32, row_count=3)


def _delete_url(dataset) -> str:
    return reverse("admin:catalog_dataset_delete", args=[dataset.pk])


def _messages(response) -> str:
    return " ".join(str(message) for message in response.context["messages"])


def test_it_retires_a_dataset_deleted_in_the_admin(staff_admin, staff_client, dataset, version):
    asked = staff_admin.get(_delete_url(dataset))
    response = staff_admin.post(_delete_url(dataset), {"intent": "retire"}, follow=True)

    assert asked.status_code == 200
    assert "Retire this dataset?" in asked.content.decode()
    assert "Yes, retire" in asked.content.decode()
    assert response.status_code == 200
    assert "Retired team-vision/street-signs" in _messages(response)
    dataset.refresh_from_db()
    assert dataset.lifecycle == "retired"
    assert dataset.retired_at is not None
    assert DatasetVersion.objects.filter(pk=version.pk).exists()  # nothing deleted
    entries = staff_client.get("/api/v1/changes/", {"action": "retire", "dataset": str(dataset.pk)}).json()
    assert entries["count"] == 1
    assert entries["results"][0]["actor"] == "ada-admin"
    assert staff_client.get(f"/api/v1/datasets/{dataset.pk}/").json()["lifecycle"] == "retired"


def test_the_next_version_of_a_retired_dataset_does_not_reuse_a_number(staff_admin, dataset, version):
    staff_admin.post(_delete_url(dataset), {"intent": "retire"})

    assert list(DatasetVersion.objects.filter(dataset=dataset).values_list("number", flat=True)) == [1]


def test_it_purges_a_retired_dataset_deleted_again(staff_admin, owner, dataset, version):
    dataset_retire(actor=owner, dataset=dataset)

    asked = staff_admin.get(_delete_url(dataset))
    response = staff_admin.post(_delete_url(dataset), {"intent": "purge"}, follow=True)

    assert "Purge this retired dataset for good?" in asked.content.decode()
    assert "Purged team-vision/street-signs for good." in _messages(response)
    assert not Dataset.objects.filter(pk=dataset.pk).exists()
    assert not DatasetVersion.objects.filter(pk=version.pk).exists()
    purge = Change.objects.get(dataset_id=dataset.pk, action="purge")
    assert purge.actor_name == "ada-admin"
    assert purge.before["versions"][0]["number"] == 1


def test_it_refuses_to_purge_what_the_api_refuses_to_purge(staff_admin, staff_client, owner, dataset, version):
    # Declared by its owner: lineage the owners stand behind holds the purge back, here as in the API.
    LineageEdge.objects.create(source=dataset, target=DatasetFactory(name="derived"), origin="manual", created_by=owner)
    dataset_retire(actor=owner, dataset=dataset)

    response = staff_admin.post(_delete_url(dataset), {"intent": "purge"}, follow=True)

    assert response.status_code == 200
    assert "cannot be purged" in _messages(response)
    assert "lineage edges" in _messages(response)
    assert response.redirect_chain[-1][0] == reverse("admin:catalog_dataset_change", args=[dataset.pk])
    assert Dataset.objects.filter(pk=dataset.pk).exists()
    assert not Change.objects.filter(action="purge").exists()
    assert staff_client.post(f"/api/v1/datasets/{dataset.pk}/purge/").status_code == 409


def test_a_confirmed_retirement_is_never_taken_for_a_purge(staff_admin, owner, dataset, version):
    staff_admin.get(_delete_url(dataset))  # the page asks to retire it
    dataset_retire(actor=owner, dataset=dataset)  # someone else retires it meanwhile

    response = staff_admin.post(_delete_url(dataset), {"intent": "retire"})

    assert response.status_code == 200
    assert "Purge this retired dataset for good?" in response.content.decode()
    assert Dataset.objects.filter(pk=dataset.pk).exists()
    assert not Change.objects.filter(action="purge").exists()


@pytest.mark.parametrize("retired", [False, True])
def test_staff_without_the_delete_permission_neither_retire_nor_purge(client, owner, dataset, retired):
    clerk = UserFactory(username="carl-clerk", is_staff=True)
    clerk.user_permissions.add(*Permission.objects.filter(codename__in=["view_dataset", "change_dataset"]))
    client.force_login(clerk)
    if retired:
        dataset_retire(actor=owner, dataset=dataset)

    assert client.get(_delete_url(dataset)).status_code == 403
    assert client.post(_delete_url(dataset), {"intent": "purge" if retired else "retire"}).status_code == 403
    dataset.refresh_from_db()
    assert dataset.lifecycle == ("retired" if retired else "active")
    assert Change.objects.filter(actor_name="carl-clerk").count() == 0


def test_an_owner_who_is_not_staff_never_reaches_the_admin(client, owner, dataset):
    client.force_login(owner)

    response = client.post(_delete_url(dataset), {"intent": "retire"})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    dataset.refresh_from_db()
    assert dataset.lifecycle == "active"


@pytest.mark.parametrize("object_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_the_delete_page_of_no_dataset_sends_back_to_the_list(staff_admin, object_id):
    url = reverse("admin:catalog_dataset_delete", args=[object_id])

    assert staff_admin.get(url).status_code == 302
    assert staff_admin.post(url, {"intent": "retire"}).status_code == 302


def test_the_bulk_delete_action_retires_through_the_service(staff_admin, dataset, version):
    other = DatasetFactory(name="street-signs-v2")
    url = reverse("admin:catalog_dataset_changelist")
    selected = {"action": "delete_selected", "_selected_action": [str(dataset.pk), str(other.pk)]}

    asked = staff_admin.post(url, selected)
    done = staff_admin.post(url, {**selected, "intent": "retire"}, follow=True)

    assert "Retire these datasets?" in asked.content.decode()
    assert "Retired " in _messages(done)
    assert set(Dataset.objects.values_list("lifecycle", flat=True)) == {"retired"}
    assert Change.objects.filter(action="retire").count() == 2
    assert DatasetVersion.objects.filter(pk=version.pk).exists()


def test_the_bulk_purge_action_purges_only_retired_datasets_the_rules_let_go(staff_admin, owner, dataset):
    held = DatasetFactory(name="held")
    OwnershipFactory(dataset=held, user=owner)
    LineageEdge.objects.create(source=held, target=DatasetFactory(name="derived"), origin="manual", created_by=owner)
    active = DatasetFactory(name="active")
    dataset_retire(actor=owner, dataset=dataset)
    dataset_retire(actor=owner, dataset=held)
    url = reverse("admin:catalog_dataset_changelist")
    selected = {"action": "purge_selected", "_selected_action": [str(dataset.pk), str(held.pk), str(active.pk)]}

    asked = staff_admin.post(url, selected)
    done = staff_admin.post(url, {**selected, "intent": "purge"}, follow=True)

    assert "team-vision/active" not in asked.content.decode()  # not retired: not offered
    assert "Purged team-vision/street-signs for good." in _messages(done)
    assert "team-vision/held cannot be purged" in _messages(done)
    assert set(Dataset.objects.values_list("name", flat=True)) == {"held", "active", "derived"}
    assert list(Change.objects.filter(action="purge").values_list("object_repr", flat=True)) == [
        "team-vision/street-signs"
    ]


def test_the_bulk_actions_are_offered_to_whoever_may_delete_only(client, dataset):
    clerk = UserFactory(username="carl-clerk", is_staff=True)
    clerk.user_permissions.add(*Permission.objects.filter(codename__in=["view_dataset", "change_dataset"]))
    client.force_login(clerk)
    url = reverse("admin:catalog_dataset_changelist")

    page = client.get(url).content.decode()
    response = client.post(
        url, {"action": "delete_selected", "_selected_action": [str(dataset.pk)], "intent": "retire"}
    )

    assert 'value="delete_selected"' not in page
    assert 'value="purge_selected"' not in page
    assert response.status_code == 302  # "No action selected": nothing done
    dataset.refresh_from_db()
    assert dataset.lifecycle == "active"


# --- Versions are never deleted ----------------------------------------------------------------------


def test_a_version_cannot_be_deleted_in_the_admin(staff_admin, version):
    url = reverse("admin:catalog_datasetversion_delete", args=[version.pk])
    changelist = reverse("admin:catalog_datasetversion_changelist")

    page = staff_admin.get(reverse("admin:catalog_datasetversion_change", args=[version.pk])).content.decode()
    bulk = staff_admin.post(
        changelist, {"action": "delete_selected", "_selected_action": [str(version.pk)], "post": "yes"}
    )

    assert staff_admin.get(url).status_code == 403
    assert staff_admin.post(url, {"post": "yes"}).status_code == 403
    assert 'class="deletelink"' not in page
    assert 'value="delete_selected"' not in staff_admin.get(changelist).content.decode()
    assert bulk.status_code == 200  # the list again: versions have no actions at all
    assert DatasetVersion.objects.filter(pk=version.pk).exists()


def test_the_dataset_page_offers_no_way_to_delete_a_version(staff_admin, dataset, version):
    page = staff_admin.get(reverse("admin:catalog_dataset_change", args=[dataset.pk])).content.decode()

    assert 'name="versions-0-DELETE"' not in page
    assert "Delete (retire)" in page


def test_a_feature_cannot_be_deleted_from_its_version_s_page(staff_admin, version):
    feature = Feature.objects.create(version=version, name="email", position=0, dtype="string")
    url = reverse("admin:catalog_datasetversion_change", args=[version.pk])
    form = {
        "notes": "",
        "features-TOTAL_FORMS": "1",
        "features-INITIAL_FORMS": "1",
        "features-MIN_NUM_FORMS": "0",
        "features-MAX_NUM_FORMS": "1000",
        "features-0-id": str(feature.pk),
        "features-0-version": str(version.pk),
        "features-0-role": "feature",
        "features-0-description": "",
        "features-0-DELETE": "on",
    }

    page = staff_admin.get(url).content.decode()
    staff_admin.post(url, form)

    assert 'name="features-0-DELETE"' not in page
    assert Feature.objects.filter(pk=feature.pk).exists()


# --- The page of a retired dataset -------------------------------------------------------------------


def test_the_page_of_a_retired_dataset_and_of_its_version_open(staff_admin, owner, dataset, version):
    dataset_retire(actor=owner, dataset=dataset)

    page = staff_admin.get(reverse("admin:catalog_dataset_change", args=[dataset.pk]))
    version_page = staff_admin.get(reverse("admin:catalog_datasetversion_change", args=[version.pk]))

    assert page.status_code == 200
    assert "Retired" in page.content.decode()
    assert "Delete for good (purge)" in page.content.decode()
    assert version_page.status_code == 200


def test_a_retired_dataset_s_description_is_changed_through_the_service(staff_admin, owner, dataset):
    from tests.governance.test_admin_governance import _dataset_form

    dataset_retire(actor=owner, dataset=dataset)
    dataset.refresh_from_db()
    form = _dataset_form(dataset, description="Kept for the record.")
    form.pop("lifecycle")  # read-only once retired

    response = staff_admin.post(reverse("admin:catalog_dataset_change", args=[dataset.pk]), form)

    assert response.status_code == 302, response.content.decode()[:2000]
    dataset.refresh_from_db()
    assert (dataset.lifecycle, dataset.description) == ("retired", "Kept for the record.")
    assert Change.objects.get(action="update", object_type="dataset").after == {"description": "Kept for the record."}


# --- Tampered forms ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changelist", "action"),
    [
        ("admin:catalog_dataset_changelist", "delete_selected"),
        ("admin:catalog_dataset_changelist", "purge_selected"),
        ("admin:catalog_dataset_changelist", "deprecate"),
        ("admin:governance_ownership_changelist", "delete_selected"),
        ("admin:governance_namespace_changelist", "delete_selected"),
        ("admin:lineage_lineageedge_changelist", "confirm"),
    ],
)
@pytest.mark.parametrize("selected", ["not-an-id", "1" * 5000, "' OR 1=1 --"])
def test_an_action_on_ids_that_are_not_ids_is_refused_with_a_message(
    staff_admin, dataset, changelist, action, selected
):
    response = staff_admin.post(
        reverse(changelist), {"action": action, "_selected_action": [selected], "intent": "retire", "post": "yes"}
    )

    assert response.status_code == 302
    assert "is not the id of a" in " ".join(
        str(message) for message in staff_admin.get(response["Location"]).context["messages"]
    )
    dataset.refresh_from_db()
    assert dataset.lifecycle == "active"
    assert not Change.objects.filter(action__in=["retire", "purge", "delete"]).exists()


def test_a_delete_confirmed_with_an_unknown_intent_asks_again(staff_admin, dataset):
    response = staff_admin.post(_delete_url(dataset), {"intent": "<script>" * 1000})

    assert response.status_code == 200
    assert "Retire this dataset?" in response.content.decode()
    assert "<script><script>" not in response.content.decode()
    dataset.refresh_from_db()
    assert dataset.lifecycle == "active"
