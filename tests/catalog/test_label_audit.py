"""The pre-training audit warns when label quality estimates many rows mislabelled and most of the
flagged rows are not reviewed."""

import pytest

from tests.catalog.test_label_quality import register, write_penguins

pytestmark = pytest.mark.django_db(transaction=True)


def audit_codes(client, dataset) -> dict[str, dict]:
    response = client.post(
        "/api/v1/audits/",
        {
            "datasets": [str(dataset.pk)],
            "purpose": {"commercial": False, "distribute_model": False, "distribute_data": False},
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    return {finding["code"]: finding for finding in response.json()["findings"]}


def test_it_warns_on_a_noisy_version_nobody_reviewed(owner_client, dataset, storage_root):
    path = storage_root / "penguins" / "penguins.csv"
    write_penguins(path, flip_share=0.08)
    register(owner_client, dataset, path)

    found = audit_codes(owner_client, dataset)

    assert found["label_issues_unreviewed"]["severity"] == "warning"
    assert "mislabelled" in found["label_issues_unreviewed"]["message"]


def test_it_does_not_warn_on_a_clean_version(owner_client, dataset, storage_root):
    path = storage_root / "penguins" / "penguins.csv"
    write_penguins(path, flip_share=0)
    register(owner_client, dataset, path)

    found = audit_codes(owner_client, dataset)

    assert "label_issues_unreviewed" not in found
