"""Changes made in the admin go through the same services as the API: checked, and in the change log."""

import pytest
from django.urls import reverse

from catalog.models import Dataset
from governance.models import Change, Ownership
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_admin(client):
    client.force_login(UserFactory(username="ada-admin", is_staff=True, is_superuser=True))
    return client


def _dataset_form(dataset, **fields) -> dict:
    ownerships = list(Ownership.objects.filter(dataset=dataset).order_by("role", "created_at"))
    form = {
        "description": dataset.description,
        "license": dataset.license,
        "sensitivity": dataset.sensitivity,
        "origin": dataset.origin,
        "origin_terms": dataset.origin_terms,
        "lifecycle": dataset.lifecycle,
        "deprecation_reason": dataset.deprecation_reason,
        "ownerships-TOTAL_FORMS": str(len(ownerships)),
        "ownerships-INITIAL_FORMS": str(len(ownerships)),
        "ownerships-MIN_NUM_FORMS": "0",
        "ownerships-MAX_NUM_FORMS": "1000",
        "versions-TOTAL_FORMS": "0",
        "versions-INITIAL_FORMS": "0",
        "versions-MIN_NUM_FORMS": "0",
        "versions-MAX_NUM_FORMS": "1000",
    }
    for index, ownership in enumerate(ownerships):
        form.update(
            {
                f"ownerships-{index}-id": str(ownership.pk),
                f"ownerships-{index}-dataset": str(dataset.pk),
                f"ownerships-{index}-user": str(ownership.user_id or ""),
                f"ownerships-{index}-group": "",
                f"ownerships-{index}-role": ownership.role,
            }
        )
    form.update(fields)
    return form


def test_an_admin_edit_is_normalised_and_recorded(staff_admin, dataset):
    url = reverse("admin:catalog_dataset_change", args=[dataset.pk])

    response = staff_admin.post(url, _dataset_form(dataset, license="cc-by-4.0", description="Signs"))

    assert response.status_code == 302, response.content.decode()[:3000]
    dataset.refresh_from_db()
    assert (dataset.license, dataset.description) == ("CC-BY-4.0", "Signs")
    entry = Change.objects.get(object_type="dataset", action="update")
    assert entry.actor_name == "ada-admin"
    assert entry.after == {"description": "Signs", "license": "CC-BY-4.0"}


def test_the_admin_refuses_an_unknown_license(staff_admin, dataset):
    url = reverse("admin:catalog_dataset_change", args=[dataset.pk])

    response = staff_admin.post(url, _dataset_form(dataset, license="CC-BY-5.0"))

    assert response.status_code == 200
    assert "Unknown license id(s): CC-BY-5.0" in response.content.decode()
    dataset.refresh_from_db()
    assert dataset.license == ""


def test_an_owner_removed_in_the_admin_is_recorded_and_the_last_stays(staff_admin, dataset):
    url = reverse("admin:catalog_dataset_change", args=[dataset.pk])
    form = _dataset_form(dataset)
    steward_index = next(index for index in range(2) if form[f"ownerships-{index}-role"] == "steward")
    owner_index = 1 - steward_index
    form[f"ownerships-{steward_index}-DELETE"] = "on"
    form[f"ownerships-{owner_index}-DELETE"] = "on"

    response = staff_admin.post(url, form, follow=True)

    assert response.status_code == 200
    assert "last owner" in response.content.decode()
    assert list(Ownership.objects.filter(dataset=dataset).values_list("role", flat=True)) == ["owner"]
    assert Change.objects.filter(object_type="ownership", action="delete").count() == 1


def test_a_dataset_added_in_the_admin_is_registered(staff_admin):
    form = _dataset_form(Dataset(namespace="", name=""), namespace="admin", name="added", license="mit")
    form.update({"ownerships-TOTAL_FORMS": "0", "ownerships-INITIAL_FORMS": "0"})

    response = staff_admin.post(reverse("admin:catalog_dataset_add"), form)

    assert response.status_code == 302, response.content.decode()[:3000]
    dataset = Dataset.objects.get(namespace="admin", name="added")
    assert dataset.license == "MIT"
    assert Ownership.objects.get(dataset=dataset).user.username == "ada-admin"
    assert Change.objects.filter(object_type="dataset", object_id=str(dataset.pk), action="create").exists()


def test_the_license_pages_render(staff_admin):
    assert staff_admin.get(reverse("admin:governance_license_changelist"), {"q": "CC-BY"}).status_code == 200
    assert staff_admin.get(reverse("admin:governance_license_change", args=["CC-BY-NC-4.0"])).status_code == 200
