"""A real dataset for contracts: the Palmer penguins, and versions crafted from them with pandas."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from catalog.models import Dataset, DatasetVersion
from governance.choices import OwnershipRole
from tests.factories import OwnershipFactory
from tests.realdata_sources import penguins


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path


def drifted_penguins() -> pd.DataFrame:
    """Version 2: a new island beyond the domain (ten rows), one body mass far out of range, the year
    column gone, and flipper lengths drawn from their top quarter (a shifted distribution, in range)."""
    frame = penguins().copy()
    frame.loc[frame.index[:10], "island"] = "Atlantis"
    frame.loc[frame.index[20], "body_mass_g"] = 20000.0
    frame = frame.drop(columns=["year"])
    flippers = frame["flipper_length_mm"].dropna()
    top = flippers[flippers >= flippers.quantile(0.75)].to_numpy()
    present = frame["flipper_length_mm"].notna()
    frame.loc[present, "flipper_length_mm"] = np.random.default_rng(7).choice(top, size=int(present.sum()))
    return frame


def skewed_serving_penguins() -> pd.DataFrame:
    """Serving data: 150 penguins whose flipper lengths come from the top quarter of the training set's."""
    frame = penguins().sample(n=150, random_state=5).reset_index(drop=True)
    flippers = penguins()["flipper_length_mm"].dropna()
    top = flippers[flippers >= flippers.quantile(0.75)].to_numpy()
    present = frame["flipper_length_mm"].notna()
    frame.loc[present, "flipper_length_mm"] = np.random.default_rng(3).choice(top, size=int(present.sum()))
    return frame


def clean_penguins() -> pd.DataFrame:
    """Version 3: the same penguins in another order."""
    return penguins().sample(frac=1.0, random_state=11).reset_index(drop=True)


@pytest.fixture
def penguins_dataset(owner_client, steward, storage_root, django_capture_on_commit_callbacks) -> Dataset:
    """The penguins registered and profiled (tasks in-process), owned by `owner`, stewarded by `steward`."""
    path = write_csv(penguins(), storage_root / "penguins" / "v1.csv")
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            "/api/v1/datasets/",
            {
                "namespace": "zoo",
                "name": "penguins",
                "license": "CC0-1.0",
                "source": {"uri": str(path), "label_column": "species"},
            },
            format="json",
        )
    assert response.status_code == 201, response.content
    dataset = Dataset.objects.get(pk=response.json()["id"])
    assert dataset.latest_version.status == "ready", dataset.latest_version.error
    OwnershipFactory(dataset=dataset, user=steward, role=OwnershipRole.STEWARD)
    return dataset


@pytest.fixture
def add_version(owner_client, storage_root, django_capture_on_commit_callbacks):
    """Register a frame as the next version of a dataset, profiled in-process."""

    def add(dataset: Dataset, frame: pd.DataFrame, name: str) -> DatasetVersion:
        path = write_csv(frame, storage_root / "penguins" / f"{name}.csv")
        with django_capture_on_commit_callbacks(execute=True):
            response = owner_client.post(f"/api/v1/datasets/{dataset.pk}/versions/", {"uri": str(path)}, format="json")
        assert response.status_code == 201, response.content
        version = DatasetVersion.objects.get(pk=response.json()["id"])
        assert version.status == "ready", version.error
        return version

    return add
