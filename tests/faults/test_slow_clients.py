"""Slow and silent clients are timed out; connections per worker are bounded (issue 21, item 5).

The outside test kept connections that never sent anything, or sent their headers or body slowly,
open past 40 s. These tests talk raw TCP to ``erdv serve`` with short limits
(``app.core.serving.GuardedHttpToolsProtocol``), and check that it speaks HTTP only: erdv has
no WebSocket route, and ``erdv serve`` loads no WebSocket implementation (``app.cli.server``).
"""

from __future__ import annotations

import json
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.conftest import Served, serve

HEADER_SECONDS = 1.0
BODY_SECONDS = 1.5
KEEPALIVE_SECONDS = 1
MAX_CONNECTIONS = 6
#: the server's timer plus a loaded machine's delay
SLACK = 2.0


def _connect(served: Served) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", served.port), timeout=10)
    sock.settimeout(10)
    return sock


def _read_until_closed(sock: socket.socket) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and how long that took."""
    started = time.monotonic()
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data, time.monotonic() - started


@pytest.fixture(scope="module")
def served(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One server for the module: the limits are about connections, not data."""
    folder = tmp_path_factory.mktemp("slow-clients")
    shutil.copyfile(sqlite_template, folder / "erdv.db")
    started: list[Served] = []
    try:
        yield serve(
            started, f"sqlite+aiosqlite:///{folder / 'erdv.db'}", folder / "served", workers=1,
            ERDV_HTTP_HEADER_TIMEOUT_SECONDS=str(HEADER_SECONDS),
            ERDV_HTTP_BODY_TIMEOUT_SECONDS=str(BODY_SECONDS),
            ERDV_HTTP_KEEPALIVE_SECONDS=str(KEEPALIVE_SECONDS),
            ERDV_HTTP_MAX_CONNECTIONS=str(MAX_CONNECTIONS),
        )  # fmt: skip
    finally:
        for server in started:
            server.stop()


def test_a_connection_that_never_sends_is_closed(served: Served) -> None:
    with _connect(served) as sock:
        data, waited = _read_until_closed(sock)
    assert data == b""
    assert waited < HEADER_SECONDS + SLACK


def test_slow_headers_get_408_and_are_closed(served: Served) -> None:
    with _connect(served) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        for byte in b"X-Slow: 1234567890":  # a byte every 0.2 s: never a complete header
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break
            time.sleep(0.2)
        data, _ = _read_until_closed(sock)
        waited = time.monotonic() - started
    assert data.startswith(b"HTTP/1.1 408 "), data
    assert json.loads(data.split(b"\r\n\r\n", 1)[1])["code"] == "request_timeout"
    assert waited < HEADER_SECONDS + SLACK


def test_a_body_that_never_comes_is_cut_off(served: Served) -> None:
    with _connect(served) as sock:
        started = time.monotonic()
        sock.sendall(
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 200\r\n\r\n{"email": '
        )
        _read_until_closed(sock)
        waited = time.monotonic() - started
    assert waited < BODY_SECONDS + SLACK


def test_an_idle_kept_alive_connection_is_closed(served: Served) -> None:
    with _connect(served) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        started = time.monotonic()
        data, _ = _read_until_closed(sock)
        waited = time.monotonic() - started
    assert data.startswith(b"HTTP/1.1 200 ")
    assert waited < KEEPALIVE_SECONDS + SLACK


def test_connections_beyond_the_bound_get_503_at_once(served: Served) -> None:
    held = [_connect(served) for _ in range(MAX_CONNECTIONS)]
    try:
        time.sleep(0.2)  # all accepted by the worker
        with _connect(served) as extra:
            started = time.monotonic()
            data, _ = _read_until_closed(extra)
            waited = time.monotonic() - started
        assert data.startswith(b"HTTP/1.1 503 "), data
        assert b"retry-after: 1" in data.lower()
        assert waited < 1.0
    finally:
        for sock in held:
            sock.close()
    time.sleep(0.2)
    with _connect(served) as again:  # the bound frees up with the connections
        again.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data, _ = _read_until_closed(again)
    assert data.startswith(b"HTTP/1.1 200 ")


def test_a_websocket_handshake_is_answered_as_plain_http(served: Served) -> None:
    """With a WebSocket stack loaded, uvicorn would switch protocols and the app would refuse
    the socket (403); without one the request is an ordinary GET."""
    with _connect(served) as sock:
        sock.sendall(
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, close\r\n"
            b"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        )
        data, _ = _read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 200 "), data
    assert b"upgrade: websocket" not in data.lower()
