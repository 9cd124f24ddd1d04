"""Who answers for a dataset and who may read it, changed in the admin through the services (checked,
and in the change log); the change log read there names lineage edges by their datasets."""

import re

import pytest
from django.urls import reverse

from governance.choices import OwnershipRole
from governance.models import AccessGrant, Change, Namespace, Ownership
from lineage import services as lineage_services
from tests.factories import DatasetFactory, OwnershipFactory, UserFactory

pytestmark = pytest.mark.django_db

UUID_PAIR = re.compile(r"[0-9a-f]{8}-[0-9a-f-]{27} -&gt; [0-9a-f]{8}-")


@pytest.fixture
def staff_admin(client):
    client.force_login(UserFactory(username="ada-admin", is_staff=True, is_superuser=True))
    return client


def _messages(response) -> str:
    return " ".join(str(message) for message in response.context["messages"])


def test_an_ownership_added_in_the_admin_is_recorded(staff_admin, dataset):
    newcomer = UserFactory(username="nina-new")

    response = staff_admin.post(
        reverse("admin:governance_ownership_add"),
        {"dataset": str(dataset.pk), "user": str(newcomer.pk), "role": OwnershipRole.CUSTODIAN},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    ownership = Ownership.objects.get(dataset=dataset, user=newcomer)
    entry = Change.objects.get(object_type="ownership", action="create", object_id=str(ownership.pk))
    assert entry.actor_name == "ada-admin"
    assert entry.after == {"type": "user", "name": "nina-new", "role": "custodian"}


def test_an_ownership_is_not_edited_in_place(staff_admin, dataset, steward):
    ownership = Ownership.objects.get(dataset=dataset, user=steward)
    url = reverse("admin:governance_ownership_change", args=[ownership.pk])

    page = staff_admin.get(url).content.decode()
    staff_admin.post(url, {"dataset": str(dataset.pk), "user": str(steward.pk), "role": OwnershipRole.OWNER})

    assert 'name="role"' not in page
    ownership.refresh_from_db()
    assert ownership.role == OwnershipRole.STEWARD
    assert not Change.objects.filter(object_type="ownership").exists()


def test_an_ownership_deleted_in_the_admin_is_removed_through_the_service(staff_admin, dataset, steward):
    ownership = Ownership.objects.get(dataset=dataset, user=steward)

    response = staff_admin.post(reverse("admin:governance_ownership_delete", args=[ownership.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert not Ownership.objects.filter(pk=ownership.pk).exists()
    assert Change.objects.get(object_type="ownership", action="delete").before["name"] == "sam-steward"


def test_the_last_owner_stays_when_deleted_in_the_admin(staff_admin, dataset, owner):
    ownership = Ownership.objects.get(dataset=dataset, user=owner)

    response = staff_admin.post(
        reverse("admin:governance_ownership_delete", args=[ownership.pk]), {"post": "yes"}, follow=True
    )

    assert response.status_code == 200
    assert "last owner" in _messages(response)
    assert Ownership.objects.filter(pk=ownership.pk).exists()
    assert not Change.objects.filter(object_type="ownership").exists()


def test_a_bulk_deletion_that_would_remove_the_last_owner_removes_nothing(staff_admin, dataset):
    selected = list(Ownership.objects.filter(dataset=dataset).values_list("pk", flat=True))
    url = reverse("admin:governance_ownership_changelist")
    action = {"action": "delete_selected", "_selected_action": [str(pk) for pk in selected]}

    asked = staff_admin.post(url, action)
    response = staff_admin.post(url, {**action, "post": "yes"}, follow=True)

    assert "Are you sure" in asked.content.decode()
    assert "Nothing was deleted" in _messages(response)
    assert Ownership.objects.filter(dataset=dataset).count() == 2
    assert not Change.objects.filter(object_type="ownership").exists()


def test_a_bulk_deletion_of_ownerships_goes_through_the_service(staff_admin, dataset):
    other = UserFactory(username="oscar-other")
    extra = OwnershipFactory(dataset=dataset, user=other, role=OwnershipRole.OWNER)
    url = reverse("admin:governance_ownership_changelist")

    staff_admin.post(url, {"action": "delete_selected", "_selected_action": [str(extra.pk)], "post": "yes"})

    assert not Ownership.objects.filter(pk=extra.pk).exists()
    assert Change.objects.get(object_type="ownership", action="delete").before["name"] == "oscar-other"


def test_a_read_grant_is_added_and_withdrawn_through_the_service(staff_admin, dataset):
    reader = UserFactory(username="rita-reader")

    added = staff_admin.post(
        reverse("admin:governance_accessgrant_add"), {"dataset": str(dataset.pk), "user": str(reader.pk)}
    )
    grant = AccessGrant.objects.get(dataset=dataset, user=reader)
    removed = staff_admin.post(reverse("admin:governance_accessgrant_delete", args=[grant.pk]), {"post": "yes"})

    assert (added.status_code, removed.status_code) == (302, 302)
    assert grant.granted_by.username == "ada-admin"
    assert not AccessGrant.objects.filter(pk=grant.pk).exists()
    assert list(
        Change.objects.filter(object_type="access_grant").order_by("created_at").values_list("action", flat=True)
    ) == ["create", "delete"]


def test_namespaces_deleted_in_bulk_are_each_in_the_change_log(staff_admin):
    first, second = Namespace.objects.create(name="vision"), Namespace.objects.create(name="speech")

    staff_admin.post(
        reverse("admin:governance_namespace_changelist"),
        {"action": "delete_selected", "_selected_action": [str(first.pk), str(second.pk)], "post": "yes"},
    )

    assert not Namespace.objects.exists()
    assert set(
        Change.objects.filter(object_type="namespace", action="delete").values_list("object_repr", flat=True)
    ) == {
        "vision",
        "speech",
    }


# --- The change log names edges by their datasets ---------------------------------------------------


@pytest.fixture
def edge(owner, dataset):
    source = DatasetFactory(namespace="team-vision", name="raw-photos")
    return lineage_services.edge_declare(actor=owner, source=source, target=dataset)


def test_the_change_log_names_an_edge_by_its_datasets(staff_admin, edge):
    page = staff_admin.get(reverse("admin:governance_change_changelist")).content.decode()

    assert "team-vision/raw-photos → team-vision/street-signs" in page
    assert not UUID_PAIR.search(page)


def test_an_edge_s_entry_names_its_datasets_and_keeps_their_ids(staff_admin, edge):
    entry = Change.objects.get(object_type="edge", action="create")

    page = staff_admin.get(reverse("admin:governance_change_change", args=[entry.pk])).content.decode()

    assert page.count("team-vision/raw-photos → team-vision/street-signs") >= 3  # title, breadcrumbs, object
    assert str(edge.source_id) in page  # in the entry's own values, shown as recorded
    assert '<pre class="json">' in page


def test_an_edge_to_a_purged_dataset_is_named_as_the_purge_recorded_it(staff_admin, staff, owner, dataset, edge):
    from catalog.services import dataset_purge, dataset_retire

    lineage_services.edge_remove(actor=owner, edge=edge)
    dataset_purge(actor=staff, dataset=dataset_retire(actor=owner, dataset=dataset))

    page = staff_admin.get(reverse("admin:governance_change_changelist"), {"object_type": "edge"}).content.decode()

    assert "team-vision/raw-photos → team-vision/street-signs (purged)" in page


def test_the_dataset_page_s_change_log_names_an_edge_by_its_datasets(staff_admin, dataset, edge):
    page = staff_admin.get(reverse("admin:catalog_dataset_change", args=[dataset.pk])).content.decode()

    assert "team-vision/raw-photos → team-vision/street-signs" in page


def test_the_change_log_costs_the_same_queries_whatever_the_edges(
    staff_admin, owner, dataset, django_assert_max_num_queries
):
    for index in range(30):
        lineage_services.edge_declare(actor=owner, source=DatasetFactory(name=f"source-{index}"), target=dataset)

    with django_assert_max_num_queries(12):
        response = staff_admin.get(reverse("admin:governance_change_changelist"), {"object_type": "edge"})

    assert response.status_code == 200
    assert response.content.decode().count("→ team-vision/street-signs") == 30
