"""A real webhook receiver on loopback: an HTTP server thread that checks each delivery's signature as a
receiver written from the README would (its own HMAC code, not the catalog's), records it, and answers
with the statuses it is told to."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Any


def signature_valid(secret: str, header: str, body: bytes, tolerance: float = 300) -> bool:
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    timestamp = parts.get("t", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    answered: int
    at: float

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    secret: str
    statuses: list[int] = field(default_factory=list)  # answered in turn; then `default`
    default: int = 200
    received: list[Received] = field(default_factory=list)
    context: ssl.SSLContext | None = None
    delay: float = 0.0  # seconds before answering

    def __post_init__(self) -> None:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                verified = signature_valid(receiver.secret, self.headers.get("Catalog-Signature", ""), body)
                with receiver.lock:
                    status = receiver.statuses.pop(0) if receiver.statuses else receiver.default
                    if not verified:
                        status = 400
                    receiver.received.append(
                        Received(self.path, dict(self.headers), body, verified, status, time.monotonic())
                    )
                if receiver.delay:
                    time.sleep(receiver.delay)
                answer = json.dumps({"ok": 200 <= status < 300, "padding": "x" * 10_000}).encode()
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "http://127.0.0.1:1/elsewhere")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def finish_request(self, request: Any, client_address: Any) -> None:
                if receiver.context is not None:
                    request = receiver.context.wrap_socket(request, server_side=True)
                Handler(request, client_address, self)

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass

        self.lock = threading.Lock()
        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        scheme = "https" if self.context is not None else "http"
        host = "localhost" if self.context is not None else "127.0.0.1"
        return f"{scheme}://{host}:{self.server.server_address[1]}/hooks/catalog"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int, timeout: float = 30, **match: Any) -> list[Received]:
        """The deliveries of an event (`event="version.ready"`), once at least `count` arrived."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                found = [item for item in self.received if all(item.json.get(k) == v for k, v in match.items())]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.1)
