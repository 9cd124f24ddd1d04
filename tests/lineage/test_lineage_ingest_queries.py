"""The projection of one event costs a constant, small number of queries, whatever it names."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lineage import services
from lineage.models import ColumnLineage, LineageEdge, Run
from tests.lineage.realistic import realistic_event

pytestmark = pytest.mark.django_db

# The realistic event (the benchmark's) of a new run, its datasets and job known, in a transaction:
#   1 the digest looked up                     2 savepoint      3 the raw event inserted
#   4 the datasets by identity                 5 those the sender governs (owns, stewards)
#   6 their reports, locked                    7 the reports' facets updated
#   8 the job, locked                          9 the run, locked (absent)   10 the run inserted
#  11 the run, locked                         12 the job's latest run set (if it started last)
#  13 the run's datasets inserted (a new run: nothing to merge them with)
#  14 the training app's look-up
#  15 the edges between its datasets, locked  16 their runs updated
#  17 column lineage known, locked            18 column lineage upserted
#  19 release savepoint
REALISTIC_EVENT_QUERIES = 19


@pytest.mark.parametrize(
    ("inputs", "outputs"),
    [((1, 2), (3,)), (tuple(range(10, 20)), tuple(range(20, 30)))],
    ids=["2-inputs-1-output", "10-inputs-10-outputs"],
)
def test_it_projects_an_event_in_the_same_queries_whatever_the_number_of_datasets(owner, inputs, outputs):
    services.lineage_event_ingest(actor=owner, payload=realistic_event(inputs=inputs, outputs=outputs, seed=1))
    event = realistic_event(inputs=inputs, outputs=outputs, seconds=5, seed=2)

    with CaptureQueriesContext(connection) as captured:
        result = services.lineage_event_ingest(actor=owner, payload=event)

    assert result.created
    assert len(captured.captured_queries) == REALISTIC_EVENT_QUERIES, [q["sql"][:80] for q in captured]
    run = Run.objects.get(pk=event["run"]["runId"])
    assert run.job.latest_run_id == run.pk
    assert LineageEdge.objects.filter(run=run).count() == len(inputs) * len(outputs)
    assert ColumnLineage.objects.filter(run=run).exists()


def test_it_keeps_the_query_count_of_a_duplicate_to_one(owner):
    event = realistic_event(seed=4)
    services.lineage_event_ingest(actor=owner, payload=event)

    with CaptureQueriesContext(connection) as captured:
        result = services.lineage_event_ingest(actor=owner, payload=event)

    assert not result.created
    assert len(captured.captured_queries) == 1
