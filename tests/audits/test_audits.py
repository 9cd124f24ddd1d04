"""The pre-training audit: upstream lineage walked, every dataset reached checked against the use."""

import hashlib
import itertools

import pytest
from django.db import DatabaseError, connection, transaction

from audits.rules import Purpose
from audits.services import audit_run
from catalog.models import Dataset, DatasetVersion, Feature
from catalog.services import dataset_retire
from governance.choices import OwnershipRole
from governance.licensing import license_expression_parse
from governance.models import Audit, License
from lineage.models import LineageEdge
from tests.factories import DatasetFactory, OwnershipFactory, UserFactory, VersionFactory

pytestmark = pytest.mark.django_db

COMMERCIAL = {"commercial": True, "distribute_model": False, "distribute_data": False}
RESEARCH = {"commercial": False, "distribute_model": False, "distribute_data": False}
DISTRIBUTE = {"commercial": True, "distribute_model": True, "distribute_data": True}


@pytest.fixture
def make(owner):
    """A dataset with an owner and a profiled version, under a license."""

    def make(name, license="CC0-1.0", owned=True, quality=None, **fields):
        dataset = DatasetFactory(namespace="audit", name=name, license=license, **fields)
        if owned:
            OwnershipFactory(dataset=dataset, user=owner, role=OwnershipRole.OWNER)
        VersionFactory(dataset=dataset, number=1, fingerprint=fingerprint(name), quality=quality or {})
        dataset.refresh_from_db()
        return dataset

    return make


def fingerprint(name: str) -> str:
    return "sha256:" + hashlib.sha256(name.encode()).hexdigest()


def edge(source, target, **fields):
    return LineageEdge.objects.create(source=source, target=target, origin="manual", **fields)


def run(client, datasets, purpose):
    response = client.post(
        "/api/v1/audits/", {"datasets": [str(d.pk) for d in datasets], "purpose": purpose}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()


def codes(report, severity=None):
    return {(f["code"], f["dataset_name"]) for f in report["findings"] if severity in (None, f["severity"])}


def test_a_cc_by_set_built_from_a_non_commercial_source_two_hops_up(owner_client, make):
    source = make("scraped-reviews", license="CC-BY-NC-4.0")
    cleaned = make("cleaned-reviews", license="CC-BY-4.0")
    training = make("training-set", license="CC-BY-4.0")
    edge(source, cleaned)
    edge(cleaned, training)

    commercial = run(owner_client, [training], COMMERCIAL)

    assert commercial["verdict"] == "fail"
    (blocker,) = [f for f in commercial["findings"] if f["severity"] == "blocker"]
    assert blocker["code"] == "non_commercial"
    assert blocker["dataset"] == str(source.pk)
    assert [step["name"] for step in blocker["path"]] == [
        "audit/training-set",
        "audit/cleaned-reviews",
        "audit/scraped-reviews",
    ]
    assert "audit/training-set ← audit/cleaned-reviews ← audit/scraped-reviews" in blocker["message"]

    research = run(owner_client, [training], RESEARCH)

    assert research["verdict"] == "conditional"
    assert not codes(research, "blocker")
    credits = {(a["dataset_name"], a["license"]) for a in research["attributions"]}
    assert {("audit/training-set", "CC-BY-4.0"), ("audit/cleaned-reviews", "CC-BY-4.0")} <= credits
    assert all("licensed under" in a["credit"] for a in research["attributions"])
    assert [entry["depth"] for entry in research["checked"]] == [0, 1, 2]
    assert research["checked"][2]["license"] == "CC-BY-NC-4.0"
    assert research["checked"][0]["fingerprint"] == fingerprint("training-set")


@pytest.mark.parametrize(
    ("license", "purpose", "expected"),
    [
        ("CC0-1.0", COMMERCIAL, set()),
        ("PDDL-1.0", DISTRIBUTE, set()),
        ("CC-BY-4.0", COMMERCIAL, {"attribution"}),
        ("CC-BY-SA-4.0", RESEARCH, {"attribution"}),
        ("CC-BY-SA-4.0", DISTRIBUTE, {"attribution", "share_alike"}),
        ("CC-BY-NC-4.0", COMMERCIAL, {"attribution", "non_commercial"}),
        ("CC-BY-NC-4.0", RESEARCH, {"attribution"}),
        ("CC-BY-NC-SA-4.0", DISTRIBUTE, {"attribution", "non_commercial", "share_alike"}),
        ("CC-BY-ND-4.0", RESEARCH, {"attribution", "no_derivatives"}),
        ("CC-BY-NC-ND-4.0", COMMERCIAL, {"attribution", "non_commercial", "no_derivatives"}),
        ("ODC-By-1.0", COMMERCIAL, {"attribution"}),
        ("ODbL-1.0", DISTRIBUTE, {"attribution", "share_alike"}),
        ("CDLA-Permissive-2.0", DISTRIBUTE, set()),
        ("CDLA-Sharing-1.0", DISTRIBUTE, {"attribution", "share_alike"}),
        ("Apache-2.0", COMMERCIAL, {"attribution"}),
        ("MIT", COMMERCIAL, {"attribution"}),
        ("LicenseRef-BigScience-OpenRAIL-M", COMMERCIAL, {"attribution", "use_restrictions"}),
        ("LicenseRef-OpenRAIL", COMMERCIAL, {"attribution", "use_restrictions", "license_not_reviewed"}),
    ],
)
def test_each_license_class_gives_its_findings(owner_client, make, license, purpose, expected):
    report = run(owner_client, [make("data", license=license)], purpose)

    assert {code for code, _ in codes(report)} == expected
    blockers = {"non_commercial", "no_derivatives", "license_not_reviewed"} & expected
    assert report["verdict"] == ("fail" if blockers else "conditional" if expected else "pass")


def test_an_unknown_license_blocks(owner_client, make):
    report = run(owner_client, [make("anon", license="")], RESEARCH)

    assert codes(report) == {("license_unknown", "audit/anon")}
    assert report["verdict"] == "fail"


def test_web_crawled_data_without_a_license_blocks(owner_client, make):
    report = run(owner_client, [make("crawl", license="", origin="web_crawled")], RESEARCH)

    assert codes(report) == {("web_crawled_unlicensed", "audit/crawl")}


def test_a_custom_license_nobody_reviewed_blocks_and_review_clears_it(owner_client, staff_client, make):
    staff_client.post(
        "/api/v1/licenses/",
        {"spdx_id": "LicenseRef-vendor-1.0", "name": "Vendor", "commercial_use": True, "attribution": False},
        format="json",
    )
    for term in ("modification", "redistribution", "share_alike", "non_commercial", "no_derivatives"):
        License.objects.filter(spdx_id="LicenseRef-vendor-1.0").update(**{term: False})
    bought = make("bought", license="LicenseRef-vendor-1.0", origin="purchased")

    before = run(owner_client, [bought], COMMERCIAL)
    staff_client.patch("/api/v1/licenses/LicenseRef-vendor-1.0/", {"reviewed": True}, format="json")
    after = owner_client.post(f"/api/v1/audits/{before['id']}/rerun/").json()

    assert codes(before) == {("license_not_reviewed", "audit/bought")}
    assert after["verdict"] == "pass"
    assert after["comparison"]["earlier_verdict"] == "fail"
    assert after["comparison"]["findings_removed"][0]["code"] == "license_not_reviewed"


def test_a_license_whose_terms_nobody_stated_blocks(owner_client, make):
    report = run(owner_client, [make("zlib", license="Zlib")], RESEARCH)

    assert codes(report) == {("license_terms_unknown", "audit/zlib")}


def test_a_dataset_without_an_owner_blocks(owner_client, make):
    orphan = make("orphan", owned=False)
    training = make("training")
    edge(orphan, training)

    report = run(owner_client, [training], RESEARCH)

    assert codes(report) == {("no_owner", "audit/orphan")}


def test_and_means_every_term_applies(owner_client, make):
    report = run(owner_client, [make("mixed", license="CC-BY-4.0 AND CC-BY-NC-4.0")], COMMERCIAL)

    assert ("non_commercial", "audit/mixed") in codes(report, "blocker")
    assert report["checked"][0]["licenses_applied"] == ["CC-BY-4.0", "CC-BY-NC-4.0"]


def test_or_takes_the_most_permissive_alternative_for_the_use(owner_client, make):
    dual = make("dual", license="CC-BY-NC-4.0 OR CC0-1.0")

    commercial = run(owner_client, [dual], COMMERCIAL)

    assert commercial["verdict"] == "pass"
    assert commercial["checked"][0]["licenses_applied"] == ["CC0-1.0"]


def test_or_of_only_restrictive_alternatives_still_blocks(owner_client, make):
    report = run(owner_client, [make("nc", license="CC-BY-NC-4.0 OR CC-BY-NC-SA-4.0")], COMMERCIAL)

    assert report["verdict"] == "fail"


def test_a_diamond_reports_the_shared_source_once(owner_client, make):
    root = make("root", license="CC-BY-NC-4.0")
    left, right = make("left"), make("right")
    training = make("training")
    edge(root, left)
    edge(root, right)
    edge(left, training)
    edge(right, training)

    report = run(owner_client, [training], COMMERCIAL)

    blockers = [f for f in report["findings"] if f["code"] == "non_commercial"]
    assert len(blockers) == 1
    assert len(blockers[0]["path"]) == 3
    assert len(report["checked"]) == 4


def test_a_cycle_ends(owner_client, make):
    first, second, third = make("first"), make("second", license="CC-BY-ND-4.0"), make("third")
    edge(first, second)
    edge(second, third)
    edge(third, first)

    report = run(owner_client, [third], RESEARCH)

    assert {entry["name"] for entry in report["checked"]} == {"audit/first", "audit/second", "audit/third"}
    assert ("no_derivatives", "audit/second") in codes(report)


def test_a_50_deep_chain_is_walked_to_its_top(owner_client, make):
    chain = [make(f"step-{index:02d}") for index in range(51)]
    for upper, lower in itertools.pairwise(chain):
        edge(upper, lower)
    Dataset.objects.filter(pk=chain[0].pk).update(license="CC-BY-NC-ND-4.0")

    report = run(owner_client, [chain[-1]], COMMERCIAL)

    (blocker, *_) = [f for f in report["findings"] if f["code"] == "non_commercial"]
    assert len(blocker["path"]) == 51
    assert max(entry["depth"] for entry in report["checked"]) == 50


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        (lambda d: Dataset.objects.filter(pk=d.pk).update(sensitivity="restricted"), "sensitivity_restricted"),
        (lambda d: Dataset.objects.filter(pk=d.pk).update(sensitivity="confidential"), "sensitivity_confidential"),
        (lambda d: Dataset.objects.filter(pk=d.pk).update(lifecycle="deprecated"), "dataset_deprecated"),
        (
            lambda d: DatasetVersion.objects.filter(dataset=d).update(deprecated_at="2026-01-01T00:00Z"),
            "version_deprecated",
        ),
        (
            lambda d: DatasetVersion.objects.filter(dataset=d).update(source_changed_at="2026-01-01T00:00Z"),
            "source_changed",
        ),
        (lambda d: DatasetVersion.objects.filter(dataset=d).update(status="failed"), "profiling_failed"),
        (lambda d: DatasetVersion.objects.filter(dataset=d).update(status="pending"), "profiling_missing"),
        (lambda d: Dataset.objects.filter(pk=d.pk).update(latest_version=None), "profiling_missing"),
    ],
)
def test_each_warning(owner_client, make, setup, code):
    dataset = make("warned")
    setup(dataset)

    report = run(owner_client, [dataset], RESEARCH)

    assert codes(report) == {(code, "audit/warned")}
    assert report["verdict"] == "conditional"


@pytest.mark.parametrize("code", ["label_conflicts", "split_leakage", "label_leakage", "class_imbalance"])
def test_quality_findings_of_profiling_are_warnings(owner_client, make, code):
    quality = {"findings": [{"severity": "warning", "code": code, "feature": None, "message": "..."}]}

    report = run(owner_client, [make("noisy", quality=quality)], RESEARCH)

    assert codes(report) == {(code, "audit/noisy")}


def test_personal_data_confirmed_by_a_person_is_a_warning(owner_client, make):
    dataset = make("people")
    version = dataset.latest_version
    Feature.objects.create(version=version, name="email", position=0, dtype="string", pii=True, curated=["pii"])
    Feature.objects.create(version=version, name="phone", position=1, dtype="string", pii=True)

    report = run(owner_client, [dataset], RESEARCH)

    (finding,) = report["findings"]
    assert (finding["code"], finding["features"]) == ("personal_data", ["email"])


def test_an_audit_of_a_version_checks_that_version_and_the_versions_it_was_made_from(owner_client, make):
    source = make("source")
    old_source = source.latest_version
    new_source = VersionFactory(dataset=source, number=2, fingerprint=fingerprint("source-2"))
    training = make("training")
    version_one = training.latest_version
    VersionFactory(dataset=training, number=2, fingerprint=fingerprint("training-2"))
    edge(source, training, source_version=old_source, target_version=version_one)
    DatasetVersion.objects.filter(pk=old_source.pk).update(source_changed_at="2026-01-01T00:00Z")

    report = run_ids = owner_client.post(
        "/api/v1/audits/", {"datasets": [str(version_one.pk)], "purpose": RESEARCH}, format="json"
    ).json()

    checked = {entry["name"]: entry for entry in run_ids["checked"]}
    assert checked["audit/training"]["version"] == str(version_one.pk)
    assert checked["audit/source"]["version"] == str(old_source.pk)
    assert codes(report) == {("source_changed", "audit/source")}
    latest = run(owner_client, [training], RESEARCH)
    assert {entry["name"]: entry["version"] for entry in latest["checked"]}["audit/source"] == str(new_source.pk)


def test_a_rerun_after_a_license_changes_gives_the_new_verdict_and_keeps_the_old_report(owner_client, make):
    source = make("source", license="CC-BY-4.0")
    training = make("training")
    edge(source, training)
    first = run(owner_client, [training], COMMERCIAL)
    owner_client.patch(f"/api/v1/datasets/{source.pk}/", {"license": "CC-BY-NC-4.0"}, format="json")

    second = owner_client.post(f"/api/v1/audits/{first['id']}/rerun/").json()

    assert (first["verdict"], second["verdict"]) == ("conditional", "fail")
    assert second["rerun_of"] == first["id"]
    assert {"code": "non_commercial", "dataset": str(source.pk), "license": "CC-BY-NC-4.0"} in second["comparison"][
        "findings_added"
    ]
    assert owner_client.get(f"/api/v1/audits/{first['id']}/").json() == first
    assert first["checked"][1]["license"] == "CC-BY-4.0"


@pytest.mark.parametrize("size", [2, 40])
def test_an_audit_costs_the_same_queries_whatever_the_graph(owner, make, size, django_assert_num_queries):
    datasets = [make(f"node-{index}", license="CC-BY-4.0") for index in range(size)]
    for upper, lower in itertools.pairwise(datasets):
        edge(upper, lower)
    for index in range(0, size - 2, 3):
        edge(datasets[index], datasets[index + 2])  # diamonds

    license_expression_parse("CC-BY-4.0")  # the process's license table is loaded (once per change)

    # the audited datasets (all ids name datasets: no version lookup); the walk; the datasets reached;
    # their owners; which the actor may see; the versions checked; their personal-data features;
    # their cards' citations; the license table's stamp; the licenses named; savepoint, audit,
    # subjects, release
    with django_assert_num_queries(14):
        audit = audit_run(actor=owner, datasets=[datasets[-1].pk], purpose=Purpose(commercial=True))
    assert audit.counts["datasets"] == size


def test_it_refuses_datasets_the_caller_cannot_read(stranger_client, make):
    secret = make("secret", sensitivity="restricted")

    response = stranger_client.post(
        "/api/v1/audits/", {"datasets": [str(secret.pk)], "purpose": RESEARCH}, format="json"
    )

    assert response.status_code == 400
    assert str(secret.pk) in response.json()["errors"]["datasets"][0]
    assert not Audit.objects.exists()


@pytest.fixture
def secret_upstream(make):
    """A restricted dataset, non-commercial, with a confirmed personal-data feature, two owners and a
    web-crawled origin, from which a public dataset was made."""
    secret = make("zebra-secret", sensitivity="restricted", license="CC-BY-NC-4.0", origin="web_crawled")
    OwnershipFactory(dataset=secret, user=UserFactory(username="second-owner"), role=OwnershipRole.OWNER)
    Feature.objects.create(
        version=secret.latest_version, name="zebra_email", position=0, dtype="string", pii=True, curated=["pii"]
    )
    public = make("public")
    edge(secret, public, source_version=secret.latest_version)
    return secret, public


def test_it_reports_a_restricted_upstream_dataset_by_a_placeholder_with_the_severity_of_its_findings(
    stranger_client, secret_upstream
):
    secret, public = secret_upstream

    report = run(stranger_client, [public], COMMERCIAL)

    # The verdict is what the facts make it: the non-commercial license stays a blocker.
    assert report["verdict"] == "fail"
    hidden = [f for f in report["findings"] if f["dataset"] is None]
    assert {(f["code"], f["severity"]) for f in hidden} == {
        ("restricted_upstream", "blocker"),
        ("restricted_upstream", "obligation"),
        ("restricted_upstream", "warning"),
    }
    (attribution,) = report["attributions"]
    assert (attribution["dataset"], attribution["license"]) == (None, None)
    assert all(f["dataset_name"] == "a restricted upstream dataset you may not read" for f in hidden)
    assert [step["dataset"] for step in hidden[0]["path"]] == [str(public.pk), None]
    (checked,) = [entry for entry in report["checked"] if entry["dataset"] is None]
    assert checked["restricted"] is True
    assert (checked["license"], checked["fingerprint"], checked["origin"], checked["owners"]) == ("", "", "", [])
    markdown = stranger_client.get(f"/api/v1/audits/{report['id']}/markdown").content.decode()
    for text in (str(report), markdown):
        for secret_text in (
            str(secret.pk),
            secret.pk.hex,
            str(secret.latest_version.pk),
            "zebra",
            "CC-BY-NC",
            fingerprint("zebra-secret"),
            "web_crawled",
            "second-owner",
            "non_commercial",
            "personal_data",
        ):
            assert secret_text not in text, secret_text
    assert "(not shown)" not in str(report)


def test_it_names_the_restricted_upstream_dataset_to_its_owner(owner_client, secret_upstream):
    _secret, public = secret_upstream

    report = run(owner_client, [public], COMMERCIAL)

    assert ("non_commercial", "audit/zebra-secret") in codes(report)
    assert ("personal_data", "audit/zebra-secret") in codes(report)


def test_it_compares_a_rerun_with_a_restricted_upstream_dataset_by_severity(stranger_client, secret_upstream):
    secret, public = secret_upstream
    report = run(stranger_client, [public], COMMERCIAL)
    Dataset.objects.filter(pk=secret.pk).update(license="CC0-1.0")

    rerun = stranger_client.post(f"/api/v1/audits/{report['id']}/rerun/")

    assert rerun.status_code == 201, rerun.content
    assert rerun.json()["verdict"] != "fail"
    # CC0 owes no credit either: both placeholders went away, told apart by their severity.
    assert rerun.json()["comparison"]["findings_removed"] == [
        {"code": "restricted_upstream", "dataset": None, "license": None, "severity": "blocker"},
        {"code": "restricted_upstream", "dataset": None, "license": None, "severity": "obligation"},
    ]
    assert str(secret.pk) not in str(rerun.json())


@pytest.mark.parametrize(
    "body",
    [
        {"datasets": [], "purpose": RESEARCH},
        {"datasets": ["not-a-uuid"], "purpose": RESEARCH},
        {"datasets": ["0193a2f0-0000-7000-8000-000000000001"], "purpose": {"military": True}},
        {"purpose": RESEARCH},
    ],
)
def test_it_rejects_bad_requests(owner_client, body):
    assert owner_client.post("/api/v1/audits/", body, format="json").status_code == 400


def test_audits_are_listed_to_who_ran_them_and_staff(owner_client, stranger_client, staff_client, make):
    report = run(owner_client, [make("listed")], RESEARCH)

    assert [entry["id"] for entry in owner_client.get("/api/v1/audits/").json()["results"]] == [report["id"]]
    assert stranger_client.get("/api/v1/audits/").json()["results"] == []
    assert stranger_client.get(f"/api/v1/audits/{report['id']}/").status_code == 404
    assert staff_client.get(f"/api/v1/audits/{report['id']}/").status_code == 200


def test_the_markdown_report_reads_on_its_own(owner_client, make):
    source = make("source", license="CC-BY-NC-4.0")
    training = make("training", license="CC-BY-4.0")
    edge(source, training)
    report = run(owner_client, [training], COMMERCIAL)

    response = owner_client.get(f"/api/v1/audits/{report['id']}/markdown")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/markdown")
    text = response.content.decode()
    assert "FAIL" in text
    assert "Lineage: audit/training ← audit/source" in text
    assert "## Attributions owed" in text
    assert f"| audit/source | upstream | 1 | 1 | {fingerprint('source')} | CC-BY-NC-4.0 |" in text


def test_a_report_cannot_be_altered(owner_client, make):
    report = run(owner_client, [make("kept")], RESEARCH)
    audit = Audit.objects.get(pk=report["id"])

    for method in ("put", "patch", "delete"):
        assert getattr(owner_client, method)(f"/api/v1/audits/{audit.pk}/", {}, format="json").status_code == 405
    with pytest.raises(PermissionError):
        audit.save()
    with pytest.raises(PermissionError):
        Audit.objects.filter(pk=audit.pk).update(verdict="pass")
    if connection.vendor == "postgresql":
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE governance_audit SET verdict = 'pass' WHERE id = %s", [audit.pk])


def test_an_audited_dataset_cannot_be_purged(staff_client, owner, make):
    audited = make("audited")
    run(staff_client, [audited], RESEARCH)
    dataset_retire(actor=owner, dataset=audited)

    response = staff_client.post(f"/api/v1/datasets/{audited.pk}/purge/")

    assert response.status_code == 409
    assert "audit" in response.json()["detail"]


def test_the_admin_shows_a_report_read_only(admin_client, owner_client, make):
    report = run(owner_client, [make("shown", license="CC-BY-NC-4.0")], COMMERCIAL)

    listing = admin_client.get("/admin/governance/audit/")
    page = admin_client.get(f"/admin/governance/audit/{report['id']}/change/")

    assert listing.status_code == 200
    assert page.status_code == 200
    text = page.content.decode()
    assert "FAIL" in text
    assert "non_commercial" in text
    assert 'name="_save"' not in text


def test_lineage_beyond_the_depth_limit_blocks(owner_client, make, settings):
    settings.CATALOG_LINEAGE_MAX_DEPTH = 2
    chain = [make(f"hop-{index}") for index in range(4)]
    for upper, lower in itertools.pairwise(chain):
        edge(upper, lower)

    report = run(owner_client, [chain[-1]], RESEARCH)

    assert codes(report) == {("lineage_incomplete", "audit/hop-1")}
    assert "audit/hop-0" not in {entry["name"] for entry in report["checked"]}


def test_unconfirmed_lineage_at_the_depth_limit_adds_no_finding(owner_client, make, settings):
    settings.CATALOG_LINEAGE_MAX_DEPTH = 2
    chain = [make(f"hop-{index}") for index in range(4)]
    edge(chain[0], chain[1], status="unconfirmed")
    edge(chain[1], chain[2])
    edge(chain[2], chain[3])

    report = run(owner_client, [chain[-1]], RESEARCH)

    assert codes(report) == set()


def test_the_credit_owed_is_the_card_s_citation_when_it_has_one(owner_client, make):
    cited = make("cited", license="CC-BY-4.0")
    owner_client.patch(f"/api/v1/datasets/{cited.pk}/card/", {"citation": "Ada Lovelace (2026). Cited data."})

    (attribution,) = run(owner_client, [cited], RESEARCH)["attributions"]

    assert attribution["credit"].startswith("Ada Lovelace (2026). Cited data, licensed under CC-BY-4.0")


def test_use_restrictions_of_a_restricted_upstream_dataset_are_owed_without_naming_its_license(stranger_client, make):
    secret = make("zebra-rail", sensitivity="restricted", license="LicenseRef-BigScience-OpenRAIL-M")
    public = make("public")
    edge(secret, public)

    report = run(stranger_client, [public], COMMERCIAL)
    markdown = stranger_client.get(f"/api/v1/audits/{report['id']}/markdown").content.decode()

    assert report["obligations"] == [{"code": "use_restrictions", "dataset": None, "license": None, "restricted": True}]
    assert "Under the license of a restricted upstream dataset you may not read: ask its owners." in markdown
    for text in (str(report), markdown):
        assert "OpenRAIL" not in text
        assert "zebra" not in text
        assert str(secret.pk) not in text
