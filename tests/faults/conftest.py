"""The fault suite's harness: real ``erdv serve`` processes, a bulk-made world to drive them, a
throwaway PostgreSQL cluster, and a real SMTP server.

Every fault test drives erdv as users meet it: over TCP, against ``erdv serve --workers N`` in its
own process group (so a test can ``kill -9`` the supervisor and its workers at once), with a
database filled by ``bench.dataset`` (listed practitioners with opening hours, consenting patients
with live sessions: the rows erdv itself writes, made in bulk). Each test is bounded in time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from aiosmtpd.controller import Controller

from app.core import migrate
from app.core.settings import Settings
from bench import dataset
from bench.cluster import REQUIRE_ENV, Cluster, ClusterUnavailable
from bench.dataset import WEEKLY_HOURS, ZONE, Workload
from tests.helpers.backends import TEST_ENCRYPTION_KEY, TEST_SECRET
from tests.helpers.cli import free_port

ROOT = Path(__file__).resolve().parents[2]


def server_env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ERDV_")}
    env |= {
        "ERDV_ENV": "test",
        "ERDV_DATABASE_URL": database_url,
        "ERDV_DATA_DIR": str(data_dir),
        "ERDV_SECRET_KEY": TEST_SECRET,
        "ERDV_ENCRYPTION_KEY": TEST_ENCRYPTION_KEY,
        "ERDV_PUBLIC_URL": "http://testserver",
        "ERDV_ARGON2_MEMORY_KIB": "64",
        "ERDV_ARGON2_TIME_COST": "1",
        "ERDV_JOBS_ENABLED": "false",
        # the load comes from one address and a few patients: not what the allowances are about
        "ERDV_THROTTLE_IP_FREE_FAILURES": "100000",
        "ERDV_BOOKING_RATE_PER_HOUR": "10000",
        "ERDV_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    return env | extra


@dataclass
class Served:
    """``erdv serve`` in a process group of its own."""

    env: dict[str, str]
    workers: int
    log: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> Served:
        handle = self.log.open("ab")
        self.proc = subprocess.Popen(  # noqa: S603 - our own entry point, fixed arguments
            [sys.executable, "-m", "app", "serve", "--port", str(self.port),
             "--workers", str(self.workers)],
            env=self.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        handle.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"erdv serve exited:\n{self.log.read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    # every worker up, not only the first to answer
                    time.sleep(1.0 if self.workers > 1 else 0.1)
                    return self
            time.sleep(0.1)
        raise RuntimeError(f"erdv serve did not start:\n{self.log.read_text()[-3000:]}")

    def kill9(self) -> None:
        """SIGKILL to the supervisor and every worker at once: a power cut, for the process."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[Served]]:
    """Servers a test started; each is stopped at the end whatever happened."""
    started: list[Served] = []
    yield started
    for served in started:
        served.stop()


def serve(
    started: list[Served], database_url: str, data_dir: Path, *, workers: int = 2, **env: str
) -> Served:
    served = Served(server_env(database_url, data_dir, **env), workers, data_dir / "server.log")
    data_dir.mkdir(parents=True, exist_ok=True)
    started.append(served)
    return served.start()


async def build_world(
    url: str, settings: Settings, *, practitioners: int, patients: int
) -> Workload:
    """A migrated database with listed practitioners and signed-in, consenting patients."""
    return await dataset.build(url, settings, practitioners=practitioners, patients=patients)


def free_slots(workload: Workload, count: int, first_day: int = 2) -> list[dict[str, str]]:
    """``count`` distinct bookable 15-minute slots (booking bodies), practitioners innermost."""
    zone = ZoneInfo(ZONE)
    today = datetime.now(zone).date()
    out: list[dict[str, str]] = []
    day = first_day
    while len(out) < count:
        date = today + timedelta(days=day)
        day += 1
        if date.weekday() >= 5:
            continue
        for begin, end in WEEKLY_HOURS:
            at = datetime.combine(date, datetime.strptime(begin, "%H:%M").time(), zone)
            stop = datetime.combine(date, datetime.strptime(end, "%H:%M").time(), zone)
            while at + timedelta(minutes=15) <= stop:
                for practitioner in workload.practitioners:
                    out.append(
                        {
                            "practitioner_id": practitioner["id"],
                            "visit_reason_id": practitioner["reason_15"],
                            "start": at.isoformat(),
                        }
                    )
                at += timedelta(minutes=15)
    return out[:count]


def patient_headers(patient: dict[str, str], **extra: str) -> dict[str, str]:
    return {
        "Cookie": f"erdv_session={patient['cookie']}",
        "X-CSRF-Token": patient["csrf"],
        **extra,
    }


async def migrated(url: str) -> str:
    await asyncio.to_thread(migrate.upgrade, url)
    return url


@pytest.fixture
def keys(tmp_path: Path) -> Settings:
    """The secrets and argon2 cost the served processes use (``server_env``), for building a world
    on a database that is not the ``backend`` fixture's."""
    return Settings(
        env="test",
        data_dir=tmp_path / "keys",
        secret_key=TEST_SECRET,
        encryption_key=TEST_ENCRYPTION_KEY,
        argon2_memory_kib=64,
        argon2_time_cost=1,
    )


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    """A throwaway PostgreSQL cluster, started, with a migrated database ``erdv``."""
    try:
        made = Cluster(max_connections=40)
    except ClusterUnavailable as error:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{error} (and {REQUIRE_ENV}=1)")
        pytest.skip(str(error))
    try:
        made.start()
        made.psql("CREATE DATABASE erdv")
        yield made
    finally:
        made.destroy()


class SmtpSink:
    """A real SMTP server (aiosmtpd) on a free port that keeps what it receives; ``delay`` makes
    it answer each message that many seconds late, ``hold`` keeps every answer until released."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.messages: list[dict[str, Any]] = []
        self.released = asyncio.Event()
        self.held = False
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.held:
            await self.released.wait()
        if self.delay:
            await asyncio.sleep(self.delay)
        import email
        import email.policy

        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(
            {
                "to": list(envelope.rcpt_tos),
                "subject": str(parsed["Subject"]),
                "message_id": str(parsed["Message-ID"]),
            }
        )
        return "250 OK"

    def release(self) -> None:
        self.held = False
        loop = self.controller.loop
        loop.call_soon_threadsafe(self.released.set)

    def recipients(self) -> set[str]:
        return {to for message in self.messages for to in message["to"]}

    def env(self) -> dict[str, str]:
        return {
            "ERDV_MAIL_BACKEND": "smtp",
            "ERDV_SMTP_HOST": "127.0.0.1",
            "ERDV_SMTP_PORT": str(self.port),
        }


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.controller.start()
    try:
        yield sink
    finally:
        if sink.held:
            sink.release()
        sink.controller.stop()
