"""The Croissant export of every file of the real-data corpus (tests/realdata.py) loads its records in
mlcroissant, equal to pandas row by row; what an export cannot express is named in the card's limitations.

Each file is registered through the API and its document fetched as a live server answers it; mlcroissant
downloads every file from the download endpoint the document names, as a user of the document would. The
files are registered once for the module, before its tests: one test per file, one database to empty.
"""

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pandas as pd
import pytest
from django.core.management import call_command
from django.test import modify_settings, override_settings
from pytest_django.live_server_helper import LiveServer
from rest_framework.test import APIClient

from catalog.models import Dataset, DatasetVersion
from config.celery_app import app as celery_app
from tests.croissant import assert_same_rows, croissant_frames
from tests.factories import UserFactory, token_for
from tests.realdata import CASES, Case, plain


@dataclass(frozen=True)
class Export:
    target: Path  # the file or folder registered
    version: DatasetVersion
    document: dict[str, Any]


@dataclass
class Exports:
    token: str  # the owner's, which mlcroissant sends to the download endpoint
    found: dict[str, Export | Exception]


def register(client: APIClient, server: LiveServer, case: Case, target: Path) -> Export:
    """The file registered through the API (profiled in-process) and its Croissant export."""
    source = {"uri": str(target), "format": case.format, **({"label_column": case.label} if case.label else {})}
    name = re.sub(r"[^a-z0-9]+", "-", target.name.lower())
    response = client.post(
        "/api/v1/datasets/", {"namespace": "realdata", "name": name, "source": source}, format="json"
    )
    assert response.status_code == 201, response.content
    version = Dataset.objects.get(pk=response.json()["id"]).latest_version
    assert version.status == "ready", version.error
    document = client.get(
        f"/api/v1/datasets/{version.dataset_id}/card/croissant", HTTP_HOST=urlsplit(server.url).netloc
    ).json()
    return Export(target, version, document)


@pytest.fixture(scope="module")
def exports(request, django_db_setup, django_db_blocker, realdata_dir, tmp_path_factory):
    """Every corpus file the run tests registered by one owner, committed for a live server to serve, and the
    database emptied once at the end (as a transactional test empties it after each: 84 such flushes took
    longer than the exports themselves). The labels are not examined for mislabelled rows: nothing of that
    analysis is in an export, and it took two thirds of the time (tests/profiling/test_labels.py examines the
    labels of the same real tables)."""
    chosen = {
        item.callspec.params["case"].name
        for item in request.session.items
        if item.module is request.module and hasattr(item, "callspec")
    }
    storage = tmp_path_factory.mktemp("croissant-storage").resolve()
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    with (
        django_db_blocker.unblock(),
        override_settings(CATALOG_STORAGE_ROOTS=[storage], CATALOG_LABEL_QUALITY=False),
        modify_settings(ALLOWED_HOSTS={"append": "localhost"}),
    ):
        server = LiveServer("localhost")
        try:
            owner = UserFactory(username="olivia-owner")
            token = token_for(owner)
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
            found: dict[str, Export | Exception] = {}
            for case in [case for case in CASES if case.name in chosen]:
                target = storage / case.name.replace("/", "-")
                if case.path(realdata_dir).is_dir():
                    shutil.copytree(case.path(realdata_dir), target)
                else:
                    shutil.copyfile(case.path(realdata_dir), target)
                try:
                    found[case.name] = register(client, server, case, target)
                except Exception as error:  # kept for that file's test to report
                    found[case.name] = error
            yield Exports(token, found)
        finally:
            server.stop()
            celery_app.conf.task_always_eager = eager
            call_command("flush", interactive=False, verbosity=0)


def member_frame(case: Case, path: Path, names: list[str]) -> pd.DataFrame:
    """One file as pandas reads it, under the column names the profile gives it: the file's own, except where
    the file has none (no header, or a blank in it)."""
    frame = plain(case.read(path))
    for name, pandas_name in zip(names, frame.columns, strict=True):
        if case.header and not str(pandas_name).startswith("Unnamed: "):
            assert name == str(pandas_name)
    frame.columns = names
    return frame


@pytest.mark.django_db
@pytest.mark.parametrize("case", [pytest.param(case, id=case.name) for case in CASES])
def test_every_corpus_file_exports_records_mlcroissant_loads_as_pandas_reads_them(case, exports, tmp_path, monkeypatch):
    export = exports.found[case.name]
    if isinstance(export, Exception):
        pytest.fail(f"{case.name} was not exported: {type(export).__name__}: {export}", pytrace=False)

    frames = croissant_frames(export.document, tmp_path, token=exports.token, monkeypatch=monkeypatch)

    names = [feature.name for feature in export.version.features.order_by("position")]
    limitations = export.document.get("rai:dataLimitations", "")
    target = export.target
    members = sorted(target.rglob("*.csv")) if target.is_dir() else [target]
    assert len(export.document["recordSet"]) == len(members), limitations
    files = {item["@id"]: item["name"] for item in export.document["distribution"]}
    for record_set in export.document["recordSet"]:
        described = files[record_set["field"][0]["source"]["fileObject"]["@id"]].removesuffix(" as CSV")
        expected = member_frame(case, target / described if target.is_dir() else target, names)
        read = frames[record_set["@id"]]
        left_out = [column for column in expected.columns if column not in set(read.columns)]
        for column in left_out:
            assert repr(column) in limitations, column  # a column Croissant cannot type, said to be left out
        assert_same_rows(read, expected.drop(columns=left_out))
