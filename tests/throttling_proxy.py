"""A throttling S3 endpoint for the tests: a real HTTP server on a loopback port, placed in front of
the local S3 server (tests/object_store.py), that answers the first `throttled` requests as S3 does
when a prefix is read too fast, `503 SlowDown` with S3's XML error body (none for a HEAD, whose
answers have no body), and forwards the later ones unchanged, but for every `every`-th one, throttled
too (the reads of a busy store, throttled now and then all along). `throttled=None` throttles for
ever: a store that never lets the reads through.

A worker reaches it as it reaches any S3-compatible store, through `AWS_ENDPOINT_URL`; the proxy counts
what it answered, so a test can tell that the reads were retried and how often."""

from __future__ import annotations

import http.client
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import urlsplit

SLOW_DOWN = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message>"
    "<RequestId>{request_id}</RequestId><HostId>{request_id}</HostId></Error>"
)
# Headers that belong to one connection, never forwarded.
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}


class ThrottlingProxy:
    def __init__(self, upstream: str, *, throttled: int | None, every: int | None = None) -> None:
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.lock = threading.Lock()
        self.requests = 0
        self.throttled: int | None = None
        self.every: int | None = None
        self.throttle(first=throttled, every=every)
        # What was answered: (time, method, path, status), in order.
        self.answered: list[tuple[float, str, str, int]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="throttling-proxy", daemon=True)

    @property
    def slowed_down(self) -> int:
        with self.lock:
            return sum(status == 503 for _at, _method, _path, status in self.answered)

    @property
    def forwarded(self) -> int:
        with self.lock:
            return sum(status != 503 for _at, _method, _path, status in self.answered)

    def _throttles(self) -> bool:
        """Whether the request that just came is answered SlowDown (decided, and counted, at once)."""
        with self.lock:
            index = self.requests
            self.requests += 1
            throttled, every = self.throttled, self.every
        if throttled is None or index < throttled:
            return True
        return every is not None and (index - throttled) % every == every - 1

    def throttle(self, *, first: int | None, every: int | None = None) -> None:
        """From the next request on: answer the `first` ones (all, with None) SlowDown, then every
        `every`-th one (none, with None)."""
        assert every is None or every >= 2
        with self.lock:
            self.throttled = self.requests + first if first is not None else None
            self.every = every

    def _record(self, method: str, path: str, status: int) -> None:
        with self.lock:
            self.answered.append((time.monotonic(), method, path, status))

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # quiet: the counts tell
                return

            def _relay(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if proxy._throttles():
                    self._slow_down()
                    return
                upstream = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port, timeout=30)
                try:
                    headers = {name: value for name, value in self.headers.items() if name.lower() not in HOP_BY_HOP}
                    upstream.request(self.command, self.path, body=body or None, headers=headers)
                    answer = upstream.getresponse()
                    payload = answer.read()
                    self.send_response(answer.status, answer.reason)
                    # A HEAD's Content-Length is the object's size, its answer bodiless: kept as it is.
                    head = self.command == "HEAD"
                    for name, value in answer.getheaders():
                        if name.lower() not in HOP_BY_HOP and (head or name.lower() != "content-length"):
                            self.send_header(name, value)
                    if not head:
                        self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    if not head:
                        self.wfile.write(payload)
                    proxy._record(self.command, self.path, answer.status)
                finally:
                    upstream.close()

            def _slow_down(self) -> None:
                request_id = uuid.uuid4().hex[:16].upper()
                payload = SLOW_DOWN.format(request_id=request_id).encode()
                self.send_response(503, "Slow Down")
                self.send_header("Content-Type", "application/xml")
                self.send_header("x-amz-request-id", request_id)
                self.send_header("Content-Length", "0" if self.command == "HEAD" else str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)
                proxy._record(self.command, self.path, 503)

            do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _relay

        return Handler

    def __enter__(self) -> ThrottlingProxy:
        self.thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
