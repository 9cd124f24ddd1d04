"""The projection of one event costs a constant, small number of queries, whatever it names."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Dataset
from governance.models import Ownership
from lineage import services
from lineage.models import ColumnLineage, LineageEdge, LineageEvent, Run
from tests.lineage.realistic import realistic_event

pytestmark = pytest.mark.django_db

# Recording an event: the raw event inserted, one statement that skips a digest already taken.
RECORD_QUERIES = 1
# Projecting the realistic event (the benchmark's) of a new run, its datasets and job known:
#   1 the projector's lock taken              2 the pending events read (with their senders)
#   3 savepoint                               4 the datasets by identity
#   5 those the sender governs (owns, stewards)  6 their reports, locked
#   7 the job, locked (with its latest run's start)  8 the run, locked (absent)
#   9 the edges between its datasets, locked 10 column lineage known, locked
#  11 the reports' facets updated            12 the run inserted
#  13 the job's latest run set (it started last)  14 the run's datasets inserted
#  15 the training app's look-up             16 the edges moved to the run
#  17 column lineage upserted                18 the event marked projected
#  19 release savepoint                      20 no pending event left
#  21 the lock let go                        22 none recorded meanwhile
REALISTIC_EVENT_QUERIES = 22


def _ingest(owner, events: list[dict]) -> list:
    results = services.lineage_events_ingest(actor=owner, payloads=events)
    services.lineage_pending_project()
    return results


@pytest.mark.parametrize(
    ("inputs", "outputs"),
    [((1, 2), (3,)), (tuple(range(10, 20)), tuple(range(20, 30)))],
    ids=["2-inputs-1-output", "10-inputs-10-outputs"],
)
def test_it_projects_an_event_in_the_same_queries_whatever_the_number_of_datasets(owner, inputs, outputs):
    _ingest(owner, [realistic_event(inputs=inputs, outputs=outputs, seed=1)])
    event = realistic_event(inputs=inputs, outputs=outputs, seconds=5, seed=2)

    with CaptureQueriesContext(connection) as recording:
        result = services.lineage_event_ingest(actor=owner, payload=event)
    with CaptureQueriesContext(connection) as projecting:
        assert services.lineage_pending_project() == 1

    assert result.created
    assert len(recording.captured_queries) == RECORD_QUERIES, [q["sql"][:80] for q in recording]
    assert len(projecting.captured_queries) == REALISTIC_EVENT_QUERIES, [q["sql"][:80] for q in projecting]
    run = Run.objects.get(pk=event["run"]["runId"])
    assert run.job.latest_run_id == run.pk
    assert LineageEdge.objects.filter(run=run).count() == len(inputs) * len(outputs)
    assert ColumnLineage.objects.filter(run=run).exists()


def test_it_recognises_a_duplicate_in_a_fixed_number_of_queries(owner):
    event = realistic_event(seed=4)
    services.lineage_event_ingest(actor=owner, payload=event)

    with CaptureQueriesContext(connection) as captured:
        result = services.lineage_event_ingest(actor=owner, payload=event)

    assert not result.created
    # The insert skipped for the digest's unique index, and the event looked up.
    assert len(captured.captured_queries) == 2, [q["sql"][:80] for q in captured]
    assert LineageEvent.objects.count() == 1


def _batch(count: int, *, offset: int) -> list[dict]:
    """Distinct runs of a few jobs over a pool of datasets, known and new, some runs reported twice (a
    START then a COMPLETE): what a pipeline sends in one batch."""
    events = []
    for index in range(count):
        seed = offset + index
        event = realistic_event(
            inputs=(seed % 7, 7 + seed % 5),
            outputs=(12 + seed % 9,),
            job=f"etl.step-{seed % 3}",
            seconds=seed,
            seed=seed,
        )
        if index % 4 == 0:
            events.append({**event, "eventType": "START"})
        events.append(event)
    return events


def _projection_queries(owner, events: list[dict]) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        results = _ingest(owner, events)
    assert {item.status for item in results} == {"created"}, results
    # The training app's receiver of lineage_run_reported looks its run up once per run event: the
    # lineage's own share is what must not grow.
    return [query["sql"] for query in captured.captured_queries if '"training_' not in query["sql"]]


def test_a_batch_projects_in_the_same_queries_whatever_its_size(owner):
    # Every dataset and job of the pool known, as in a pipeline's steady state.
    _ingest(owner, _batch(30, offset=0))

    small = _projection_queries(owner, _batch(4, offset=100))
    large = _projection_queries(owner, _batch(60, offset=200))

    assert len(large) == len(small), [sql[:80] for sql in large]
    assert Run.objects.count() == 30 + 4 + 60
    assert LineageEdge.objects.filter(run__isnull=False).exists()


def test_a_batch_stays_within_a_fixed_number_of_queries(owner, django_assert_max_num_queries):
    _ingest(owner, _batch(30, offset=0))
    events = _batch(80, offset=300)
    runs = len({event["run"]["runId"] for event in events})

    # Recorded: 1 the digests looked up, 1 insert in a savepoint pair. Projected: 2 for the lock, 3 to
    # read the pending events and find none left, at most 22 for each group of 100 (its savepoint pair,
    # the projection, the events marked), and the training app's one look-up per run event.
    with django_assert_max_num_queries(2 + 2 + 2 + 3 + 22 + len(events)):
        results = _ingest(owner, events)

    assert [item.status for item in results] == ["created"] * len(events)
    assert Run.objects.count() == 30 + runs


def test_a_batch_discovering_datasets_costs_the_same_queries_whatever_their_number(owner):
    def fresh(count: int, base: int) -> list[dict]:
        # Every event names three datasets nobody has seen, each then owned by the sender.
        return [
            realistic_event(
                inputs=(base + 3 * index, base + 3 * index + 1), outputs=(base + 3 * index + 2,), seed=index
            )
            for index in range(count)
        ]

    _ingest(owner, fresh(2, 5000))
    small = _projection_queries(owner, fresh(3, 6000))
    large = _projection_queries(owner, fresh(40, 7000))

    assert len(large) == len(small), [sql[:80] for sql in large]
    discovered = Dataset.objects.filter(name__startswith="zone-", created_by=owner)
    assert discovered.count() == 3 * (2 + 3 + 40)
    assert Ownership.objects.filter(dataset__in=discovered, user=owner, role="owner").count() == discovered.count()
