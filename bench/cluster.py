"""A throwaway PostgreSQL cluster: ``initdb`` and ``pg_ctl`` on a free port, or a streaming standby.

The fault tests restart, freeze and starve a database server; they cannot do that to the shared
server the rest of the suite uses. The replica tests and bench row B13 need a primary and its
standby. Each cluster lives in a temporary folder and is removed at the
end. ``initdb`` and ``pg_ctl`` refuse to run as root (CI runs as root), so as root they run as the
``postgres`` OS user (Debian's ``postgresql`` package creates it), through ``runuser``; as anyone
else they run as that user. The binaries come from ``ERDV_TEST_PG_BIN``, else the newest
``/usr/lib/postgresql/<version>/bin`` (Debian's layout), else ``pg_config --bindir``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from bench.ports import free_port

#: ``ERDV_REQUIRE_FAULTS=1`` (CI) makes a missing tool a failure instead of a skip
REQUIRE_ENV = "ERDV_REQUIRE_FAULTS"


class ClusterUnavailable(RuntimeError):
    """This machine cannot run a throwaway cluster (no binaries, no unprivileged user)."""


def postgres_bin() -> Path:
    explicit = os.environ.get("ERDV_TEST_PG_BIN")
    if explicit:
        return Path(explicit)
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if versions:
        return versions[-1].parent
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run(  # noqa: S603 - the system pg_config, fixed argument
            [pg_config, "--bindir"], capture_output=True, text=True, check=False
        )
        if out.returncode == 0 and (Path(out.stdout.strip()) / "initdb").exists():
            return Path(out.stdout.strip())
    raise ClusterUnavailable("no PostgreSQL server binaries (initdb, pg_ctl) on this machine")


def _as_user() -> list[str]:
    """The prefix that runs a command as an unprivileged user: ``runuser -u postgres --`` as root."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    try:
        import pwd

        pwd.getpwnam("postgres")
    except KeyError as error:
        raise ClusterUnavailable("running as root and there is no 'postgres' OS user") from error
    if runuser is None:
        raise ClusterUnavailable("running as root and runuser is missing")
    return [runuser, "-u", "postgres", "--"]


class Cluster:
    """One PostgreSQL server: ``start``, ``stop``, ``restart``, ``freeze``/``thaw`` (SIGSTOP and
    SIGCONT to every one of its processes), ``url`` for SQLAlchemy, ``psql`` for the test."""

    def __init__(self, *, max_connections: int = 50, primary: Cluster | None = None) -> None:
        self.bin = postgres_bin()
        self.max_connections = max_connections
        self.prefix = _as_user()
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="erdv-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        # the postgres user must reach its data folder; nothing secret lives here
        os.chmod(self.root, 0o755)  # noqa: S103
        if self.prefix:
            shutil.chown(self.root, "postgres", "postgres")
        if primary is None:
            self._run(
                self.bin / "initdb", "-D", self.data, "-U", "postgres", "--auth=trust",
                "-E", "UTF8", "--no-sync", "--no-instructions",
            )  # fmt: skip
        else:
            # a streaming standby: a base backup of the running primary, with the WAL it needs
            # streamed alongside (-X stream), and -R's standby.signal and primary_conninfo
            # (initdb's pg_hba.conf lets 127.0.0.1 replicate with trust)
            self._run(
                self.bin / "pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port),
                "-U", "postgres", "-D", self.data, "-R", "-X", "stream", "--no-sync",
                "-c", "fast",
            )  # fmt: skip
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"port = {self.port}\n"
                "listen_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.root}'\n"
                f"max_connections = {max_connections}\n"
                "superuser_reserved_connections = 3\n"
                "shared_buffers = 16MB\n"
                "fsync = on\n"
            )
        self.frozen: list[int] = []

    def _run(self, *args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(  # noqa: S603 - the cluster's own binaries, fixed arguments
            [*self.prefix, *(str(a) for a in args)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stdout}{done.stderr}")
        return done

    def standby(self) -> Cluster:
        """A streaming replica of this running cluster, on its own port (not started), with as many
        connections as the primary (a hot standby refuses to run with fewer)."""
        return Cluster(max_connections=self.max_connections, primary=self)

    def replayed(self) -> str:
        """The standby's last replayed WAL position (``pg_last_wal_replay_lsn``)."""
        return self.psql("SELECT pg_last_wal_replay_lsn()")

    def caught_up_with(self, primary: Cluster, timeout: float = 60) -> None:
        """Wait until this standby replayed everything ``primary`` wrote until now."""
        target = primary.written()
        query = f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn"
        if not wait_until(lambda: self.psql(query) == "t", timeout):
            raise RuntimeError("the standby did not catch up")

    def written(self) -> str:
        """The primary's current WAL position (``pg_current_wal_lsn``)."""
        return self.psql("SELECT pg_current_wal_lsn()")

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def database_url(self, name: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{name}"

    def start(self) -> None:
        try:
            self._run(
                self.bin / "pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "60", "start"
            )
        except RuntimeError as error:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{error}\nserver log:\n{log}") from error

    def stop(self, mode: str = "fast") -> None:
        self._run(self.bin / "pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "60", "stop")

    def restart(self, mode: str = "fast") -> None:
        self._run(
            self.bin / "pg_ctl", "-D", self.data, "-l", self.log, "-m", mode, "-w", "-t", "60",
            "restart",
        )  # fmt: skip

    def psql(self, sql: str, database: str = "postgres") -> str:
        done = self._run(
            self.bin / "psql", "-X", "-qAt", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
            "-p", str(self.port), "-U", "postgres", "-d", database, "-c", sql,
        )  # fmt: skip
        return done.stdout.strip()

    def processes(self) -> list[int]:
        """The postmaster and every process it started."""
        pid = int((self.data / "postmaster.pid").read_text().splitlines()[0])
        return [pid, *_descendants(pid)]

    def freeze(self) -> None:
        """SIGSTOP every process of the server: it accepts TCP connections (the kernel does) and
        answers nothing, as a hung host or a stalled disk would."""
        self.frozen = self.processes()
        for pid in self.frozen:
            os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        for pid in self.frozen:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        self.frozen = []

    def destroy(self) -> None:
        self.thaw()
        with contextlib.suppress(Exception):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


def _descendants(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            out.append(int(child))
            out.extend(_descendants(int(child)))
    return out


def wait_until(predicate: object, timeout: float, interval: float = 0.1) -> bool:
    """Poll ``predicate()`` until it is true or ``timeout`` seconds passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(interval)
    return bool(predicate())  # type: ignore[operator]
