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


def test_the_profiler_checks_every_value_against_the_contracts_pattern(owner_client, penguins_dataset, add_version):
    url = f"/api/v1/datasets/{penguins_dataset.pk}/contract/"
    draft = owner_client.post(url + "infer", {}, format="json").json()
    island = next(feature for feature in draft["features"] if feature["name"] == "island")
    island.update(pattern="[A-Z][a-z]+", allowed_values=None, max_outside_share=None, max_drift={})
    draft["reference_version"] = None
    for feature in draft["features"]:
        feature["max_drift"] = {}
    assert owner_client.put(url, draft, format="json").status_code == 200
    # One penguin in 344 lives on an island spelled in lower case: a row the stored sample does not hold.
    frame = clean_penguins()
    sampled = {
        str(row["values"]["island"])
        for row in DatasetVersion.objects.get(dataset=penguins_dataset, number=1).profile["sample"]["rows"]
    }
    assert "dream" not in sampled
    frame.loc[frame.index[-1], "island"] = "dream"

    second = add_version(penguins_dataset, frame, "v2")

    body = owner_client.get(f"/api/v1/versions/{second.pk}/").json()
    assert "dream" not in {row["values"]["island"] for row in second.profile["sample"]["rows"]}
    counted = next(feature for feature in body["features"] if feature["name"] == "island")["statistics"]["pattern"]
    assert counted == {"regex": "[A-Z][a-z]+", "checked": 344, "mismatched": 1, "unchecked": 0, "examples": ["dream"]}
    anomalies = body["contract"]["anomalies"]
    assert [(item["code"], item["feature"], item["severity"]) for item in anomalies] == [("pattern", "island", "error")]
    assert anomalies[0]["actual"]["scope"] == "every_value"
    assert body["contract"]["status"] == "failed"
    # A feature without a pattern is not counted.
    species = next(feature for feature in body["features"] if feature["name"] == "species")["statistics"]
    assert "pattern" not in species


def test_the_version_list_shows_each_contract_check_in_brief_in_constant_queries(
    owner_client, stranger_client, penguins_dataset, add_version
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from catalog.models import Dataset

    url = f"/api/v1/datasets/{penguins_dataset.pk}/versions/"
    draft = owner_client.post(f"/api/v1/datasets/{penguins_dataset.pk}/contract/infer", {}, format="json").json()
    assert (
        owner_client.put(f"/api/v1/datasets/{penguins_dataset.pk}/contract/", draft, format="json").status_code == 200
    )
    add_version(penguins_dataset, drifted_penguins(), "v2")
    with CaptureQueriesContext(connection) as two:
        listed = owner_client.get(url).json()["results"]
    add_version(penguins_dataset, clean_penguins(), "v3")
    add_version(penguins_dataset, drifted_penguins(), "v4")
    with CaptureQueriesContext(connection) as four:
        listed = owner_client.get(url).json()["results"]

    assert len(four.captured_queries) == len(two.captured_queries)
    summaries = {item["number"]: item["contract"] for item in listed}
    failed = DatasetVersion.objects.get(dataset=penguins_dataset, number=4).contract_check
    assert summaries[4] == {"version": 1, "status": "failed", "anomaly_count": len(failed["anomalies"])}
    assert summaries[4]["anomaly_count"] >= 4
    assert summaries[3] == {"version": 1, "status": "passed", "anomaly_count": 0}
    # Version 1 was checked when the contract was saved.
    assert summaries[1]["status"] in ("passed", "failed")
    # The detail keeps the whole check.
    assert owner_client.get(f"/api/v1/versions/{listed[0]['id']}/").json()["contract"]["anomalies"]
    # A stranger reads the list of a public dataset's versions, and nothing of a restricted one.
    assert stranger_client.get(url).status_code == 200
    Dataset.objects.filter(pk=penguins_dataset.pk).update(sensitivity="restricted")
    assert stranger_client.get(url).status_code == 404
