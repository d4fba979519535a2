"""Several worker processes on one port, each with its own listening socket (``SO_REUSEPORT``).

Why: uvicorn's ``--workers`` binds one socket in the parent and every worker accepts from that one
queue. When connections arrive together (a load balancer opening its keep-alive pool, a browser's
six connections, a benchmark), the first worker to wake accepts every connection waiting, and
keeps them for their whole life: measured under wrk, one worker served 16 connections of 16 at
full CPU while the other stood idle, so ``--workers 2`` ran at the speed of one (bench/README.md).
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
"""

from __future__ import annotations

import socket
import sys
from typing import Any


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
