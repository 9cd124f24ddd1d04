"""The admin's dataset page shows the last check against the contract and links to the contract's versions."""

import pytest

from tests.contracts.conftest import drifted_penguins
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_dataset_page_shows_the_contract_and_its_last_result(client, owner_client, penguins_dataset, add_version):
    url = f"/api/v1/datasets/{penguins_dataset.pk}/contract/"
    draft = owner_client.post(url + "infer", {}, format="json").json()
    owner_client.put(url, {**draft, "enforcement": "block"}, format="json")
    add_version(penguins_dataset, drifted_penguins(), "v2")
    client.force_login(UserFactory(username="ada-admin", is_staff=True, is_superuser=True))

    page = client.get(f"/admin/catalog/dataset/{penguins_dataset.pk}/change/").content.decode()

    assert "Contract v1 (block, drift against version 1): <strong>failed</strong>" in page
    for code in ("missing_feature", "out_of_range", "unexpected_values", "drift"):
        assert f"error · {code}" in page
    link = f"/admin/contracts/contractversion/?dataset__id__exact={penguins_dataset.pk}"
    assert link in page
    listing = client.get(link)
    assert listing.status_code == 200
    assert "zoo/penguins" in listing.content.decode()


def test_a_dataset_without_a_contract_says_so(client, penguins_dataset):
    client.force_login(UserFactory(username="ada-admin", is_staff=True, is_superuser=True))

    page = client.get(f"/admin/catalog/dataset/{penguins_dataset.pk}/change/").content.decode()

    assert "Not checked against a contract" in page


def test_the_contract_pages_are_read_only(client, owner_client, penguins_dataset):
    owner_client.put(f"/api/v1/datasets/{penguins_dataset.pk}/contract/", {"enforcement": "warn"}, format="json")
    client.force_login(UserFactory(username="ada-admin", is_staff=True, is_superuser=True))
    from contracts.models import ContractVersion

    contract = ContractVersion.objects.get()
    page = client.get(f"/admin/contracts/contractversion/{contract.pk}/change/")
    assert page.status_code == 200
    assert "&quot;enforcement&quot;: &quot;warn&quot;" in page.content.decode()
    assert client.get("/admin/contracts/contractversion/add/").status_code == 403
    assert client.post(f"/admin/contracts/contractversion/{contract.pk}/delete/", {"post": "yes"}).status_code == 403
    assert ContractVersion.objects.count() == 1
