"""``erdv serve --workers N``: every worker takes its share of the connections (app/core/serving.py)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from multiprocessing.reduction import ForkingPickler
from pathlib import Path

import httpx
import pytest

from app.core.serving import ReusePortSocket, reuse_port_supported
from tests.helpers.cli import free_port, stop

pytestmark = pytest.mark.skipif(not reuse_port_supported(), reason="SO_REUSEPORT balancing: Linux")


def test_a_worker_unpickles_a_listening_socket_of_its_own_on_the_parents_port() -> None:
    with ReusePortSocket.bind_to("127.0.0.1", 0) as parent:
        port = parent.getsockname()[1]
        # what uvicorn's supervisor does to hand its sockets to a spawned worker
        child = ForkingPickler.loads(ForkingPickler.dumps(parent))
        with child:
            assert child.fileno() != parent.fileno()
            assert child.getsockname() == ("127.0.0.1", port)
            assert child.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 1
            child.listen()
            # the parent never listens: every connection goes to a worker's socket
            with socket.create_connection(("127.0.0.1", port), timeout=5):
                accepted, _ = child.accept()
                accepted.close()


def test_a_port_taken_by_another_program_is_refused() -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        with pytest.raises(OSError, match="Address already in use"):
            ReusePortSocket.bind_to("127.0.0.1", other.getsockname()[1])


def _workers(pid: int) -> list[int]:
    """The server's worker processes (not multiprocessing's resource tracker)."""
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        out.extend(int(x) for x in (task / "children").read_text().split())
    return [p for p in out if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes()]


def _sockets_on(port: int, state: str) -> set[str]:
    """Inodes of this host's TCP sockets in ``state`` whose local port is ``port``."""
    inodes: set[str] = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
            inodes.add(fields[9])
    return inodes


ESTABLISHED, LISTEN = "01", "0A"


def _sockets_of(pid: int) -> set[str]:
    found: set[str] = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            found.add(target[len("socket:[") : -1])
    return found


@pytest.fixture(scope="module")
def two_workers(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    tmp_path = tmp_path_factory.mktemp("serve")
    env = {
        **os.environ,
        "ERDV_ENV": "development",
        "ERDV_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'erdv.db'}",
        "ERDV_DATA_DIR": str(tmp_path / "data"),
        "ERDV_JOBS_ENABLED": "false",
        "ERDV_LOG_LEVEL": "WARNING",
    }
    env.pop("ERDV_REDIS_URL", None)
    erdv = [sys.executable, "-m", "app"]
    subprocess.run([*erdv, "migrate"], env=env, check=True, capture_output=True, timeout=120)  # noqa: S603
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - our own CLI
        [*erdv, "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while len(_workers(process.pid)) < 2 or not _ready(port):
            assert process.poll() is None, "erdv serve exited"
            assert time.monotonic() < deadline, "erdv serve did not start"
            time.sleep(0.2)
        time.sleep(1)  # the second worker too
        yield port, process
    finally:
        stop(process)


def _ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _burst(port: int, server: int, count: int) -> list[int]:
    """Open ``count`` keep-alive connections at once, as a load balancer or wrk does; how many each
    worker holds."""
    clients = [socket.socket() for _ in range(count)]
    try:
        for client in clients:
            client.setblocking(False)
            client.connect_ex(("127.0.0.1", port))
        for client in clients:
            client.setblocking(True)
            client.settimeout(10)
            client.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        for client in clients:
            assert client.recv(4096).startswith(b"HTTP/1.1 200")
        established = _sockets_on(port, ESTABLISHED)
        return [len(_sockets_of(pid) & established) for pid in _workers(server)]
    finally:
        for client in clients:
            client.close()


def test_each_worker_listens_on_a_socket_of_its_own(
    two_workers: tuple[int, subprocess.Popen[bytes]],
) -> None:
    """The mechanism, without timing: one accept queue per worker, so that the kernel, not the
    race to wake up first, decides which worker takes a connection."""
    port, server = two_workers
    listening = _sockets_on(port, LISTEN)
    mine = [_sockets_of(pid) & listening for pid in _workers(server.pid)]
    assert len(mine) == 2
    assert all(len(sockets) == 1 for sockets in mine), mine
    assert mine[0] != mine[1]
    assert not _sockets_of(server.pid) & listening  # the parent's socket is bound, not listening


def test_connections_opened_together_are_spread_over_the_workers(
    two_workers: tuple[int, subprocess.Popen[bytes]],
) -> None:
    """With one shared accept queue, the first worker to wake could take every connection waiting
    and keep it (measured under wrk: one worker at full CPU, the other idle, in three bursts of
    four). Spread by the kernel, each worker gets some: a fair hash gives all 16 to one worker 2
    times in 65,536."""
    port, server = two_workers
    for _ in range(4):
        held = _burst(port, server.pid, 16)
        assert sum(held) == 16
        assert all(count > 0 for count in held), held
        time.sleep(0.5)
