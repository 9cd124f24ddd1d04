"""Issue 24's "Done when", over gunicorn with real Celery workers, on a real dataset (palmerpenguins): a
contract inferred from version 1 and saved; a version 2 with a new island, a body mass out of range, the
year column gone and shifted flipper lengths gets exactly those anomalies and fails; a clean version 3
passes; a serving sample with skew is checked without becoming a version; the ODCS export round-trips,
parses with open-data-contract-standard and passes `datacontract lint`; the blocking contract's failure
makes the audit of version 2 fail. Then a pattern: the contract gives the island a regular expression, and
a version 4 whose one misspelt island is in a row the stored sample does not hold is flagged, every value
having been checked while it was profiled; the version list shows each version's check in brief."""

import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from open_data_contract_standard.model import OpenDataContractStandard

from tests.contracts.conftest import clean_penguins, drifted_penguins, skewed_serving_penguins, write_csv
from tests.realdata_sources import penguins

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

RESEARCH = {"commercial": False, "distribute_model": False, "distribute_data": False}


def _checked(caller, version_id: str, timeout: float = 60) -> dict:
    """The version once ready and checked against the contract (the check follows the version's commit)."""
    version = caller.wait(version_id)
    assert version["status"] == "ready", version
    deadline = time.monotonic() + timeout
    while version["contract"]["status"] == "none" and time.monotonic() < deadline:
        time.sleep(0.3)
        version = caller.get(f"/api/v1/versions/{version_id}/").json()
    return version


def _check_done(caller, check_id: str, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = caller.get(f"/api/v1/contract-checks/{check_id}/").json()
        if body["status"] not in ("pending", "running"):
            return body
        time.sleep(0.3)
    raise AssertionError(f"contract check {check_id} still pending or running after {timeout} s")


def test_a_contract_inferred_enforced_on_versions_and_serving_data_exported_and_audited(
    people, e2e_storage_root, tmp_path
):
    owner, other = people.owner, people.other
    folder = e2e_storage_root / f"contracts-{owner.user.username}"
    created = owner.post(
        "/api/v1/datasets/",
        {
            "namespace": "e2e-contracts",
            "name": f"penguins-{owner.user.username}",
            "license": "CC0-1.0",
            "source": {"uri": str(write_csv(penguins(), folder / "v1.csv")), "label_column": "species"},
        },
    )
    assert created.status_code == 201, created.text
    dataset = created.json()["id"]
    assert owner.wait(created.json()["latest_version"]["id"])["status"] == "ready"
    contract_url = f"/api/v1/datasets/{dataset}/contract/"

    draft = owner.post(contract_url + "infer", {})
    assert draft.status_code == 200, draft.text
    saved = owner.request("PUT", contract_url, json={**draft.json(), "enforcement": "block"})
    assert saved.status_code == 200, saved.text
    assert saved.json()["version"] == 1

    second = owner.post(
        f"/api/v1/datasets/{dataset}/versions/", {"uri": str(write_csv(drifted_penguins(), folder / "v2.csv"))}
    )
    assert second.status_code == 201, second.text
    checked = _checked(owner, second.json()["id"])
    assert checked["contract"]["status"] == "failed"
    assert sorted((item["code"], item["feature"]) for item in checked["contract"]["anomalies"]) == [
        ("drift", "flipper_length_mm"),
        ("missing_feature", "year"),
        ("out_of_range", "body_mass_g"),
        ("unexpected_values", "island"),
    ]
    assert "contract_failed" in [item["code"] for item in checked["quality"]["findings"]]

    third = owner.post(
        f"/api/v1/datasets/{dataset}/versions/", {"uri": str(write_csv(clean_penguins(), folder / "v3.csv"))}
    )
    assert third.status_code == 201, third.text
    clean = _checked(owner, third.json()["id"])
    assert (clean["contract"]["status"], clean["contract"]["anomalies"]) == ("passed", [])

    serving = write_csv(skewed_serving_penguins(), folder / "serving" / "today.csv")
    accepted = owner.post(contract_url + "validate", {"source": {"uri": str(serving)}})
    assert accepted.status_code == 202, accepted.text
    check = _check_done(owner, accepted.json()["id"])
    assert check["status"] == "failed", check
    assert [(item["code"], item["feature"]) for item in check["anomalies"]] == [("drift", "flipper_length_mm")]
    assert other.get(f"/api/v1/contract-checks/{check['id']}/").status_code == 404
    versions = owner.get(f"/api/v1/datasets/{dataset}/versions/").json()
    assert [item["number"] for item in versions["results"]] == [3, 2, 1]  # the serving data is no version

    exported = owner.get(contract_url + "odcs")
    assert exported.status_code == 200, exported.text
    document = yaml.safe_load(exported.text)
    assert OpenDataContractStandard.model_validate(document).id == dataset
    path = tmp_path / "penguins.odcs.yaml"
    path.write_text(exported.text)
    lint = subprocess.run(
        [str(Path(sys.executable).parent / "datacontract"), "lint", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    imported = owner.request(
        "PUT",
        contract_url + "odcs",
        data=exported.text.encode(),
        headers={"Content-Type": "application/yaml", "If-Match": exported.headers["ETag"]},
    )
    assert imported.status_code == 200, imported.text
    again = owner.get(contract_url).json()
    assert again["version"] == 2
    for key in ("enforcement", "reference_version", "features", "dataset"):
        assert again[key] == saved.json()[key], key

    audit = owner.post("/api/v1/audits/", {"datasets": [second.json()["id"]], "purpose": RESEARCH})
    assert audit.status_code == 201, audit.text
    assert audit.json()["verdict"] == "fail"
    assert "contract_failed" in [item["code"] for item in audit.json()["findings"] if item["severity"] == "blocker"]

    # A regular expression on the island, checked on every value while a version is profiled.
    current = owner.get(contract_url)
    document = {key: current.json()[key] for key in ("enforcement", "reference_version", "features", "dataset")}
    for feature in document["features"]:
        if feature["name"] == "island":
            feature["pattern"] = "[A-Z][a-z]+"
    patterned = owner.request("PUT", contract_url, json=document, headers={"If-Match": current.headers["ETag"]})
    assert patterned.status_code == 200, patterned.text
    misspelt = clean_penguins()
    misspelt.loc[misspelt.index[-1], "island"] = "dream"
    fourth = owner.post(f"/api/v1/datasets/{dataset}/versions/", {"uri": str(write_csv(misspelt, folder / "v4.csv"))})
    assert fourth.status_code == 201, fourth.text
    flagged = _checked(owner, fourth.json()["id"])
    sample = owner.get(f"/api/v1/versions/{fourth.json()['id']}/sample/").json()
    assert len(sample["rows"]) == 20
    assert "dream" not in {row["values"]["island"] for row in sample["rows"]}  # not in the stored sample
    assert flagged["contract"]["status"] == "failed"
    assert [(item["code"], item["feature"]) for item in flagged["contract"]["anomalies"]] == [("pattern", "island")]
    assert flagged["contract"]["anomalies"][0]["actual"] == {
        "scope": "every_value",
        "checked": 344,
        "not_matching": 1,
        "unchecked": 0,
        "examples": ["dream"],
    }
    island = next(feature for feature in flagged["features"] if feature["name"] == "island")
    assert island["statistics"]["pattern"]["mismatched"] == 1
    listed = {
        item["number"]: item["contract"]
        for item in owner.get(f"/api/v1/datasets/{dataset}/versions/").json()["results"]
    }
    assert listed[4] == {"version": 3, "status": "failed", "anomaly_count": 1}
    # Saving a contract checks the latest ready version again: version 3, profiled before the pattern,
    # on its stored sample.
    assert listed[3] == {"version": 3, "status": "passed", "anomaly_count": 0}
    assert listed[2] == {"version": 1, "status": "failed", "anomaly_count": 4}
