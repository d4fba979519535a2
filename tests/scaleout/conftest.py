"""The scale-out suite (issue 29): several ``erdv serve`` instances behind HAProxy, and a real
streaming replica. It runs ``erdv serve`` as the fault suite does, and shares its harness's
fixtures (real processes in their own groups, a real SMTP server, the keys).

A multi-instance deployment is a PostgreSQL deployment (SQLite is one file on one host): the
``deployment`` fixture runs on a database of its own on the test server (``ERDV_TEST_POSTGRES_URL``),
with Redis for the throttles, as docs/scaling.md deploys it. It is made once per module: starting
two instances and a proxy costs seconds, and each test uses patients of its own.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from redis import Redis
from sqlalchemy.engine import make_url

from app.core.settings import Settings
from bench.cluster import REQUIRE_ENV
from bench.dataset import Workload
from bench.haproxy import Haproxy, HaproxyUnavailable
from tests.faults.conftest import (
    Served,
    SmtpSink,
    build_world,
    keys,
    migrated,
    server_env,
    servers,
    smtp,
)
from tests.helpers.backends import POSTGRES_URL_ENV, TEST_ENCRYPTION_KEY, TEST_SECRET, admin_sql

__all__ = ["keys", "servers", "smtp"]

#: a Redis database of the suite's own (the throttle store tests use 15), emptied at the start
REDIS_URL = "redis://127.0.0.1:6379/14"
PATIENTS = 8


@dataclass
class Deployment:
    """Two instances (``erdv serve`` each, own port, own data folder, own process group) on one
    PostgreSQL database and one Redis, and HAProxy in front of them."""

    instances: list[Served]
    proxy: Haproxy
    world: Workload
    database_url: str
    smtp: SmtpSink

    @property
    def url(self) -> str:
        return self.proxy.url

    def logs(self) -> list[str]:
        return [served.log.read_text(errors="replace") for served in self.instances]


def _postgres_server() -> str:
    server_url = os.environ.get(POSTGRES_URL_ENV)
    if not server_url:
        if os.environ.get("ERDV_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{POSTGRES_URL_ENV} is not set but ERDV_REQUIRE_POSTGRES=1")
        pytest.skip(f"{POSTGRES_URL_ENV} not set: the multi-instance tests need PostgreSQL")
    return server_url


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    server_url = _postgres_server()
    name = f"erdv_scaleout_{uuid.uuid4().hex[:12]}"
    asyncio.run(admin_sql(server_url, f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    root = tmp_path_factory.mktemp("deployment")
    Redis.from_url(REDIS_URL).flushdb()
    sink = SmtpSink()
    sink.controller.start()
    instances: list[Served] = []
    proxy: Haproxy | None = None
    try:
        settings = Settings(
            env="test",
            data_dir=root / "keys",
            secret_key=TEST_SECRET,
            encryption_key=TEST_ENCRYPTION_KEY,
            argon2_memory_kib=64,
            argon2_time_cost=1,
        )
        world = asyncio.run(_world(url, settings))
        for number in (1, 2):
            data_dir = root / f"instance{number}"
            data_dir.mkdir()
            env = server_env(url, data_dir) | sink.env()
            env |= {
                # development: the logs are configured (JSON lines, the jobs' "job finished")
                "ERDV_ENV": "development",
                "ERDV_LOG_JSON": "true",
                "ERDV_LOG_LEVEL": "INFO",
                "ERDV_REDIS_URL": REDIS_URL,
                "ERDV_JOBS_ENABLED": "true",
                "ERDV_JOBS_TICK_SECONDS": "0.5",
                # every upcoming visit is within reach of a reminder
                "ERDV_REMINDER_HOURS": "720",
                "ERDV_OUTBOX_POLL_SECONDS": "0.5",
                # the whole pool of both instances fits in the test server's connections
                "ERDV_DB_POOL_SIZE": "4",
                "ERDV_DB_MAX_OVERFLOW": "2",
                "ERDV_SERVER_PROCESSES": "2",
            }
            served = Served(env, 1, data_dir / "server.log")
            instances.append(served)
            served.start()
        proxy = Haproxy([f"127.0.0.1:{s.port}" for s in instances], root / "haproxy.log")
        try:
            proxy.start()
        except HaproxyUnavailable as error:
            if os.environ.get(REQUIRE_ENV) == "1":
                pytest.fail(f"{error} (and {REQUIRE_ENV}=1)")
            pytest.skip(str(error))
        yield Deployment(instances, proxy, world, url, sink)
    finally:
        if proxy is not None:
            proxy.stop()
        for served in instances:
            served.stop()
        sink.controller.stop()
        asyncio.run(admin_sql(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _world(url: str, settings: Settings) -> Workload:
    await migrated(url)
    return await build_world(url, settings, practitioners=2, patients=PATIENTS)
