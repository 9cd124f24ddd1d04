"""A version is checked against the contract when it settles ready, from its stored profile."""

import pytest

from catalog.models import DatasetVersion
from contracts.signals import contract_checked
from tests.contracts.conftest import clean_penguins, drifted_penguins

pytestmark = pytest.mark.django_db


def test_it_finds_exactly_the_anomalies_of_a_drifted_version(owner_client, penguins_dataset, add_version):
    draft = owner_client.post(f"/api/v1/datasets/{penguins_dataset.pk}/contract/infer", {}, format="json").json()
    draft["enforcement"] = "block"
    assert (
        owner_client.put(f"/api/v1/datasets/{penguins_dataset.pk}/contract/", draft, format="json").status_code == 200
    )
    heard = []

    def receiver(sender, **kwargs):
        heard.append({key: value for key, value in kwargs.items() if key != "signal"})

    contract_checked.connect(receiver, dispatch_uid="test-contract-checked")
    try:
        second = add_version(penguins_dataset, drifted_penguins(), "v2")
    finally:
        contract_checked.disconnect(dispatch_uid="test-contract-checked")

    body = owner_client.get(f"/api/v1/versions/{second.pk}/").json()
    check = body["contract"]
    assert check["status"] == "failed"
    errors = sorted((item["code"], item["feature"]) for item in check["anomalies"] if item["severity"] == "error")
    assert errors == [
        ("drift", "flipper_length_mm"),
        ("missing_feature", "year"),
        ("out_of_range", "body_mass_g"),
        ("unexpected_values", "island"),
    ]
    assert [item for item in check["anomalies"] if item["severity"] != "error"] == []
    island = next(item for item in check["anomalies"] if item["code"] == "unexpected_values")
    assert island["actual"]["unexpected"] == ["Atlantis"]
    assert island["actual"]["outside_share"] == pytest.approx(10 / 344, abs=1e-6)
    assert [item["code"] for item in body["quality"]["findings"]].count("contract_failed") == 1
    assert heard == [
        {
            "version_id": second.pk,
            "dataset_id": penguins_dataset.pk,
            "status": "failed",
            "enforcement": "block",
            "contract_version": 1,
            "anomalies": check["anomalies"],
        }
    ]

    third = add_version(penguins_dataset, clean_penguins(), "v3")

    check = owner_client.get(f"/api/v1/versions/{third.pk}/").json()["contract"]
    assert check["status"] == "passed", check["anomalies"]
    assert check["anomalies"] == []
    assert DatasetVersion.objects.get(pk=second.pk).contract_check["status"] == "failed"


def test_it_leaves_a_version_of_a_dataset_without_a_contract_unchecked(penguins_dataset, add_version):
    second = add_version(penguins_dataset, clean_penguins(), "v2")
    assert second.contract_check == {"status": "none"}
    assert "contract_failed" not in [item["code"] for item in second.quality["findings"]]


def test_a_failed_check_reaches_a_webhook_with_its_anomalies(
    owner_client, penguins_dataset, add_version, staff, settings
):
    from tests.webhooks.receiver import Receiver
    from webhooks import services as webhooks

    settings.CATALOG_WEBHOOK_ALLOW_PRIVATE_URLS = True
    draft = owner_client.post(f"/api/v1/datasets/{penguins_dataset.pk}/contract/infer", {}, format="json").json()
    assert (
        owner_client.put(f"/api/v1/datasets/{penguins_dataset.pk}/contract/", draft, format="json").status_code == 200
    )

    with Receiver(secret="whsec-contract-0123456789abcdef") as receiver:
        webhooks.webhook_create(
            actor=staff, url=receiver.url, events=["contract.failed"], secret="whsec-contract-0123456789abcdef"
        )
        add_version(penguins_dataset, clean_penguins(), "v2")
        second = add_version(penguins_dataset, drifted_penguins(), "v3")
        [received] = receiver.wait_for(1, event="contract.failed")

    data = received.json["data"]
    assert data["version"]["id"] == str(second.pk)
    assert data["enforcement"] == "warn"
    assert data["anomaly_codes"] == ["drift", "missing_feature", "out_of_range", "unexpected_values"]
    assert len(receiver.received) == 1  # the clean version passed: nothing said
