"""fetch_url against a real HTTPS server on 127.0.0.1 with a certificate from a test CA."""

from __future__ import annotations

import contextlib
import gzip
import http.server
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from catalog.remote import fetch_url
from profiler.files import SourceError

BODY = b"id,label\n" + b"".join(f"{number},row {number}\n".encode() for number in range(5000))


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, context: ssl.SSLContext) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.context = context
        self.connections = 0
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.release = threading.Event()

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def verify_request(self, request: Any, client_address: Any) -> bool:
        self.connections += 1
        return True

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The handshake happens here, in the connection's own thread.
        _Handler(self.context.wrap_socket(request, server_side=True), client_address, self)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # Refused handshakes and clients that hang up are expected here.


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.server.requests.append((self.path, dict(self.headers)))
        origin = f"https://localhost:{self.server.port}"
        if self.path == "/data.csv":
            self._answer(200, BODY)
        elif self.path == "/streamed.csv":
            self._answer(200, BODY, length=False)
        elif self.path == "/gzip.csv":
            self._answer(200, gzip.compress(BODY), {"Content-Encoding": "gzip"})
        elif self.path == "/to-http":
            self._answer(302, b"", {"Location": f"http://localhost:{self.server.port}/data.csv"})
        elif self.path == "/hop/1":
            self._answer(301, b"", {"Location": "/data.csv"})
        elif self.path.startswith("/hop/"):
            hops = int(self.path.removeprefix("/hop/"))
            self._answer(307, b"", {"Location": f"{origin}/hop/{hops - 1}"})
        elif self.path == "/stall.csv":
            self._answer(200, BODY[:100], {"Content-Length": str(len(BODY))}, length=False)
            self.server.release.wait(10)
        elif self.path == "/trickle.csv":
            self._answer(200, b"", length=False)
            while not self.server.release.wait(0.05):
                self.wfile.write(b"x")
                self.wfile.flush()
        else:
            self._answer(404, b"")

    def _answer(self, status: int, body: bytes, headers: dict[str, str] | None = None, *, length: bool = True) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()


@contextlib.contextmanager
def _serve(ca: trustme.CA, *hostnames: str) -> Iterator[_Server]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*hostnames).configure_cert(context)
    server = _Server(context)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def server(ca: trustme.CA) -> Iterator[_Server]:
    with _serve(ca, "localhost", "catalog.test") as running:
        yield running


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    path = tmp_path / "downloads"
    path.mkdir()
    return path


Download = Callable[..., int]


@pytest.fixture
def download(ca_file: str, directory: Path) -> Download:
    def download(
        url: str,
        *,
        max_bytes: int = 1 << 20,
        timeout: float = 5.0,
        allow_private: bool = True,
        total_timeout: float = 60.0,
    ) -> int:
        return fetch_url(
            url,
            directory / "data.csv",
            max_bytes=max_bytes,
            timeout=timeout,
            allow_private=allow_private,
            ca_certs=ca_file,
            total_timeout=total_timeout,
        )

    return download


def _resolving(monkeypatch: pytest.MonkeyPatch, names: dict[str, list[str]]) -> list[str]:
    """Make the given host names resolve to the given addresses; returns the names looked up."""
    real = socket.getaddrinfo
    looked_up: list[str] = []

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in names:
            return real(host, port, *args, **kwargs)
        looked_up.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)) for address in names[host]]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return looked_up


@pytest.mark.parametrize("path", ["/data.csv", "/streamed.csv"])
def test_it_downloads_the_body_to_the_destination(
    server: _Server, download: Download, directory: Path, path: str
) -> None:
    written = download(f"https://localhost:{server.port}{path}", max_bytes=len(BODY))

    assert written == len(BODY)
    assert (directory / "data.csv").read_bytes() == BODY
    assert [entry.name for entry in directory.iterdir()] == ["data.csv"]
    _, headers = server.requests[0]
    assert headers["Host"] == f"localhost:{server.port}"
    assert headers["Accept-Encoding"] == "identity"


def test_it_connects_to_the_address_it_vetted_with_tls_for_the_host_name(
    server: _Server, download: Download, directory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    looked_up = _resolving(monkeypatch, {"catalog.test": ["127.0.0.1"]})

    assert download(f"https://catalog.test:{server.port}/data.csv") == len(BODY)

    assert looked_up == ["catalog.test"]
    assert server.requests[0][1]["Host"] == f"catalog.test:{server.port}"
    assert (directory / "data.csv").read_bytes() == BODY


def test_it_rejects_a_loopback_host_without_connecting(server: _Server, download: Download, directory: Path) -> None:
    with pytest.raises(SourceError, match=r"private, loopback or reserved address; .*PRIVATE_URLS") as refused:
        download(f"https://localhost:{server.port}/data.csv", allow_private=False)

    assert "127.0.0.1" not in str(refused.value)  # the internal address is not told

    assert server.connections == 0
    assert list(directory.iterdir()) == []


@pytest.mark.parametrize(
    ("addresses", "refused"),
    [
        (["93.184.215.14", "10.1.2.3"], "10.1.2.3"),
        (["::ffff:127.0.0.1"], "::ffff:127.0.0.1"),
        (["2002:a01:203::1"], "2002:a01:203::1"),
        (["64:ff9b::a01:203"], "64:ff9b::a01:203"),
    ],
)
def test_it_rejects_a_host_when_any_of_its_addresses_is_private(
    server: _Server, download: Download, monkeypatch: pytest.MonkeyPatch, addresses: list[str], refused: str
) -> None:
    _resolving(monkeypatch, {"mixed.test": addresses})

    with pytest.raises(SourceError, match=r"'mixed\.test'.*private, loopback or reserved address; ") as raised:
        download(f"https://mixed.test:{server.port}/data.csv", allow_private=False)

    assert refused not in str(raised.value)  # the internal address is not told

    assert server.connections == 0


def test_it_rejects_a_404(server: _Server, download: Download, directory: Path) -> None:
    url = f"https://localhost:{server.port}/missing.csv"

    with pytest.raises(SourceError, match=f"^{re.escape(url)} answered 404 Not Found"):
        download(url)

    assert list(directory.iterdir()) == []


def test_it_rejects_a_body_announced_larger_than_the_limit(
    server: _Server, download: Download, directory: Path
) -> None:
    with pytest.raises(SourceError, match=r"larger than the 1 KiB limit \(CATALOG_MAX_DOWNLOAD_BYTES\)"):
        download(f"https://localhost:{server.port}/data.csv", max_bytes=1024)

    assert list(directory.iterdir()) == []


def test_it_rejects_a_streamed_body_larger_than_the_limit(server: _Server, download: Download, directory: Path) -> None:
    with pytest.raises(SourceError, match="larger than the"):
        download(f"https://localhost:{server.port}/streamed.csv", max_bytes=len(BODY) - 1)

    assert list(directory.iterdir()) == []


def test_it_rejects_a_redirect_to_plain_http(server: _Server, download: Download, directory: Path) -> None:
    with pytest.raises(SourceError, match=r"/to-http redirects to a URL that is refused: .* not an https:// URL"):
        download(f"https://localhost:{server.port}/to-http")

    assert [path for path, _ in server.requests] == ["/to-http"]
    assert list(directory.iterdir()) == []


def test_it_follows_up_to_five_redirects(server: _Server, download: Download, directory: Path) -> None:
    assert download(f"https://localhost:{server.port}/hop/5") == len(BODY)

    assert [path for path, _ in server.requests] == ["/hop/5", "/hop/4", "/hop/3", "/hop/2", "/hop/1", "/data.csv"]
    assert (directory / "data.csv").read_bytes() == BODY


def test_it_rejects_more_than_five_redirects(server: _Server, download: Download, directory: Path) -> None:
    with pytest.raises(SourceError, match="redirects more than 5 times"):
        download(f"https://localhost:{server.port}/hop/6")

    assert len(server.requests) == 6
    assert list(directory.iterdir()) == []


def test_it_rejects_a_certificate_for_another_host(ca: trustme.CA, download: Download, directory: Path) -> None:
    with _serve(ca, "elsewhere.test") as server:
        with pytest.raises(SourceError, match="valid certificate for 'localhost'"):
            download(f"https://localhost:{server.port}/data.csv")

        assert server.requests == []
    assert list(directory.iterdir()) == []


def test_it_rejects_a_server_that_stalls(server: _Server, download: Download, directory: Path) -> None:
    started = time.monotonic()

    with pytest.raises(SourceError, match=r"sent nothing for 0\.5 seconds"):
        download(f"https://localhost:{server.port}/stall.csv", timeout=0.5)

    assert time.monotonic() - started < 3
    assert list(directory.iterdir()) == []


def test_it_rejects_a_download_that_outlasts_the_total_timeout(
    server: _Server, download: Download, directory: Path
) -> None:
    started = time.monotonic()

    with pytest.raises(SourceError, match="did not finish downloading within the time allowed"):
        download(f"https://localhost:{server.port}/trickle.csv", timeout=2, total_timeout=0.5)

    assert time.monotonic() - started < 3
    assert list(directory.iterdir()) == []


def test_it_rejects_a_compressed_body(server: _Server, download: Download, directory: Path) -> None:
    with pytest.raises(SourceError, match="Content-Encoding 'gzip'"):
        download(f"https://localhost:{server.port}/gzip.csv")

    assert list(directory.iterdir()) == []


@pytest.fixture
def trusting_local_https(settings: Any, ca_file: str) -> None:
    settings.CATALOG_ALLOW_PRIVATE_URLS = True
    settings.CATALOG_URL_CA_BUNDLE = ca_file


@pytest.mark.django_db
def test_a_version_from_an_https_url_is_downloaded_and_fingerprinted(
    server: _Server, trusting_local_https: None, owner_client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    import hashlib

    from catalog.models import DatasetVersion

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            "/api/v1/datasets/",
            {"namespace": "web", "name": "rows", "source": {"uri": f"https://localhost:{server.port}/data.csv"}},
        )

    assert response.status_code == 201, response.json()
    version = DatasetVersion.objects.get(pk=response.json()["latest_version"]["id"])
    assert version.status == "ready", version.error
    digest = hashlib.sha256(BODY).hexdigest()
    assert version.manifest == [{"path": "data.csv", "size": len(BODY), "sha256": digest}]
    line = f"data.csv\0{len(BODY)}\0{digest}\n".encode()
    assert version.fingerprint == "sha256:" + hashlib.sha256(line).hexdigest()


@pytest.mark.django_db
def test_a_url_that_answers_404_fails_the_version_with_the_answer(
    server: _Server, trusting_local_https: None, owner_client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from catalog.models import DatasetVersion

    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(
            "/api/v1/datasets/",
            {"namespace": "web", "name": "gone", "source": {"uri": f"https://localhost:{server.port}/gone.csv"}},
        )

    version = DatasetVersion.objects.get()
    assert version.status == "failed"
    assert version.error == f"https://localhost:{server.port}/gone.csv answered 404 Not Found."
