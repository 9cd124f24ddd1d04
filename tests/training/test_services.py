"""The services every way in shares: recording a run from a spec, its upsert by (source, external_id),
confirmation of reported runs, and the immutability of what a run read."""

import pytest

from config import errors
from governance.models import Change, ModelOwnership
from tests.factories import VersionFactory
from training.models import TrainingRun
from training.services import training_run_confirm, training_run_record, training_run_update
from training.specs import InputRef, ModelRef, RunSpec

pytestmark = pytest.mark.django_db

FINGERPRINT = "sha256:" + "a" * 64


@pytest.fixture
def version(dataset):
    return VersionFactory(dataset=dataset, fingerprint=FINGERPRINT)


def test_it_records_a_run_and_makes_the_recorder_the_owner_of_a_new_model(owner, version):
    run = training_run_record(
        actor=owner,
        spec=RunSpec(model=ModelRef(namespace="ml", name="clf"), inputs=(InputRef(version=version.pk),)),
    )

    assert run.confirmed
    assert ModelOwnership.objects.filter(model=run.model, user=owner, role="owner").exists()
    [item] = run.inputs.all()
    assert (item.version_id, item.fingerprint, item.pinned) == (version.pk, FINGERPRINT, True)
    assert Change.objects.filter(object_type="training_run", object_id=str(run.pk)).exists()


def test_it_updates_the_run_reported_again_with_the_same_external_id(owner, version):
    spec = RunSpec(model=ModelRef(namespace="ml", name="clf"), source="openlineage", external_id="r1")
    first = training_run_record(actor=owner, spec=spec)
    again = training_run_record(
        actor=owner,
        spec=RunSpec(
            model=ModelRef(namespace="ml", name="clf"),
            source="openlineage",
            external_id="r1",
            status="completed",
            hyperparameters={"lr": 0.1},
            inputs=(InputRef(namespace=version.dataset.namespace, name=version.dataset.name),),
        ),
    )

    assert again.pk == first.pk
    assert (again.status, again.hyperparameters) == ("completed", {"lr": 0.1})
    assert [item.pinned for item in again.inputs.all()] == [False]
    assert TrainingRun.objects.count() == 1


def test_a_run_reported_by_someone_who_may_not_write_the_model_waits_for_its_owners(owner, stranger):
    first = training_run_record(actor=owner, spec=RunSpec(model=ModelRef(namespace="ml", name="clf")))
    reported = training_run_record(
        actor=stranger,
        spec=RunSpec(model=ModelRef(namespace="ml", name="clf", description="mine"), source="mlflow", external_id="x"),
    )

    assert not reported.confirmed
    assert reported.model_id == first.model_id
    assert reported.model.description == ""
    with pytest.raises(errors.Forbidden):
        training_run_record(actor=stranger, spec=RunSpec(model=ModelRef(id=first.model_id)))
    with pytest.raises(errors.Forbidden):
        training_run_confirm(actor=stranger, run=reported)
    assert training_run_confirm(actor=owner, run=reported).confirmed


def test_it_refuses_to_change_the_hyperparameters_naming_them(owner):
    run = training_run_record(actor=owner, spec=RunSpec(model=ModelRef(namespace="ml", name="clf")))

    with pytest.raises(errors.Invalid) as refused:
        training_run_update(actor=owner, run=run, hyperparameters={"lr": 1})

    assert refused.value.field == "hyperparameters"
    assert "cannot change once recorded" in str(refused.value)
