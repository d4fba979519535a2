"""Test fixtures: every database test runs on SQLite and on PostgreSQL.

- ``backend`` is parametrized (``sqlite``, ``postgres``). PostgreSQL runs when ``ERDV_TEST_POSTGRES_URL``
  names a server; ``ERDV_REQUIRE_POSTGRES=1`` (CI) turns a missing server into a failure, not a skip.
- Isolation: SQLite gets a fresh copy of a database migrated once per test session; PostgreSQL gets a
  throwaway database created (and migrated) once per test session, dropped at the end, and every table
  is truncated after each test.
- ``client`` is an httpx ``AsyncClient`` over the ASGI app, lifespan included.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
)

from app.core import migrate
from app.core.db import create_engine, session_factory
from app.core.settings import Settings
from app.main import create_app
from tests.factories import People
from tests.helpers.backends import (
    POSTGRES_URL_ENV,
    TEST_ENCRYPTION_KEY,
    TEST_SECRET,
    Backend,
    admin_sql,
    truncate_all,
)
from tests.helpers.lifespan import lifespan


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgres: runs against PostgreSQL")
    config.addinivalue_line(
        "markers", "only_backend(name): run this database test on one backend only"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tag PostgreSQL runs, and drop the runs an ``only_backend`` marker rules out (no skips)."""
    kept, dropped = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        name = callspec.params.get("backend") if callspec is not None else None
        only = item.get_closest_marker("only_backend")
        if name is not None and only is not None and name not in only.args:
            dropped.append(item)
            continue
        if name == "postgres":
            item.add_marker(pytest.mark.postgres)
        kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    migrate.upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    server_url = os.environ.get(POSTGRES_URL_ENV)
    if not server_url:
        if os.environ.get("ERDV_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{POSTGRES_URL_ENV} is not set but ERDV_REQUIRE_POSTGRES=1")
        pytest.skip(f"{POSTGRES_URL_ENV} not set: PostgreSQL tests skipped")
    name = f"erdv_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(admin_sql(server_url, f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        migrate.upgrade(url)
        yield url
    finally:
        asyncio.run(admin_sql(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgres"])
def backend(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[Backend]:
    if request.param == "sqlite":
        path = tmp_path / "erdv.db"
        shutil.copyfile(sqlite_template, path)
        yield Backend("sqlite", f"sqlite+aiosqlite:///{path}")
        return
    url: str = request.getfixturevalue("postgres_database")
    yield Backend("postgres", url)
    asyncio.run(truncate_all(url))


@pytest.fixture
def settings(backend: Backend, tmp_path: Path) -> Settings:
    return Settings(
        env="test",
        database_url=backend.url,
        data_dir=tmp_path / "data",
        secret_key=TEST_SECRET,
        encryption_key=TEST_ENCRYPTION_KEY,
        public_url="http://testserver",
        jobs_enabled=False,  # tests run jobs explicitly (tests/core/test_jobs.py)
        # cheap argon2 for speed; tests about hashing cost use ``full_cost_settings``
        argon2_memory_kib=64,
        argon2_time_cost=1,
    )


@pytest.fixture
def full_cost_settings(settings: Settings) -> Settings:
    """The production argon2 cost (m=19 MiB, t=2, p=1), for tests about hashing and timing."""
    return settings.model_copy(
        update={"argon2_memory_kib": 19_456, "argon2_time_cost": 2, "argon2_parallelism": 1}
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with lifespan(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def people(app: FastAPI, settings: Settings) -> AsyncIterator[People]:
    """Makes people who sign up and sign in through HTTP (``tests/factories.py``)."""
    factory = People(app, settings)
    yield factory
    await factory.aclose()


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    """A separate engine for tests that inspect or tamper with the database directly."""
    eng = create_engine(settings)
    yield eng
    await eng.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """Settings for an ``erdv`` subprocess on its own SQLite database (``tests/helpers/cli.py``)."""
    return {
        "ERDV_DATA_DIR": str(tmp_path / "var"),
        "ERDV_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'var' / 'erdv.db'}",
        "ERDV_ENV": "development",
    }
