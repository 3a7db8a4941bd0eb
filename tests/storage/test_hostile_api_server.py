"""A hostile marketplace API serving downloads: a body past the limit (declared or streamed without a
length) or bytes that do not hash to the address are refused in one line, never returned."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from node.errors import StorageError
from node.storage.api import ApiBlobStore
from node.storage.base import address_of

LIMIT = 4096


class _Hostile(BaseHTTPRequestHandler):
    """Serves ``server.body``; declares its length only when ``server.declare`` is set."""

    protocol_version = "HTTP/1.0"  # no length: the body ends when the connection closes

    def do_GET(self) -> None:
        body: bytes = self.server.body  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if self.server.declare:  # type: ignore[attr-defined]
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)  # the client may hang up once it has seen enough

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()


def _store(httpd: ThreadingHTTPServer) -> ApiBlobStore:
    return ApiBlobStore(f"http://127.0.0.1:{httpd.server_address[1]}", timeout=10, max_bytes=LIMIT)


@pytest.mark.parametrize("declare", [True, False])
def test_a_body_past_the_limit_is_refused(server: ThreadingHTTPServer, declare: bool) -> None:
    body = b"b" * (LIMIT * 64)
    server.body, server.declare = body, declare  # type: ignore[attr-defined]
    with pytest.raises(StorageError, match=f"is larger than the limit of {LIMIT} bytes") as caught:
        _store(server).get(address_of(body))
    assert "\n" not in str(caught.value)


def test_bytes_that_do_not_hash_to_the_address_are_refused(server: ThreadingHTTPServer) -> None:
    server.body, server.declare = b"swapped", True  # type: ignore[attr-defined]
    wanted = address_of(b"the real blob")
    with pytest.raises(StorageError, match=f"blob {wanted} is corrupt: its bytes hash to"):
        _store(server).get(wanted)


def test_a_body_within_the_limit_is_returned(server: ThreadingHTTPServer) -> None:
    body = b"c" * LIMIT
    server.body, server.declare = body, False  # type: ignore[attr-defined]
    assert _store(server).get(address_of(body)) == body
