"""Models and training runs in the admin: browsable, read-only, inputs linked to their versions,
hyperparameters and metrics as tables, the audit verdict, and reported runs confirmed by staff."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from governance.models import Audit, Change
from tests.factories import UserFactory
from training.models import Model, TrainingRun
from training.services import training_run_record
from training.specs import InputRef, ModelRef, RunSpec

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_admin(client):
    admin = UserFactory(username="ada-admin", is_staff=True, is_superuser=True)
    client.force_login(admin)
    return client


@pytest.fixture
def run(owner, versions):
    run = training_run_record(
        actor=owner,
        spec=RunSpec(
            model=ModelRef(namespace="vision", name="sign-classifier"),
            model_version="1.3.0",
            hyperparameters={"learning_rate": 0.001, "optimizer": {"name": "adam"}},
            metrics={"accuracy": 0.93},
            inputs=(InputRef(version=versions[0].pk), InputRef(version=versions[1].pk, role="validation")),
        ),
    )
    Audit.objects.create(
        created_at=run.created_at, created_by=owner, training_run=run, purpose={}, requested=[], verdict="fail"
    )
    return run


def test_the_run_page_links_inputs_and_shows_tables_and_the_verdict(staff_admin, run, versions):
    page = staff_admin.get(reverse("admin:training_trainingrun_change", args=[run.pk])).content.decode()

    for version in versions:
        assert reverse("admin:catalog_datasetversion_change", args=[version.pk]) in page
    assert '<td><span class="wrapped">learning_rate</span></td><td><span class="wrapped">0.001</span></td>' in page
    assert "{&quot;name&quot;: &quot;adam&quot;}" in page
    assert "accuracy" in page
    assert "fail" in page
    assert reverse("admin:governance_audit_change", args=[Audit.objects.get().pk]) in page


def test_the_model_page_lists_its_runs_and_owners(staff_admin, run):
    page = staff_admin.get(reverse("admin:training_model_change", args=[run.model_id])).content.decode()

    assert reverse("admin:training_trainingrun_change", args=[run.pk]) in page
    assert "olivia-owner (owner)" in page
    assert "1.3.0" in page


def test_the_lists_answer_and_cost_the_same_whatever_the_page(staff_admin, owner, versions):
    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert staff_admin.get(url).status_code == 200
        return len(captured)

    training_run_record(actor=owner, spec=RunSpec(model=ModelRef(namespace="a", name="m0")))
    counts = {
        url: queries(url)
        for url in (reverse("admin:training_model_changelist"), reverse("admin:training_trainingrun_changelist"))
    }
    for index in range(1, 8):
        training_run_record(actor=owner, spec=RunSpec(model=ModelRef(namespace="a", name=f"m{index}")))

    assert {url: queries(url) for url in counts} == counts


def test_the_admin_changes_nothing_but_through_the_services(staff_admin, run):
    assert staff_admin.get(reverse("admin:training_model_add")).status_code == 403
    assert staff_admin.get(reverse("admin:training_trainingrun_add")).status_code == 403
    response = staff_admin.post(reverse("admin:training_trainingrun_change", args=[run.pk]), {"model_version": "9.9.9"})
    assert response.status_code == 403
    assert (
        staff_admin.post(reverse("admin:training_model_delete", args=[run.model_id]), {"post": "yes"}).status_code
        == 403
    )
    assert TrainingRun.objects.get(pk=run.pk).model_version == "1.3.0"
    assert Model.objects.filter(pk=run.model_id).exists()


def test_staff_confirm_a_reported_run(staff_admin, stranger, run):
    reported = training_run_record(
        actor=stranger, spec=RunSpec(model=ModelRef(id=run.model_id), source="openlineage", external_id="x")
    )

    staff_admin.post(
        reverse("admin:training_trainingrun_changelist"),
        {"action": "confirm", "_selected_action": [str(reported.pk)]},
    )

    assert TrainingRun.objects.get(pk=reported.pk).confirmed
    assert Change.objects.filter(object_id=str(reported.pk), after={"confirmed": True}).exists()
