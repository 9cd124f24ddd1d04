"""The admin links each standards export where a steward looks for it: the dataset page to its card's
Markdown and Croissant and to its latest version's SPDX package, the version page to its SPDX package, the
model page to its training-content summary and to the SPDX document of the run that summary is of, the run
page to its SPDX document. Each link is followed and answers the export."""

import re

import pytest
from django.urls import reverse

from governance.choices import OwnershipRole
from tests.factories import DatasetFactory, OwnershipFactory, UserFactory
from tests.training.recorded import record, register, write_rows
from training.services import model_create, training_run_record
from training.specs import InputRef, ModelRef, RunSpec

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="ada-admin", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def trained(owner, storage_root, django_capture_on_commit_callbacks):
    dataset = DatasetFactory(namespace="vendor", name="prices", license="CC-BY-4.0")
    OwnershipFactory(dataset=dataset, user=owner, role=OwnershipRole.OWNER)
    version = register(
        django_capture_on_commit_callbacks, actor=owner, dataset=dataset, path=write_rows(storage_root / "p" / "a.csv")
    )
    first = record(owner, "pricer", version, model_version="1.0.0")
    # A later run still running: the summary, and the SPDX link beside it, stay on the completed one.
    training_run_record(
        actor=owner,
        spec=RunSpec(
            model=ModelRef(id=first.model.pk),
            model_version="2.0.0",
            status="running",
            inputs=(InputRef(version=version.pk),),
        ),
    )
    return dataset, version, first


def _links(page: str) -> set[str]:
    return set(re.findall(r'href="(/api/v1/[^"]+)"', page))


def _followed(admin_client, link: str, content_type: str):
    response = admin_client.get(link)
    assert response.status_code == 200, (link, response.content[:300])
    assert response["Content-Type"].startswith(content_type), link
    return response


def test_the_dataset_page_links_its_card_exports_and_its_latest_version_s_spdx(admin_client, trained):
    dataset, version, _ = trained

    page = admin_client.get(reverse("admin:catalog_dataset_change", args=[dataset.pk])).content.decode()

    links = _links(page)
    spdx = f"/api/v1/versions/{version.pk}/spdx"
    assert {
        f"/api/v1/datasets/{dataset.pk}/card/markdown",
        f"/api/v1/datasets/{dataset.pk}/card/croissant",
        spdx,
    } <= links
    assert "SPDX 3.0.1 JSON-LD (latest version)" in page
    assert _followed(admin_client, spdx, "application/spdx+json").json()["@graph"]
    assert _followed(admin_client, f"/api/v1/datasets/{dataset.pk}/card/croissant", "application/").json()["name"]


def test_the_version_page_links_its_spdx_package(admin_client, trained):
    _, version, _ = trained

    page = admin_client.get(reverse("admin:catalog_datasetversion_change", args=[version.pk])).content.decode()

    assert f"/api/v1/versions/{version.pk}/spdx" in _links(page)


def test_the_model_page_links_the_summary_and_the_spdx_of_the_run_it_is_of(admin_client, trained):
    _, _, run = trained

    page = admin_client.get(reverse("admin:training_model_change", args=[run.model.pk])).content.decode()

    summary = f"/api/v1/models/{run.model.pk}/training-content-summary"
    spdx = f"/api/v1/training-runs/{run.pk}/spdx"
    assert {f"{summary}?format=markdown", summary, spdx} <= _links(page)
    assert _followed(admin_client, f"{summary}?format=markdown", "text/markdown").content.decode().startswith("# ")
    document = _followed(admin_client, spdx, "application/spdx+json").json()
    assert any(element.get("type") == "ai_AIPackage" for element in document["@graph"])


def test_a_model_with_no_completed_run_says_so_instead_of_a_link(admin_client, owner):
    model = model_create(actor=owner, namespace="ml", name="untrained")

    page = admin_client.get(reverse("admin:training_model_change", args=[model.pk])).content.decode()

    assert "SPDX 3.0.1 JSON-LD: no completed run yet" in page
    assert not any(link.endswith("/spdx") for link in _links(page))


def test_the_run_page_links_its_spdx_document(admin_client, trained):
    _, _, run = trained

    page = admin_client.get(reverse("admin:training_trainingrun_change", args=[run.pk])).content.decode()

    assert f"/api/v1/training-runs/{run.pk}/spdx" in _links(page)


def test_a_stranger_following_an_export_link_of_a_restricted_dataset_gets_404(stranger_client, trained):
    dataset, version, _ = trained
    dataset.sensitivity = "restricted"
    dataset.save(update_fields=["sensitivity"])

    assert stranger_client.get(f"/api/v1/versions/{version.pk}/spdx").status_code == 404
    assert stranger_client.get(f"/api/v1/datasets/{dataset.pk}/card/croissant").status_code == 404
    assert stranger_client.get("/api/v1/versions/00000000-0000-4000-8000-000000000000/spdx").status_code == 404
