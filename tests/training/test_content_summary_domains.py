"""Item 2.3-h, the domains crawled: the host of a crawled dataset's https source, or, for one registered
from a copy of the crawl, the site its OpenLineage namespace names (`https://host`); never for a reader who
may not read the dataset."""

import pytest

from governance.choices import Origin, OwnershipRole, Sensitivity
from lineage.services import edge_declare
from tests.factories import DatasetFactory, OwnershipFactory, VersionFactory
from tests.training.recorded import record, register, write_rows

pytestmark = pytest.mark.django_db


def _domains(client, model):
    response = client.get(f"/api/v1/models/{model.pk}/training-content-summary")
    assert response.status_code == 200, response.content
    return response.json()["sections"]["2.3"]


@pytest.fixture
def trained(owner, storage_root, django_capture_on_commit_callbacks):
    """A table derived from two crawls: one registered from a local copy under the site's namespace, one
    under a namespace that names no site."""
    table = DatasetFactory(namespace="lab", name="cleaned", origin=Origin.SYNTHETIC)
    OwnershipFactory(dataset=table, user=owner, role=OwnershipRole.OWNER)
    version = register(
        django_capture_on_commit_callbacks, actor=owner, dataset=table, path=write_rows(storage_root / "t" / "a.csv")
    )
    crawls = []
    for namespace, name in (("https://news.example.org", "/dumps/2026-11.csv"), ("crawls", "forum-2026")):
        crawl = DatasetFactory(namespace=namespace, name=name, origin=Origin.WEB_CRAWLED)
        OwnershipFactory(dataset=crawl, user=owner, role=OwnershipRole.OWNER)
        VersionFactory(dataset=crawl, number=1, uri=f"file:///data/{len(crawls)}.csv", size_bytes=1_000 + len(crawls))
        edge_declare(actor=owner, source=crawl, target=table)
        crawls.append(crawl)
    return record(owner, "cleaner", version), crawls


def test_a_crawl_s_namespace_that_is_the_site_s_address_gives_its_domain(owner_client, trained):
    run, _ = trained

    crawled = _domains(owner_client, run.model)

    assert crawled["domains"]["value"] == [
        {"domain": "news.example.org", "bytes": 1_000, "datasets": ["https://news.example.org//dumps/2026-11.csv"]}
    ]
    assert sorted(entry["dataset"] for entry in crawled["datasets"]["value"]) == [
        "crawls/forum-2026",
        "https://news.example.org//dumps/2026-11.csv",
    ]


def test_a_reader_who_may_not_read_the_crawl_is_not_told_its_site(stranger_client, trained):
    run, crawls = trained
    crawls[0].sensitivity = Sensitivity.RESTRICTED
    crawls[0].save(update_fields=["sensitivity"])

    crawled = _domains(stranger_client, run.model)

    assert crawled["domains"] == {"value": None, "to_complete": True}
    assert "news.example.org" not in str(crawled)
