import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from catalog.models import Dataset
from lineage.services import lineage_event_ingest, lineage_pending_project

PRODUCER = "https://example.com/catalog-demo"
FACET = {"_producer": PRODUCER, "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/Facet.json"}
# Fixed run ids: loading the demo twice sends the same events, which change nothing the second time.
LABEL_RUN = uuid.UUID("5b0e0f3c-1f8e-4d39-9a57-0d7a3c0b6a01")
TRAINING_RUN = uuid.UUID("5b0e0f3c-1f8e-4d39-9a57-0d7a3c0b6a02")
START = datetime(2026, 7, 1, 6, 0, tzinfo=UTC)


def _time(minutes: int) -> str:
    return (START + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def _event(run_id: uuid.UUID, state: str, minutes: int, job: str, inputs: list, outputs: list, **run_facets) -> dict:
    return {
        "eventType": state,
        "eventTime": _time(minutes),
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": str(run_id), "facets": {key: {**FACET, **value} for key, value in run_facets.items()}},
        "job": {"namespace": "demo-pipelines", "name": job, "facets": {}},
        "inputs": inputs,
        "outputs": outputs,
    }


class Command(BaseCommand):
    help = "Report the demo dataset's lineage as OpenLineage events: raw telemetry -> labelled table -> model."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="demo")

    def handle(self, *args, username: str, **options) -> None:
        user = get_user_model().objects.filter(username=username).first()
        demo = Dataset.objects.filter(namespace="demo", name="sensor-faults").select_related("latest_version").first()
        if user is None or demo is None:
            raise CommandError("Run load_demo first: it creates the demo user and dataset.")
        first = demo.versions.order_by("number").first()
        assert first is not None

        raw = {"namespace": "s3://plant-telemetry", "name": "vibration/2026-06"}
        # The labelling job writes the demo file: named by its location, it lands on the registered dataset.
        table = {"namespace": "file", "name": unquote(first.uri.removeprefix("file://"))}
        for state, minutes in (("START", 0), ("COMPLETE", 12)):
            lineage_event_ingest(
                actor=user, payload=_event(LABEL_RUN, state, minutes, "sensor-faults.label", [raw], [table])
            )

        version = {"version": {**FACET, "datasetVersion": first.fingerprint}} if first.fingerprint else {}
        model = {
            "namespace": "models",
            "name": "fault-detector",
            "facets": {
                # An output of type MODEL makes the run a training run of this model (GET /api/v1/models/).
                "datasetType": {**FACET, "datasetType": "MODEL"},
                "schema": {
                    **FACET,
                    "fields": [{"name": "fault", "type": "STRING"}, {"name": "score", "type": "DOUBLE"}],
                },
                "documentation": {**FACET, "description": "Classifies machine faults from vibration readings."},
                "columnLineage": {
                    **FACET,
                    "fields": {
                        "fault": {"inputFields": [{"namespace": "demo", "name": "sensor-faults", "field": "fault"}]}
                    },
                },
            },
        }
        training_input = {"namespace": "demo", "name": "sensor-faults", "facets": version}
        for state, minutes in (("START", 60), ("COMPLETE", 95)):
            lineage_event_ingest(
                actor=user,
                payload=_event(
                    TRAINING_RUN,
                    state,
                    minutes,
                    "fault-detector.fit",
                    [training_input],
                    [model],
                    hyperparameters={"max_depth": 8, "learning_rate": 0.1},
                ),
            )
        # The demo is read right after: its events are projected here, whether or not a worker runs.
        lineage_pending_project()
        self.stdout.write(
            "Demo lineage: s3://plant-telemetry/vibration/2026-06 -> demo/sensor-faults -> models/fault-detector "
            "(GET /api/v1/lineage?nodeId=dataset:models:fault-detector&direction=upstream)"
        )
