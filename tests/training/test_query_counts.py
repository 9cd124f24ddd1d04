"""The lists of models and of training runs cost the same queries whatever the page holds."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from governance.models import Audit
from tests.factories import UserFactory
from training.services import training_run_record
from training.specs import ArtifactSpec, InputRef, ModelRef, RunSpec

pytestmark = pytest.mark.django_db


def _fill(owner, versions, count: int, start: int = 0) -> None:
    for index in range(start, start + count):
        run = training_run_record(
            actor=owner,
            spec=RunSpec(
                model=ModelRef(namespace="vision", name=f"model-{index}"),
                inputs=tuple(InputRef(version=version.pk) for version in versions),
                artifacts=(ArtifactSpec(uri=f"s3://m/{index}"),),
                status="completed",
            ),
        )
        run.model.tags.create(name=f"tag-{index}")
        Audit.objects.create(
            created_at=run.created_at, created_by=owner, training_run=run, purpose={}, requested=[], verdict="pass"
        )


def _queries(client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, response.json()
    return len(captured)


@pytest.mark.parametrize("path", ["/api/v1/models/", "/api/v1/training-runs/"])
def test_a_list_costs_the_same_for_one_row_and_for_ten(client_for, owner, versions, secret_version, path):
    reader = client_for(UserFactory(username="reader"))
    _fill(owner, versions, 1)
    one = _queries(reader, path)
    _fill(owner, versions, 9, start=1)

    assert _queries(reader, path) == one
    assert len(reader.get(path).json()["results"]) == 10
