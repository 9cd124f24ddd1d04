"""Data cards over HTTP, on a dataset the real worker profiled."""

import json

import pytest
import yaml

from tests.croissant import croissant_frames, mlcroissant_validate

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_profiled_dataset_s_card_exports_as_croissant_and_markdown(api, e2e_storage_root, tmp_path, monkeypatch):
    source = e2e_storage_root / "cards" / "loans.csv"
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_text(
        "amount,term months,purpose,approved\n"
        + "".join(f"{100 + i * 3.5},{12 * (1 + i % 3)},{('car', 'home', 'study')[i % 3]},{i % 2}\n" for i in range(400))
    )
    dataset = api.register("loans", {"uri": "cards/loans.csv", "label_column": "approved"}, license="cc-by-sa-4.0")
    version = api.wait(dataset["latest_version"]["id"])
    assert version["status"] == "ready", version
    card_url = f"/api/v1/datasets/{dataset['id']}/card/"
    written = api.patch(
        card_url,
        {
            "summary": "Loan applications and their outcome.",
            "labeling": "Outcomes copied from the loan system; no human labeling.",
            "biases_and_limitations": "One branch only.",
            "task_categories": ["tabular-classification"],
        },
    )
    assert written.status_code == 200, written.text
    assert written.json()["completeness"] == round(3 / 14, 4)

    croissant = api.get(f"/api/v1/datasets/{dataset['id']}/card/croissant")
    assert croissant.status_code == 200
    path = tmp_path / "loans.json"
    path.write_text(croissant.text)
    validation = mlcroissant_validate(path)
    assert validation.returncode == 0, validation.stderr[-2000:]
    document = json.loads(croissant.text)
    (records,) = document["recordSet"]
    assert [field["name"] for field in records["field"]] == [feature["name"] for feature in version["features"]]
    # The files are fetched from the API's download endpoint, with the owner's token as the Basic password.
    token = api.headers()["Authorization"].removeprefix("Token ")
    frames = croissant_frames(document, tmp_path / "read", token=token, monkeypatch=monkeypatch)
    assert len(frames["records"]) == version["row_count"] == 400

    markdown = api.get(f"/api/v1/datasets/{dataset['id']}/card/markdown")
    assert markdown.status_code == 200
    head, body = markdown.text.removeprefix("---\n").split("\n---\n", 1)
    meta = yaml.safe_load(head)
    assert meta["license"] == "cc-by-sa-4.0"
    assert meta["task_categories"] == ["tabular-classification"]
    assert [feature["name"] for feature in meta["dataset_info"]["features"]] == [
        "amount",
        "term months",
        "purpose",
        "approved",
    ]
    assert "## Labeling\n\nOutcomes copied from the loan system; no human labeling." in body
    assert "## Bias, Risks, and Limitations\n\nOne branch only." in body
