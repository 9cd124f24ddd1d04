"""Who a dataset's credit names: its creators (owners), each once; stewards answer for it but are not
credited as its creators. The same in the audit's attribution, the card and the Croissant export."""

import pytest
from django.contrib.auth.models import Group

from governance.choices import OwnershipRole
from tests.factories import DatasetFactory, OwnershipFactory, VersionFactory

pytestmark = pytest.mark.django_db

RESEARCH = {"commercial": False, "distribute_model": False, "distribute_data": False}


@pytest.fixture
def shared(owner):
    """A CC-BY dataset its owner also stewards, with a group of owners and a group of stewards."""
    dataset = DatasetFactory(namespace="credit", name="street-scenes", license="CC-BY-4.0")
    platform = Group.objects.create(name="data-platform")
    vision = Group.objects.create(name="vision-team")
    OwnershipFactory(dataset=dataset, user=owner, role=OwnershipRole.OWNER)
    OwnershipFactory(dataset=dataset, user=owner, role=OwnershipRole.STEWARD)
    OwnershipFactory(dataset=dataset, user=None, group=vision, role=OwnershipRole.STEWARD)
    OwnershipFactory(dataset=dataset, user=None, group=platform, role=OwnershipRole.OWNER)
    OwnershipFactory(dataset=dataset, user=None, group=platform, role=OwnershipRole.CUSTODIAN)
    VersionFactory(dataset=dataset, number=1)
    return dataset


def _audit(client, dataset) -> dict:
    response = client.post("/api/v1/audits/", {"datasets": [str(dataset.pk)], "purpose": RESEARCH}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_the_audit_credits_each_owner_once_and_no_steward(owner_client, shared):
    report = _audit(owner_client, shared)

    (attribution,) = report["attributions"]
    assert attribution["credit"] == (
        '"credit/street-scenes" by olivia-owner, data-platform, licensed under CC-BY-4.0 '
        "(https://spdx.org/licenses/CC-BY-4.0.html)"
    )
    (checked,) = report["checked"]
    assert checked["owners"] == ["data-platform", "olivia-owner", "vision-team"]  # who answers, each once


def test_a_dataset_only_stewards_answer_for_is_credited_by_name_alone(owner_client, owner, steward):
    dataset = DatasetFactory(namespace="credit", name="stewarded", license="CC-BY-4.0")
    OwnershipFactory(dataset=dataset, user=steward, role=OwnershipRole.STEWARD)
    OwnershipFactory(dataset=dataset, user=owner, role=OwnershipRole.STEWARD)
    VersionFactory(dataset=dataset, number=1)

    (attribution,) = _audit(owner_client, dataset)["attributions"]

    assert attribution["credit"].startswith('"credit/stewarded", licensed under CC-BY-4.0')


def test_the_audit_markdown_repeats_no_name(owner_client, shared):
    report = _audit(owner_client, shared)

    markdown = owner_client.get(f"/api/v1/audits/{report['id']}/markdown").content.decode()

    assert "by olivia-owner, data-platform, licensed under" in markdown
    assert "olivia-owner, olivia-owner" not in markdown


def test_the_card_names_creators_first_and_everyone_once(owner_client, shared):
    markdown = owner_client.get(f"/api/v1/datasets/{shared.pk}/card/markdown").content.decode()

    assert "Created by olivia-owner, data-platform; stewarded by vision-team." in markdown


def test_the_croissant_creators_are_the_owners_once_each(owner_client, shared):
    document = owner_client.get(f"/api/v1/datasets/{shared.pk}/card/croissant").json()

    assert document["creator"] == [
        {"@type": "sc:Person", "name": "olivia-owner"},
        {"@type": "sc:Organization", "name": "data-platform"},
    ]


def test_a_stranger_reads_no_credit_of_a_restricted_dataset(stranger_client, owner_client, shared):
    shared.sensitivity = "restricted"
    shared.save(update_fields=["sensitivity"])

    response = stranger_client.post("/api/v1/audits/", {"datasets": [str(shared.pk)], "purpose": RESEARCH})
    card = stranger_client.get(f"/api/v1/datasets/{shared.pk}/card/markdown")

    assert response.status_code == 400
    assert card.status_code == 404
    assert "olivia-owner" not in response.content.decode() + card.content.decode()
