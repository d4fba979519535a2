"""Several worker processes on one port, each with its own listening socket (``SO_REUSEPORT``).

Why: uvicorn's ``--workers`` binds one socket in the parent and every worker accepts from that one
queue. When connections arrive together (a load balancer opening its keep-alive pool, a browser's
six connections, a benchmark), the first worker to wake accepts every connection waiting, and keeps
them for their whole life, so N workers can run at the speed of one
(bench/README.md "Performance rules in the code").
With ``SO_REUSEPORT`` (Linux 3.9 and later) each worker listens on a socket of its own, bound to
the same address, and the kernel hands each new connection to one of them by a hash of its
addresses: an even spread, and no thundering herd.

How: uvicorn's supervisor (which restarts dead workers and relays signals) passes the parent's
sockets to each worker by pickling them. ``ReusePortSocket`` pickles as "bind a new socket to this
address" instead of as a duplicate of the parent's descriptor, so each worker, the first ones and
any replacement, unpickles a listening socket of its own. The parent's socket is bound (it
reserves the port, and a port already taken fails at once, in the parent) but never listens, so
the kernel sends it nothing.

The price, as for nginx's ``reuseport``: connections still waiting in a worker's accept queue when
that worker dies are reset instead of being taken by another worker.

**Slow and silent clients** (README.md "The HTTP service"). uvicorn times out an idle keep-alive
connection between requests, but nothing else: a client that opens a connection and sends nothing,
sends its headers a byte at a time, or announces a body and never sends it, holds the connection
(and, once the body is awaited, a request task and perhaps a database session) for ever. erdv runs
without a proxy in front (the Dockerfile serves it directly behind a TLS terminator that may not
buffer), so the server bounds these itself, as nginx's ``client_header_timeout``,
``client_body_timeout`` and ``limit_conn`` do: ``GuardedHttpToolsProtocol`` gives each request
``ERDV_HTTP_HEADER_TIMEOUT_SECONDS`` for its headers (counted from the connection's opening, or from
the first byte of a request on a kept-alive one), then ``ERDV_HTTP_BODY_TIMEOUT_SECONDS`` for its
body; past either, the client gets 408 ``request_timeout`` (when nothing else was sent yet) and the
connection is closed, and a handler waiting for the rest of the body sees the client gone. A worker
holds at most ``ERDV_HTTP_MAX_CONNECTIONS`` connections; one more is answered 503 with
``Retry-After`` and closed at once, so a flood of idle connections cannot exhaust file descriptors.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from dataclasses import dataclass
from functools import cache
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.core.problems import PROBLEM_MEDIA_TYPE, problem_bytes
from app.core.settings import get_settings


def reuse_port_supported() -> bool:
    """Linux balances connections between sockets sharing a port; other systems (BSD, macOS) accept
    the option with other semantics, so they keep uvicorn's shared socket."""
    return sys.platform == "linux" and hasattr(socket, "SO_REUSEPORT")


class ReusePortSocket(socket.socket):
    """A TCP socket bound with ``SO_REUSEPORT`` that re-binds itself, new, wherever it is unpickled."""

    @classmethod
    def bind_to(cls, host: str, port: int) -> ReusePortSocket:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = cls(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
        except BaseException:
            sock.close()
            raise
        return sock

    def __reduce__(self) -> tuple[Any, ...]:
        # The bound port, not the asked one: with port 0 every worker joins the port the parent got.
        host, port = self.getsockname()[:2]
        return (ReusePortSocket.bind_to, (host, port))


@dataclass(frozen=True)
class ClientLimits:
    header_seconds: float
    body_seconds: float
    max_connections: int


@cache
def client_limits() -> ClientLimits:
    """This process's limits, from its settings (each worker process reads its environment)."""
    settings = get_settings()
    return ClientLimits(
        settings.http_header_timeout_seconds,
        settings.http_body_timeout_seconds,
        settings.http_max_connections,
    )


def _answer(status: bytes, code: str, title: str, detail: str, extra: bytes = b"") -> bytes:
    body = problem_bytes(
        status=int(status[:3]), code=code, title=title, detail=detail, request_id=None
    )
    return (
        b"HTTP/1.1 " + status + b"\r\n"
        b"content-type: " + PROBLEM_MEDIA_TYPE.encode() + b"\r\n"
        b"content-length: "
        + str(len(body)).encode()
        + b"\r\n"
        + extra
        + b"connection: close\r\n\r\n"
        + body
    )


_TIMED_OUT = _answer(
    b"408 Request Timeout",
    "request_timeout",
    "Request timeout",
    "The request did not arrive in time.",
)
_TOO_MANY = _answer(
    b"503 Service Unavailable",
    "service_unavailable",
    "Service unavailable",
    "Too many connections; retry soon.",
    b"retry-after: 1\r\n",
)


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with read deadlines and a bound on connections (module
    docstring). One deadline at a time: the headers' from the connection's opening or a request's
    first byte, then the body's from the end of the headers, none while the app works on a request
    whose body has arrived (its database statements have their own timeouts)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limits = client_limits()
        self._deadline: asyncio.TimerHandle | None = None
        self._reading = False  # bytes of a request have arrived, and no answer started yet

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self._limits.max_connections:
            transport.write(_TOO_MANY)
            transport.close()
            return
        self._arm(self._limits.header_seconds)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._reading = True
        if self._deadline is None:  # a new request on a kept-alive connection
            self._arm(self._limits.header_seconds)

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._reading = False
        self._arm(self._limits.body_seconds)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._disarm()

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self._reading and (self.cycle is None or self.cycle.response_complete):
            self.transport.write(_TIMED_OUT)  # headers begun, nothing answered yet
        self.transport.close()
