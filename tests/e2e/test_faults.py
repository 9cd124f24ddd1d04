"""Faults, with real processes: a broker that goes away or stops answering, a database restarted under
the service, and writers racing on one dataset. The service is gunicorn, as in production; the
broker and the restarted database are instances of their own, so that taking them down disturbs no
other test. (A worker killed mid-profile is in test_profiling.py.)"""

import itertools
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
import requests
from django.db import connection

from catalog.models import DatasetVersion
from governance.choices import ChangeAction, ObjectType
from governance.models import Change
from tests.e2e.conftest import ARTIFACTS, E2E_LIMITS
from tests.e2e.processes import Postgres, Redis, Service, beat, e2e_database_url, manage, worker
from tests.factories import UserFactory, token_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def real_services(django_db_setup) -> None:
    if connection.vendor != "postgresql" or not os.environ.get("CELERY_BROKER_URL"):
        pytest.skip("the fault tests need PostgreSQL and a broker: set DATABASE_URL and CELERY_BROKER_URL")
    ARTIFACTS.mkdir(exist_ok=True)


@pytest.fixture(scope="module")
def broker(real_services) -> Iterator[Redis]:
    redis = Redis(ARTIFACTS / "faults-redis.log")
    redis.start()
    yield redis
    redis.stop()


@pytest.fixture(scope="module")
def stack_env(broker, e2e_storage_root) -> dict[str, str]:
    """The environment of the service and its workers: the test database, the broker of this module."""
    env = {key: value for key, value in os.environ.items() if key != "CELERY_RESULT_BACKEND"}
    return {
        **env,
        **E2E_LIMITS,
        "DATABASE_URL": e2e_database_url(),
        "CELERY_BROKER_URL": broker.url(),
        "CATALOG_STORAGE_ROOTS": str(e2e_storage_root),
        # The sweeper runs every second: a version the broker never got waits seconds, not minutes.
        "CATALOG_REQUEUE_INTERVAL": "1",
    }


@pytest.fixture(scope="module")
def service(stack_env) -> Iterator[Service]:
    server = Service(stack_env, ARTIFACTS / "faults-gunicorn.log", workers=3)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def consumers(stack_env, tmp_path_factory) -> Iterator[None]:
    """A worker and beat on this module's broker."""
    processes = [
        worker(stack_env, ARTIFACTS / "faults-worker.log", f"faults-{uuid.uuid4().hex[:8]}"),
        beat(stack_env, ARTIFACTS / "faults-beat.log", tmp_path_factory.mktemp("beat") / "schedule"),
    ]
    for process in processes:
        process.start()
    yield
    for process in processes:
        process.stop()


@pytest.fixture
def headers() -> dict[str, str]:
    token = token_for(UserFactory(username=f"faults-{uuid.uuid4().hex[:6]}"))
    return {"Authorization": f"Token {token}"}


@pytest.fixture
def staff_headers() -> dict[str, str]:
    """/readyz tells what failed only to staff."""
    token = token_for(UserFactory(username=f"faults-staff-{uuid.uuid4().hex[:6]}", is_staff=True))
    return {"Authorization": f"Token {token}"}


def register(service: Service, headers: dict[str, str], name: str, **body) -> tuple[requests.Response, float]:
    started = time.monotonic()
    response = requests.post(
        f"{service.url}/api/v1/datasets/",
        json={"namespace": "faults", "name": name, **body},
        headers=headers,
        timeout=60,
    )
    return response, time.monotonic() - started


def readyz(url: str, headers: dict[str, str] | None = None) -> tuple[requests.Response, float]:
    started = time.monotonic()
    response = requests.get(f"{url}/readyz", headers=headers, timeout=60)
    return response, time.monotonic() - started


def wait_until_profiled(service: Service, headers: dict[str, str], version_ids: list[str], timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    versions: dict[str, dict] = {}
    while time.monotonic() < deadline:
        for version_id in version_ids:
            if version_id not in versions:
                body = requests.get(f"{service.url}/api/v1/versions/{version_id}/", headers=headers, timeout=10).json()
                if body["status"] in ("ready", "failed"):
                    versions[version_id] = body
        if len(versions) == len(version_ids):
            return versions
        time.sleep(0.3)
    waiting = {
        str(version.pk): version.status
        for version in DatasetVersion.objects.filter(pk__in=set(version_ids) - set(versions))
    }
    raise AssertionError(f"not profiled after {timeout:.0f} s: {waiting}")


# --- The broker ---------------------------------------------------------------------------------------


def test_registrations_while_the_broker_is_down_answer_at_once_and_are_profiled_when_it_is_back(
    service, consumers, broker, headers, staff_headers, e2e_storage_root
):
    """With the broker stopped, /readyz says so at once and registrations still answer 201 at once,
    pending; once a broker is back (an empty one: nothing queued survived), the sweeper that beat runs
    queues them again and each is profiled, once."""
    (e2e_storage_root / "outage.csv").write_text("reading,label\n1.5,ok\n2.5,fault\n3.5,ok\n")
    before, _ = register(service, headers, "before-outage", source={"uri": "outage.csv"})
    assert before.status_code == 201, before.text
    wait_until_profiled(service, headers, [before.json()["latest_version"]["id"]], timeout=30)

    broker.stop()
    down, down_took = readyz(service.url, staff_headers)
    answers = [register(service, headers, f"during-outage-{index}", source={"uri": "outage.csv"}) for index in range(5)]
    broker.start()  # empty: whatever was queued before is gone too

    assert down.status_code == 503
    assert down.json()["checks"]["database"] == "ok"
    assert down.json()["checks"]["broker"].startswith("broker unreachable")
    assert down_took < 3
    for response, took in answers:
        assert response.status_code == 201, response.text
        assert response.json()["latest_version"]["status"] == "pending"
        assert took < 3, f"a registration took {took:.1f} s while the broker was down"
    version_ids = [response.json()["latest_version"]["id"] for response, _ in answers]
    profiled = wait_until_profiled(service, headers, version_ids, timeout=60)
    assert {version["status"] for version in profiled.values()} == {"ready"}
    assert {version["row_count"] for version in profiled.values()} == {3}
    # Re-queued every second until a worker took it, each version was still profiled once.
    assert set(DatasetVersion.objects.filter(pk__in=version_ids).values_list("profile_attempts", flat=True)) == {1}
    assert readyz(service.url)[0].status_code == 200


def test_a_broker_that_stops_answering_holds_neither_registrations_nor_readyz(
    service, consumers, broker, headers, staff_headers, e2e_storage_root
):
    """A broker that keeps its connections open but answers nothing (hung, or cut off by the network)
    costs /readyz and a registration a few seconds of socket timeout, not the request; its versions are
    profiled, once, when it answers again."""
    (e2e_storage_root / "frozen.csv").write_text("reading,label\n1.5,ok\n2.5,fault\n")
    assert readyz(service.url)[0].status_code == 200  # the service's connections to the broker are open

    broker.freeze()
    try:
        down, down_took = readyz(service.url, staff_headers)
        answers = [register(service, headers, f"frozen-{index}", source={"uri": "frozen.csv"}) for index in range(2)]
    finally:
        broker.thaw()

    assert down.status_code == 503
    assert down.json()["checks"]["broker"].startswith("broker unreachable")
    assert down_took < 6, f"/readyz took {down_took:.1f} s on a broker that does not answer"
    for response, took in answers:
        assert response.status_code == 201, response.text
        assert took < 10, f"a registration took {took:.1f} s on a broker that does not answer"
    version_ids = [response.json()["latest_version"]["id"] for response, _ in answers]
    profiled = wait_until_profiled(service, headers, version_ids, timeout=60)
    assert {version["status"] for version in profiled.values()} == {"ready"}
    assert set(DatasetVersion.objects.filter(pk__in=version_ids).values_list("profile_attempts", flat=True)) == {1}


# --- Concurrent writers -------------------------------------------------------------------------------

LICENSES = ["MIT", "Apache-2.0", "CC-BY-4.0", "CC0-1.0", "CC-BY-SA-4.0"]
SENSITIVITIES = ["public", "internal", "confidential"]
ORIGINS = ["internal", "crowdsourced", "synthetic", "purchased"]


def _writes(rounds: int) -> dict[str, list[dict]]:
    """Per writer, the changes it sends in turn; each one changes the fields it writes."""
    return {
        "description": [{"description": f"description {i}"} for i in range(rounds)],
        "origin_terms": [{"origin_terms": f"terms {i}"} for i in range(rounds)],
        "license": [{"license": LICENSES[i % len(LICENSES)]} for i in range(rounds)],
        "sensitivity": [{"sensitivity": SENSITIVITIES[i % len(SENSITIVITIES)]} for i in range(rounds)],
        "origin": [{"origin": ORIGINS[i % len(ORIGINS)]} for i in range(rounds)],
        "tags": [{"tags": [f"round-{i}", f"set-{i % 3}"]} for i in range(rounds)],
        "lifecycle": [
            {"lifecycle": "deprecated", "deprecation_reason": f"reason {i}"} if i % 2 == 0 else {"lifecycle": "active"}
            for i in range(rounds)
        ],
    }


def _as_stored(change: dict) -> dict:
    """The fields a change leaves on the dataset (reactivating one clears its deprecation reason)."""
    if change.get("lifecycle") == "active":
        return {"lifecycle": "active", "deprecation_reason": ""}
    if "tags" in change:
        return {"tags": sorted(change["tags"])}
    return change


def _run_together(count: int, target: Callable[[int], None]) -> list[BaseException]:
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            target(index)
        except BaseException as exc:  # re-raised by the test, in its own thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def test_concurrent_changes_of_different_fields_of_one_dataset_are_all_kept(service, headers):
    """Seven writers PATCH one dataset at once, each its own field (tags among them), without If-Match,
    through several gunicorn workers: every write is acknowledged and none is lost."""
    created, _ = register(service, headers, "contended", description="first", tags=["start"])
    assert created.status_code == 201, created.text
    dataset = created.json()
    url = f"{service.url}/api/v1/datasets/{dataset['id']}/"
    writes = _writes(rounds=12)
    writers = list(writes)
    statuses: dict[str, list[int]] = {writer: [] for writer in writers}
    start = threading.Barrier(len(writers), timeout=30)

    def write(index: int) -> None:
        writer = writers[index]
        session = requests.Session()
        start.wait()
        for change in writes[writer]:
            response = session.patch(url, json=change, headers=headers, timeout=30)
            statuses[writer].append(response.status_code)

    errors = _run_together(len(writers), write)
    final = requests.get(url, headers=headers, timeout=10).json()

    assert not errors, errors
    assert statuses == {writer: [200] * len(writes[writer]) for writer in writers}
    for writer in writers:  # each writer's last change is there: no one overwrote it with an older read
        for field, value in _as_stored(writes[writer][-1]).items():
            assert final[field] == value, (field, final[field], value)
    # The change log holds every write, in each writer's order, each one recorded against the value the
    # write before it left: every write saw the dataset as the last one committed it.
    changes = list(
        Change.objects.filter(object_type=ObjectType.DATASET, object_id=dataset["id"], action=ChangeAction.UPDATE)
        .order_by("created_at", "id")
        .values("before", "after")
    )
    assert len(changes) == sum(len(sent) for sent in writes.values())
    for writer in writers:
        fields = list(_as_stored(writes[writer][0]))
        recorded = [change for change in changes if fields[0] in change["after"]]
        assert [{field: change["after"][field] for field in fields} for change in recorded] == [
            {field: _as_stored(write)[field] for field in fields} for write in writes[writer]
        ], writer
        for previous, change in itertools.pairwise(recorded):
            assert {field: change["before"][field] for field in fields} == {
                field: previous["after"][field] for field in fields
            }, writer


def test_concurrent_conditional_changes_apply_to_the_latest_state_or_are_refused(service, headers):
    """Writers that read, change and write back the tags with If-Match never overwrite each other: a
    write from a stale read is refused with 412, and every acknowledged tag is in the final state."""
    created, _ = register(service, headers, "contended-if-match")
    assert created.status_code == 201, created.text
    url = f"{service.url}/api/v1/datasets/{created.json()['id']}/"
    writers, tags_each = 6, 3
    first_round: dict[int, int] = {}
    statuses: list[int] = []
    acknowledged: list[str] = []
    start = threading.Barrier(writers, timeout=30)

    def write(index: int) -> None:
        """Add this writer's tags one at a time: read, add, send with If-Match; when refused, again."""
        session = requests.Session()
        for number in range(tags_each):
            mine = f"writer-{index}-{number}"
            while True:
                read = session.get(url, headers=headers, timeout=30)
                if index not in first_round:
                    start.wait()  # every writer holds the same ETag, and sends its change at once
                response = session.patch(
                    url,
                    json={"tags": [*read.json()["tags"], mine]},
                    headers={**headers, "If-Match": read.headers["ETag"]},
                    timeout=30,
                )
                first_round.setdefault(index, response.status_code)
                statuses.append(response.status_code)
                if response.status_code != 412:
                    break
            if response.status_code == 200:
                acknowledged.append(mine)

    errors = _run_together(writers, write)
    final = requests.get(url, headers=headers, timeout=10).json()

    assert not errors, errors
    assert set(statuses) == {200, 412}
    # Of writers that all read the same state, exactly one may change it; the others are told it changed.
    assert sorted(first_round.values()) == [200] + [412] * (writers - 1)
    assert len(acknowledged) == writers * tags_each
    assert sorted(final["tags"]) == sorted(acknowledged)


# --- The database -------------------------------------------------------------------------------------


@pytest.fixture
def own_postgres(real_services) -> Iterator[Postgres]:
    postgres = Postgres()
    postgres.init()
    postgres.start()
    yield postgres
    postgres.remove()


def test_a_restarted_database_is_reported_by_readyz_and_served_again_by_the_same_processes(own_postgres):
    """A database restarted between requests costs no request; one that is down makes /readyz answer
    503 at once, naming it; once it is back the same gunicorn processes serve again."""
    own_postgres.create_database("catalog")
    env = {
        **os.environ,
        "DATABASE_URL": own_postgres.url("catalog"),
        # Connections kept between requests (the default) are the ones a restart kills under the service.
        "CONN_MAX_AGE": "60",
    }
    manage(env, "migrate", "--noinput", "-v", "0")
    token = manage(
        env,
        "shell",
        "-v",
        "0",
        "-c",
        "from django.contrib.auth.models import User; from governance.services import access_token_issue; "
        "print(access_token_issue(user=User.objects.create_user('restart')).key)",
    ).strip()
    headers = {"Authorization": f"Token {token}"}
    service = Service(env, ARTIFACTS / "faults-restart-gunicorn.log", workers=2)
    service.start()
    try:
        datasets = f"{service.url}/api/v1/datasets/"
        assert readyz(service.url)[0].status_code == 200
        assert all(requests.get(datasets, headers=headers, timeout=10).status_code == 200 for _ in range(6))
        processes = service.pids()

        # Restarted between two requests: each gunicorn worker holds a connection the restart killed.
        own_postgres.restart()
        after_restart = [requests.get(datasets, headers=headers, timeout=10).status_code for _ in range(6)]

        own_postgres.stop()
        down = [readyz(service.url) for _ in range(4)]
        refused = [requests.get(datasets, headers=headers, timeout=10) for _ in range(3)]
        own_postgres.start()
        deadline = time.monotonic() + 15
        while (back := readyz(service.url))[0].status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        after_outage = [requests.get(datasets, headers=headers, timeout=10).status_code for _ in range(6)]

        assert after_restart == [200] * 6
        for response, took in down:
            assert response.status_code == 503
            # With the database down nobody can be told to be staff: everyone gets the short answer.
            assert response.json() == {"status": "unavailable"}
            assert took < 3, f"/readyz took {took:.1f} s with the database down"
        for response in refused:  # an API request meanwhile: a 503 to retry, never a 500
            assert response.status_code == 503, response.text
            assert response.headers["Retry-After"] == "5"
            assert response.json()["type"] == "urn:catalog:problem:database_unavailable"
        assert back[0].status_code == 200, back[0].text
        assert back[0].json() == {"status": "ok"}
        assert after_outage == [200] * 6
        assert service.pids() == processes  # the same master and workers: nothing was restarted
    finally:
        service.stop()
