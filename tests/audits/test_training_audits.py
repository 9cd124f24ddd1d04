"""The pre-training audit of training runs and models: exactly the versions a run read, and their
upstream; the report names the model and the run."""

import hashlib
import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from audits.rules import Purpose
from audits.services import audit_training_run
from catalog.models import DatasetVersion
from governance.choices import OwnershipRole
from governance.licensing import license_expression_parse
from governance.models import Audit
from lineage.models import LineageEdge
from tests.factories import DatasetFactory, OwnershipFactory, VersionFactory
from tests.hostile import deep
from training.models import Model, TrainingInput, TrainingRun
from training.services.audits import training_run_audit, training_runs_audited

pytestmark = pytest.mark.django_db

COMMERCIAL = {"commercial": True, "distribute_model": False, "distribute_data": False}
RESEARCH = {"commercial": False, "distribute_model": False, "distribute_data": False}
RESTRICTED = "a restricted upstream dataset you may not read"


def fingerprint(name: str) -> str:
    return "sha256:" + hashlib.sha256(name.encode()).hexdigest()


@pytest.fixture
def make(owner):
    """A dataset with an owner and a profiled version, under a license."""

    def make(name, license="CC0-1.0", **fields):
        dataset = DatasetFactory(namespace="audit", name=name, license=license, **fields)
        OwnershipFactory(dataset=dataset, user=owner, role=OwnershipRole.OWNER)
        VersionFactory(dataset=dataset, number=1, fingerprint=fingerprint(name))
        dataset.refresh_from_db()
        return dataset

    return make


@pytest.fixture
def model(owner):
    return Model.objects.create(namespace="vision", name="classifier", created_by=owner)


def trained(
    model, versions, *, status="completed", purpose=None, model_version="1.0.0", started=None, by=None, confirmed=True
):
    """A recorded training run of the model that read these versions."""
    run = TrainingRun.objects.create(
        model=model,
        model_version=model_version,
        status=status,
        started_at=started,
        confirmed=confirmed,
        purpose=purpose,
        created_by=by or model.created_by,
    )
    TrainingInput.objects.bulk_create(
        TrainingInput(
            run=run,
            position=position,
            dataset_id=version.dataset_id,
            version=version,
            dataset_label="audit/x",
            version_number=version.number,
            uri=version.uri,
            fingerprint=version.fingerprint,
        )
        for position, version in enumerate(versions)
    )
    return run


def audit(client, body):
    response = client.post("/api/v1/audits/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_a_model_trained_on_non_commercial_data_fails_a_commercial_audit_and_is_named(owner_client, make, model):
    reviews = make("reviews", license="CC-BY-NC-4.0")
    run = trained(model, [reviews.latest_version], model_version="1.3.0")

    report = audit(owner_client, {"models": [str(model.pk)], "purpose": COMMERCIAL})

    assert report["verdict"] == "fail"
    assert ("non_commercial", "audit/reviews") in {(f["code"], f["dataset_name"]) for f in report["findings"]}
    expected = {"id": str(run.pk), "model": "vision/classifier", "model_id": str(model.pk), "model_version": "1.3.0"}
    assert report["training_runs"] == [expected]
    assert report["requested"] == [
        {"training_run": str(run.pk), "model": "vision/classifier", "model_id": str(model.pk), "model_version": "1.3.0"}
    ]
    assert owner_client.get(f"/api/v1/audits/{report['id']}/").json() == report
    markdown = owner_client.get(f"/api/v1/audits/{report['id']}/markdown").content.decode()
    assert f"- **Model**: vision/classifier 1.3.0, training run {run.pk}" in markdown
    assert "FAIL" in markdown

    research = audit(owner_client, {"training_runs": [str(run.pk)], "purpose": RESEARCH})
    assert research["verdict"] == "conditional"


def test_it_audits_exactly_the_versions_the_run_read_and_their_upstream(owner_client, make, model):
    source = make("source", license="CC-BY-NC-4.0")
    train = make("train", license="CC-BY-4.0")
    read = train.latest_version
    LineageEdge.objects.create(source=source, target=train, origin="manual", source_version=source.latest_version)
    DatasetVersion.objects.filter(pk=read.pk).update(source_changed_at=timezone.now())
    newer = VersionFactory(dataset=train, number=2, fingerprint=fingerprint("train-2"))
    run = trained(model, [read])

    report = audit(owner_client, {"training_runs": [str(run.pk)], "purpose": COMMERCIAL})

    audited = report["checked"][0]
    assert (audited["dataset"], audited["role"], audited["version"]) == (str(train.pk), "audited", str(read.pk))
    assert audited["fingerprint"] == fingerprint("train") != newer.fingerprint
    assert [(entry["name"], entry["role"]) for entry in report["checked"]] == [
        ("audit/train", "audited"),
        ("audit/source", "upstream"),
    ]
    codes = {(f["code"], f["dataset_name"]) for f in report["findings"]}
    assert {("source_changed", "audit/train"), ("non_commercial", "audit/source")} <= codes


def test_the_latest_completed_run_stands_for_the_model(owner_client, make, model):
    now = timezone.now()
    latest = trained(model, [make("latest").latest_version], started=now - timedelta(days=1), model_version="2.0.0")
    # Recorded later, but started earlier.
    old = trained(model, [make("old", license="CC-BY-NC-4.0").latest_version], started=now - timedelta(days=2))
    trained(model, [make("running", license="CC-BY-NC-4.0").latest_version], status="running", started=now)
    trained(model, [make("failed", license="CC-BY-NC-4.0").latest_version], status="failed", started=now)
    # Reported by someone else and not confirmed by the model's owners: not the model's run yet.
    trained(model, [make("reported", license="CC-BY-NC-4.0").latest_version], started=now, confirmed=False)

    report = audit(owner_client, {"models": [str(model.pk)], "purpose": COMMERCIAL})

    assert [run["id"] for run in report["training_runs"]] == [str(latest.pk)]
    assert [entry["name"] for entry in report["checked"]] == ["audit/latest"]
    assert report["verdict"] == "pass"
    assert str(old.pk) not in str(report)


def test_runs_and_datasets_are_audited_together_in_one_report(owner_client, make, model):
    other = Model.objects.create(namespace="vision", name="detector")
    first = trained(model, [make("a").latest_version])
    second = trained(other, [make("b").latest_version, make("c", license="CC-BY-NC-4.0").latest_version])
    extra = make("extra")

    report = audit(
        owner_client,
        {
            "training_runs": [str(first.pk)],
            "models": [str(other.pk)],
            "datasets": [str(extra.pk)],
            "purpose": COMMERCIAL,
        },
    )

    assert [(run["id"], run["model"]) for run in report["training_runs"]] == [
        (str(first.pk), "vision/classifier"),
        (str(second.pk), "vision/detector"),
    ]
    assert report["requested"][2] == {"dataset": str(extra.pk), "version": None}
    assert {entry["name"] for entry in report["checked"]} == {"audit/a", "audit/b", "audit/c", "audit/extra"}
    assert {entry["role"] for entry in report["checked"]} == {"audited"}
    assert report["verdict"] == "fail"
    # Of several things at once: no run's own verdict.
    assert report["training_run"] is None


def test_the_run_s_own_verdict_is_an_audit_of_it_alone_for_its_recorded_use(owner_client, stranger_client, make, model):
    run = trained(model, [make("nc", license="CC-BY-NC-4.0").latest_version], purpose=COMMERCIAL)

    own = audit(owner_client, {"training_runs": [str(run.pk)], "purpose": COMMERCIAL})
    # Another use is another question: it does not change the verdict the run shows.
    other = audit(stranger_client, {"training_runs": [str(run.pk)], "purpose": RESEARCH})

    assert own["training_run"] == str(run.pk)
    assert other["training_run"] is None
    assert other["training_runs"][0]["id"] == str(run.pk)
    assert run.audits.get().pk == Audit.objects.get(pk=own["id"]).pk


def test_a_rerun_of_a_run_audit_audits_the_same_versions(owner_client, make, model):
    data = make("data")
    run = trained(model, [data.latest_version], purpose=COMMERCIAL)
    first = audit(owner_client, {"training_runs": [str(run.pk)], "purpose": COMMERCIAL})
    VersionFactory(dataset=data, number=2, fingerprint=fingerprint("data-2"))
    type(data).objects.filter(pk=data.pk).update(license="CC-BY-NC-4.0")

    response = owner_client.post(f"/api/v1/audits/{first['id']}/rerun/")

    assert response.status_code == 201, response.content
    rerun = response.json()
    assert (first["verdict"], rerun["verdict"]) == ("pass", "fail")
    assert rerun["training_runs"] == first["training_runs"]
    assert rerun["training_run"] == str(run.pk)
    assert rerun["checked"][0]["version"] == first["checked"][0]["version"] == str(run.inputs.get().version_id)


@pytest.mark.parametrize(
    ("field", "label"),
    [("training_runs", "training run"), ("models", "model")],
)
def test_it_refuses_unknown_runs_and_models_by_name(owner_client, field, label):
    missing = "0193a2f0-0000-7000-8000-000000000001"

    response = owner_client.post("/api/v1/audits/", {field: [missing], "purpose": RESEARCH}, format="json")

    assert response.status_code == 400
    assert missing in response.json()["errors"][field][0]
    assert not Audit.objects.exists()


def test_a_model_without_a_completed_run_is_refused_by_name(owner_client, make, model):
    trained(model, [make("data").latest_version], status="running")
    empty = Model.objects.create(namespace="vision", name="empty")

    for target in (model, empty):
        response = owner_client.post(
            "/api/v1/audits/", {"models": [str(target.pk)], "purpose": RESEARCH}, format="json"
        )
        assert response.status_code == 400
        assert str(target.pk) in response.json()["errors"]["models"][0]
        assert "no completed training run" in response.json()["errors"]["models"][0]


def test_a_run_whose_inputs_all_left_the_catalog_is_refused(owner_client, model):
    run = TrainingRun.objects.create(model=model, status="completed")

    response = owner_client.post(
        "/api/v1/audits/", {"training_runs": [str(run.pk)], "purpose": RESEARCH}, format="json"
    )

    assert response.status_code == 400
    assert "nothing to audit" in response.json()["errors"]["training_runs"][0]


def test_a_dataset_the_caller_may_not_read_is_refused_as_before_alongside_a_run(stranger_client, make, model):
    secret = make("secret", sensitivity="restricted")
    run = trained(model, [make("public").latest_version])

    response = stranger_client.post(
        "/api/v1/audits/",
        {"training_runs": [str(run.pk)], "datasets": [str(secret.pk)], "purpose": RESEARCH},
        format="json",
    )

    assert response.status_code == 400
    assert str(secret.pk) in response.json()["errors"]["datasets"][0]
    assert not Audit.objects.exists()


def test_someone_else_s_run_cannot_probe_a_restricted_dataset(stranger_client, owner_client, make, model):
    secret = make("zebra-secret", license="CC-BY-NC-4.0", sensitivity="restricted", origin="web_crawled")
    public = make("public")
    run = trained(model, [secret.latest_version, public.latest_version], purpose=COMMERCIAL)

    report = audit(stranger_client, {"training_runs": [str(run.pk)], "purpose": COMMERCIAL})

    # The verdict is what the facts make it; the restricted input is shown by its placeholder alone.
    assert report["verdict"] == "fail"
    (hidden,) = [entry for entry in report["checked"] if entry["dataset"] is None]
    assert (hidden["name"], hidden["role"], hidden["restricted"]) == (RESTRICTED, "audited", True)
    assert {f["code"] for f in report["findings"] if f["dataset"] is None} == {"restricted_upstream"}
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
            "non_commercial",
        ):
            assert secret_text not in text, secret_text
    # Its owner is told what it is.
    mine = audit(owner_client, {"training_runs": [str(run.pk)], "purpose": COMMERCIAL})
    assert "audit/zebra-secret" in str(mine)
    # Each reads their own reports only.
    assert owner_client.get(f"/api/v1/audits/{report['id']}/").status_code == 404
    assert stranger_client.get(f"/api/v1/audits/{mine['id']}/").status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"purpose": RESEARCH},
        {"datasets": [], "training_runs": [], "models": [], "purpose": RESEARCH},
        {"training_runs": ["not-a-uuid"], "purpose": RESEARCH},
        {"models": ["0193a2f0-0000-7000-8000-00000000000\x00"], "purpose": RESEARCH},
        {"models": "0193a2f0-0000-7000-8000-000000000001", "purpose": RESEARCH},
        {"models": [{"id": "0193a2f0-0000-7000-8000-000000000001"}], "purpose": RESEARCH},
        {"training_runs": ["0193a2f0-0000-7000-8000-000000000001"] * 101, "purpose": RESEARCH},
        {"training_runs": ["0193a2f0-0000-7000-8000-000000000001"]},
    ],
)
def test_it_rejects_bad_requests(owner_client, body):
    response = owner_client.post("/api/v1/audits/", body, format="json")

    assert response.status_code == 400, response.content


def test_it_rejects_deep_json(owner_client):
    body = '{"models": ' + deep(5000) + ', "purpose": {}}'

    response = owner_client.post("/api/v1/audits/", body, content_type="application/json")

    assert 400 <= response.status_code < 500


@pytest.mark.parametrize("size", [2, 40])
def test_an_audit_of_a_run_costs_the_same_queries_whatever_its_inputs(
    owner, make, model, size, django_assert_num_queries
):
    datasets = [make(f"node-{index}", license="CC-BY-4.0") for index in range(size)]
    for upper, lower in itertools.pairwise(datasets[: size // 2]):
        LineageEdge.objects.create(source=upper, target=lower, origin="manual")
    run = trained(model, [dataset.latest_version for dataset in datasets], purpose=COMMERCIAL)
    facts = training_runs_audited([run.pk])[run.pk]
    license_expression_parse("CC-BY-4.0")  # the process's license table is loaded (once per change)

    # the versions the run read, with their datasets; the walk; the datasets reached; their owners;
    # which the actor may see; the versions checked; their personal-data features; their cards'
    # citations; the license table's stamp; the licenses named; savepoint, audit, subjects, release
    with django_assert_num_queries(14):
        report = audit_training_run(actor=owner, run=facts, purpose=Purpose(commercial=True))
    assert report.counts["datasets"] == size
    assert report.training_run_id == run.pk


@pytest.mark.parametrize("size", [1, 30])
def test_a_model_audit_over_http_costs_the_same_queries_whatever_its_inputs(
    owner_client, make, model, size, django_assert_num_queries
):
    trained(model, [make(f"input-{index}").latest_version for index in range(size)])
    license_expression_parse("CC0-1.0")

    # the caller's key; the models named; their latest completed runs; the runs with their models;
    # their inputs; then the audit's 14, as above
    with django_assert_num_queries(19):
        audit(owner_client, {"models": [str(model.pk)], "purpose": COMMERCIAL})


def test_a_run_recorded_with_a_purpose_is_audited_for_it_and_carries_the_verdict(owner, make, model):
    run = trained(model, [make("nc", license="CC-BY-NC-4.0").latest_version], purpose=COMMERCIAL)

    report = training_run_audit(actor=owner, run=run)

    assert report is not None
    assert (report.training_run_id, report.verdict, report.created_by) == (run.pk, "fail", owner)
    assert report.purpose == COMMERCIAL
    assert report.requested == [
        {"training_run": str(run.pk), "model": "vision/classifier", "model_id": str(model.pk), "model_version": "1.0.0"}
    ]


def test_a_run_recorded_without_a_purpose_or_inputs_is_not_audited(owner, make, model):
    assert training_run_audit(actor=owner, run=trained(model, [make("data").latest_version])) is None
    assert training_run_audit(actor=owner, run=trained(model, [], purpose=COMMERCIAL)) is None
    assert not Audit.objects.exists()


def test_the_admin_shows_the_model_and_run_of_an_audit(admin_client, owner_client, make, model):
    run = trained(model, [make("shown", license="CC-BY-NC-4.0").latest_version], purpose=COMMERCIAL)
    report = audit(owner_client, {"training_runs": [str(run.pk)], "purpose": COMMERCIAL})

    page = admin_client.get(f"/admin/governance/audit/{report['id']}/change/")

    assert page.status_code == 200
    text = page.content.decode()
    assert "vision/classifier 1.0.0, training run" in text
    assert str(run.pk) in text


@pytest.mark.parametrize("size", [1, 30])
def test_the_audit_of_a_recorded_run_costs_the_same_queries_whatever_its_inputs(
    owner, make, model, size, django_assert_num_queries
):
    run = trained(model, [make(f"input-{index}").latest_version for index in range(size)], purpose=COMMERCIAL)
    license_expression_parse("CC0-1.0")

    # the run with its model; its inputs; its savepoint; the audit's 14; the savepoint's release
    with django_assert_num_queries(18):
        assert training_run_audit(actor=owner, run=run) is not None


def test_two_versions_of_one_dataset_read_by_a_run_are_both_checked(owner_client, stranger_client, make, model):
    signs = make("signs", license="CC-BY-4.0", sensitivity="restricted")
    first = signs.latest_version
    second = VersionFactory(dataset=signs, number=2, fingerprint=fingerprint("signs-2"))
    DatasetVersion.objects.filter(pk=second.pk).update(source_changed_at=timezone.now())
    run = trained(model, [first, second])

    report = audit(owner_client, {"training_runs": [str(run.pk)], "purpose": COMMERCIAL})

    assert [(entry["name"], entry["version"], entry["fingerprint"]) for entry in report["checked"]] == [
        ("audit/signs", str(first.pk), fingerprint("signs")),
        ("audit/signs", str(second.pk), fingerprint("signs-2")),
    ]
    assert report["counts"]["datasets"] == 1
    assert [(f["code"], f["version"]) for f in report["findings"] if f["code"] == "source_changed"] == [
        ("source_changed", str(second.pk))
    ]
    # The dataset's own findings are reported once.
    assert [f["code"] for f in report["findings"]].count("attribution") == 1
    assert len(report["attributions"]) == 1

    hidden = audit(stranger_client, {"training_runs": [str(run.pk)], "purpose": COMMERCIAL})

    assert [entry["restricted"] for entry in hidden["checked"]] == [True]
    severities = [f["severity"] for f in hidden["findings"]]
    assert sorted(severities) == sorted(set(severities)) == ["obligation", "warning"]
    assert str(second.pk) not in str(hidden)
