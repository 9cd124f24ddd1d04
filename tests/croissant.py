"""Croissant documents checked by mlcroissant's own command, as a publisher would check them, and read
record by record as a user of the document would, fetching its files from where it says."""

import datetime as dt
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def mlcroissant_validate(path: Path) -> subprocess.CompletedProcess:
    """`mlcroissant validate --jsonld PATH`, from the same environment as the tests."""
    return subprocess.run(
        [str(Path(sys.executable).parent / "mlcroissant"), "validate", "--jsonld", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def croissant_frames(
    document: dict[str, Any], folder: Path, *, token: str, monkeypatch: Any
) -> dict[str, pd.DataFrame]:
    """Every record set of the document as mlcroissant reads it, one column per field (by name), text as
    str. Files are downloaded into `folder` (not the user's cache), with `token` as the Basic password
    mlcroissant sends from its environment."""
    import mlcroissant as mlc
    from mlcroissant._src.core import constants

    folder.mkdir(parents=True, exist_ok=True)
    monkeypatch.setattr(constants, "DOWNLOAD_PATH", folder / "download")
    monkeypatch.setenv("CROISSANT_BASIC_AUTH_USERNAME", "reader")
    monkeypatch.setenv("CROISSANT_BASIC_AUTH_PASSWORD", token)
    path = folder / "croissant.json"
    path.write_text(json.dumps(document))
    dataset = mlc.Dataset(jsonld=str(path))
    assert not dataset.metadata.ctx.issues.errors, dataset.metadata.ctx.issues.errors
    assert not dataset.metadata.ctx.issues.warnings, dataset.metadata.ctx.issues.warnings
    frames = {}
    for record_set in document["recordSet"]:
        names = {field["@id"]: field["name"] for field in record_set["field"]}
        rows = [
            {names[key]: value.decode() if isinstance(value, bytes) else value for key, value in record.items()}
            for record in dataset.records(record_set=record_set["@id"])
        ]
        frames[record_set["@id"]] = pd.DataFrame(rows, columns=list(names.values()))
    return frames


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def assert_same_rows(read: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Row by row, column by column: missing where pandas has a missing value, numbers equal to 1e-9,
    everything else equal as text."""
    assert list(read.columns) == [str(column) for column in expected.columns]
    assert len(read) == len(expected)
    for column, name in zip(expected.columns, read.columns, strict=True):
        for index, (got, want) in enumerate(zip(read[name].tolist(), expected[column].tolist(), strict=True)):
            where = f"row {index}, column {name!r}: {got!r} != {want!r}"
            if isinstance(want, tuple | list | np.ndarray):
                assert not _missing(got), where
                assert list(got) == list(want), where
            elif _missing(want):
                assert _missing(got) or got == "", where
            elif isinstance(want, bytes):
                # Croissant's text comes as bytes, which croissant_frames decodes.
                assert got == want.decode(errors="replace"), where
            elif isinstance(want, (int, float, np.integer, np.floating)) and not isinstance(want, bool):
                assert not _missing(got), where
                assert float(got) == float(want) or math.isclose(float(got), float(want), rel_tol=1e-9), where
            elif isinstance(got, dt.time):
                assert got == (want if isinstance(want, dt.time) else dt.time.fromisoformat(str(want))), where
            elif isinstance(got, (pd.Timestamp, np.datetime64)) or hasattr(got, "isoformat"):
                # Croissant readers parse sc:Date and sc:DateTime; pandas leaves the text as written.
                assert pd.Timestamp(got) == pd.Timestamp(want), where
            else:
                assert str(got) == str(want), where
