"""The sweep of checks of serving data whose message was lost (pending) or whose worker died (running):
sent again a bounded number of times, then given up on with the reason."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from contracts import pipeline
from contracts.models import ContractCheck, ContractVersion
from contracts.tasks import contract_checks_requeue_stuck, contract_checks_requeue_stuck_task
from tests.contracts.conftest import clean_penguins, write_csv

pytestmark = pytest.mark.django_db


@pytest.fixture
def contracted(owner_client, penguins_dataset):
    url = f"/api/v1/datasets/{penguins_dataset.pk}/contract/"
    draft = owner_client.post(url + "infer", {}, format="json").json()
    assert owner_client.put(url, draft, format="json").status_code == 200
    return penguins_dataset


@pytest.fixture
def lost_check(contracted, owner, storage_root):
    """A check of clean serving data, committed but never sent to a worker (its message lost)."""
    path = write_csv(clean_penguins(), storage_root / "serving" / "same.csv")

    def make(**fields) -> ContractCheck:
        check = ContractCheck.objects.create(
            dataset=contracted,
            contract=ContractVersion.objects.get(dataset=contracted),
            uri=str(path),
            format="csv",
            label_column="species",
            created_by=owner,
        )
        ContractCheck.objects.filter(pk=check.pk).update(**fields)
        check.refresh_from_db()
        return check

    return make


def long_ago(setting: timedelta) -> object:
    return timezone.now() - setting - timedelta(seconds=5)


def test_it_sends_again_a_check_whose_message_was_lost(lost_check, django_capture_on_commit_callbacks):
    lost = lost_check(created_at=long_ago(settings.CATALOG_PENDING_REQUEUE_AFTER))
    queued_lost = lost_check(queued_at=long_ago(settings.CATALOG_PENDING_REQUEUE_AFTER))
    fresh = lost_check()  # just created: its message may well be on its way

    with django_capture_on_commit_callbacks(execute=True):
        sent = contract_checks_requeue_stuck()

    assert sorted(sent) == sorted([lost.pk, queued_lost.pk])
    for check in (lost, queued_lost):
        check.refresh_from_db()
        assert (check.status, check.attempts, check.row_count) == ("passed", 1, 344)
    fresh.refresh_from_db()
    assert (fresh.status, fresh.attempts) == ("pending", 0)


def test_it_sends_again_a_check_whose_worker_died_and_not_one_still_running(
    lost_check, django_capture_on_commit_callbacks
):
    died = lost_check(status="running", attempts=1, status_changed_at=long_ago(settings.CATALOG_PROFILING_STUCK_AFTER))
    busy = lost_check(status="running", attempts=1, status_changed_at=timezone.now())

    with django_capture_on_commit_callbacks(execute=True):
        assert contract_checks_requeue_stuck() == [died.pk]

    died.refresh_from_db()
    busy.refresh_from_db()
    assert (died.status, died.attempts) == ("passed", 2)
    assert (busy.status, busy.attempts) == ("running", 1)


def test_it_gives_up_after_the_attempts_and_says_why(lost_check, django_capture_on_commit_callbacks):
    attempts = settings.CATALOG_CONTRACT_CHECK_MAX_ATTEMPTS
    exhausted = lost_check(
        status="running", attempts=attempts, status_changed_at=long_ago(settings.CATALOG_PROFILING_STUCK_AFTER)
    )
    never_ran = lost_check(attempts=attempts, queued_at=long_ago(settings.CATALOG_PENDING_REQUEUE_AFTER))

    with django_capture_on_commit_callbacks(execute=True):
        assert contract_checks_requeue_stuck_task() == 0

    for check in (exhausted, never_ran):
        check.refresh_from_db()
        assert check.status == "error"
        assert f"taken up {attempts} times without finishing" in check.error
        assert check.checked_at is not None
        assert check.attempts == attempts  # given up, not run again


def test_the_sweep_is_on_beat():
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "contracts.tasks.contract_checks_requeue_stuck" in tasks


def test_a_worker_takes_a_check_once(lost_check):
    check = lost_check()

    assert pipeline.contract_check_claim(check.pk) is not None
    # A redelivered message, or a second worker: the check is running, not theirs.
    assert pipeline.contract_check_claim(check.pk) is None
    assert pipeline.contract_check_source(check_id=check.pk) is None
    check.refresh_from_db()
    assert (check.status, check.attempts) == ("running", 1)


def test_the_check_shows_its_attempts(owner_client, lost_check, django_capture_on_commit_callbacks):
    check = lost_check(created_at=long_ago(settings.CATALOG_PENDING_REQUEUE_AFTER))
    with django_capture_on_commit_callbacks(execute=True):
        contract_checks_requeue_stuck()

    body = owner_client.get(f"/api/v1/contract-checks/{check.pk}/").json()

    assert (body["status"], body["attempts"]) == ("passed", 1)
