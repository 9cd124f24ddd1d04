"""Datasets registered from real files through the catalog's services, and runs recorded on them."""

from __future__ import annotations

import csv
from pathlib import Path

from catalog import services as catalog_services
from catalog.models import DatasetVersion
from training.models import TrainingRun
from training.services import training_run_record
from training.specs import InputRef, ModelRef, RunSpec


def write_rows(path: Path, rows: int = 30, *, offset: float = 0.0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["length", "width", "species"])
        for index in range(rows):
            writer.writerow([1.0 + index / 10 + offset, 0.2 + index / 50, ("setosa", "versicolor")[index % 2]])
    return path


def register(capture, *, actor, dataset, path: Path) -> DatasetVersion:
    """A version of the files at `path`, profiled in process once the registration commits."""
    with capture(execute=True):
        version = catalog_services.version_create(actor=actor, dataset=dataset, uri=path.as_uri())
    version.refresh_from_db()
    assert version.status == "ready", version.error
    return version


def record(actor, name: str, *versions: DatasetVersion, purpose: dict | None = None, **fields) -> TrainingRun:
    return training_run_record(
        actor=actor,
        spec=RunSpec(
            model=ModelRef(namespace="ml", name=name),
            model_version=fields.pop("model_version", "1.0.0"),
            status="completed",
            inputs=tuple(InputRef(version=version.pk) for version in versions),
            purpose=purpose,
            **fields,
        ),
    )
