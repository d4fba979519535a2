"""Engine configuration, the UTC column type and the one-transaction-per-request rule."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.core.db import (
    PreCommitHook,
    UTCDateTime,
    add_pre_commit_hook,
    commit,
    create_engine,
    metadata,
    rollback,
    session_factory,
)
from app.core.errors import Conflict
from app.core.request_db import DbSession, RequestDatabase
from app.core.settings import Settings
from tests.factories import People
from tests.helpers.backends import Backend
from tests.helpers.booking import ready_practitioner

probe = sa.Table(
    "_probe",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", UTCDateTime()),
)


@pytest.fixture
async def probe_table(engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    async with engine.begin() as connection:
        await connection.run_sync(probe.create, checkfirst=True)
    yield engine
    async with engine.begin() as connection:
        await connection.run_sync(probe.drop, checkfirst=True)


@pytest.mark.only_backend("sqlite")
async def test_sqlite_is_durable_and_checks_foreign_keys(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        assert (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
        assert (await connection.exec_driver_sql("PRAGMA synchronous")).scalar() == 2  # FULL
        assert (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
        assert (await connection.exec_driver_sql("PRAGMA busy_timeout")).scalar_one() >= 5000


@pytest.mark.only_backend("postgres")
async def test_postgres_connections_carry_the_bounds_and_the_storage_cost(
    engine: AsyncEngine,
) -> None:
    async with engine.connect() as connection:
        shown = {
            name: (await connection.exec_driver_sql(f"SHOW {name}")).scalar()
            for name in ("statement_timeout", "lock_timeout", "random_page_cost")
        }
    assert shown == {"statement_timeout": "10s", "lock_timeout": "5s", "random_page_cost": "1.1"}


async def test_utc_datetime_round_trips_as_aware_utc(probe_table: AsyncEngine) -> None:
    paris_summer = datetime(2027, 3, 29, 9, 0, tzinfo=timezone(timedelta(hours=2)))
    async with probe_table.begin() as connection:
        await connection.execute(probe.insert().values(id=1, at=paris_summer))
    async with probe_table.connect() as connection:
        stored = (await connection.execute(sa.select(probe.c.at))).scalar_one()
    assert stored == paris_summer
    assert stored.tzinfo is not None
    assert stored.utcoffset() == timedelta(0)
    assert stored == datetime(2027, 3, 29, 7, 0, tzinfo=UTC)


async def test_utc_datetime_refuses_naive_values(probe_table: AsyncEngine) -> None:
    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        async with probe_table.begin() as connection:
            await connection.execute(probe.insert().values(id=2, at=datetime(2027, 1, 1)))


async def test_request_transaction_commits_on_success_and_rolls_back_on_error(
    app: FastAPI, client: httpx.AsyncClient, probe_table: AsyncEngine
) -> None:
    @app.post("/api/v1/_test/probe/{value}")
    async def write(value: int, session: DbSession) -> dict[str, int]:
        await session.execute(probe.insert().values(id=value, at=datetime.now(UTC)))
        if value == 13:
            raise Conflict("unlucky")
        return {"id": value}

    assert (await client.post("/api/v1/_test/probe/7")).status_code == 200
    failed = await client.post("/api/v1/_test/probe/13")
    assert failed.status_code == 409
    assert failed.json()["code"] == "conflict"
    async with probe_table.connect() as connection:
        ids = (await connection.execute(sa.select(probe.c.id))).scalars().all()
    assert ids == [7]  # the failed request changed nothing


def test_every_constraint_is_named() -> None:
    """SQLite batch migrations need named constraints (app.core.db.NAMING_CONVENTION)."""
    for table in metadata.sorted_tables:
        for constraint in table.constraints:
            assert constraint.name, f"unnamed constraint on {table.name}"


@pytest.mark.only_backend("sqlite")
async def test_readonly_sessions_never_block_writers(
    engine: AsyncEngine, probe_table: AsyncEngine
) -> None:
    """A long export (read-only session) must not hold SQLite's write lock (app.core.db)."""
    reader_factory = session_factory(engine, readonly=True)
    writer_factory = session_factory(engine)
    async with reader_factory() as reader:
        await reader.execute(sa.select(probe.c.id))  # the read transaction is open now
        async with writer_factory() as writer:
            await writer.execute(probe.insert().values(id=99, at=datetime.now(UTC)))
            await asyncio.wait_for(writer.commit(), timeout=2)
        # the reader's snapshot predates the write
        assert (await reader.execute(sa.select(probe.c.id))).scalars().all() == []


async def test_a_rollback_forgets_what_the_transaction_buffered(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Entries buffered for a commit that never came must not ride along with the next one."""
    from app.audit.models import AuditAction
    from app.audit.repository import entry_table
    from app.audit.service import Actor, AuditTrail, audit_key

    key = audit_key(b"k" * 43)
    async with sessions() as session:
        await AuditTrail(session, key).record(AuditAction.AGENDA_READ, actor=Actor.system())
        await rollback(session)
        await AuditTrail(session, key).record(AuditAction.AUDIT_VERIFIED, actor=Actor.system())
        await commit(session)
        actions = (await session.execute(sa.select(entry_table.c.action))).scalars().all()
    assert actions == ["audit.verified"]


def _postgres_engine(url: str, idle_seconds: float) -> AsyncEngine:
    from sqlalchemy.ext.asyncio import create_async_engine

    from app.core.db import _ping_when_idle

    engine = create_async_engine(url, pool_size=1, max_overflow=0)
    _ping_when_idle(engine, idle_seconds)
    return engine


@pytest.mark.only_backend("postgres")
async def test_a_connection_in_use_is_not_pinged_before_each_checkout(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """asyncpg's ping is three round trips: not on every request, only after idleness."""
    pings: list[object] = []
    original = engine.sync_engine.dialect.do_ping

    def counted_ping(dbapi_connection: DBAPIConnection) -> bool:
        pings.append(dbapi_connection)
        return original(dbapi_connection)

    monkeypatch.setattr(engine.sync_engine.dialect, "do_ping", counted_ping)
    for _ in range(3):
        async with engine.connect() as connection:
            await connection.execute(sa.text("SELECT 1"))
    assert pings == []


@pytest.mark.only_backend("postgres")
async def test_a_burst_after_a_lull_reuses_the_connections_of_the_last_one(
    settings: Settings,
) -> None:
    """The default pool keeps what it opened: a second burst as wide as the first opens no
    PostgreSQL backend (with an overflow above a smaller pool, the lull between them closed the
    overflow connections, and the next burst opened them again)."""
    engine = create_engine(settings)
    opened: list[object] = []
    sa.event.listen(engine.sync_engine, "connect", lambda *_: opened.append(1))
    wide = settings.db_pool_size + settings.db_max_overflow

    async def burst() -> None:
        held = [await engine.connect() for _ in range(wide)]
        for connection in held:
            await connection.execute(sa.text("SELECT 1"))
        for connection in held:
            await connection.close()

    try:
        await burst()
        assert len(opened) == wide
        await burst()
        assert len(opened) == wide
    finally:
        await engine.dispose()


@pytest.mark.only_backend("postgres")
async def test_an_idle_connection_the_server_dropped_is_replaced(engine: AsyncEngine) -> None:
    """A server restart (here: the backend killed) while the connection sat in the pool: the
    checkout finds it dead and the request gets a fresh one instead of an error."""
    idle = _postgres_engine(engine.url.render_as_string(hide_password=False), 0.0)
    try:
        async with idle.connect() as connection:
            pid = (await connection.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one()
        async with engine.connect() as admin:
            await admin.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        async with idle.connect() as connection:
            again = (await connection.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one()
        assert again != pid
    finally:
        await idle.dispose()


class _Counting:
    """Wraps a session factory and counts the sessions it made."""

    def __init__(self, factory: async_sessionmaker[AsyncSession]) -> None:
        self.factory = factory
        self.made = 0

    def __call__(self) -> AsyncSession:
        self.made += 1
        return self.factory()


async def test_a_request_opens_only_the_sessions_it_uses(
    app: FastAPI, people: People, client: httpx.AsyncClient
) -> None:
    """Anonymous public reads (slots, health probes) open no transaction: there is no caller to
    look up, nothing to commit (``RequestDatabase``). A signed-in caller's request opens one, and
    reads from the primary (``read_from_primary``), never the replica's factory."""
    doctor, _ = await ready_practitioner(people)
    state = app.state
    writes = state.session_factory = _Counting(state.session_factory)
    reads = state.read_session_factory = _Counting(state.read_session_factory)
    primary = state.primary_read_session_factory = _Counting(state.primary_read_session_factory)

    assert (await client.get("/healthz")).status_code == 200
    assert (await client.get(f"/api/v1/practitioners/{doctor.account_id}/slots")).status_code == 200
    assert (writes.made, reads.made, primary.made) == (0, 1, 0)

    assert (await doctor.get(f"/api/v1/practitioners/{doctor.account_id}/slots")).status_code == 200
    # the cookie is looked up in the transaction; the slots are read from the primary
    assert (writes.made, reads.made, primary.made) == (1, 1, 1)


async def test_every_session_a_request_opened_is_given_back(
    app: FastAPI, people: People, client: httpx.AsyncClient, backend: Backend
) -> None:
    doctor, _ = await ready_practitioner(people)
    slots = f"/api/v1/practitioners/{doctor.account_id}/slots"
    for caller in (client, doctor):
        for _ in range(3):
            assert (await caller.get(slots)).status_code == 200
        assert (await caller.get(f"{slots}?from=not-a-date")).status_code == 422
    assert (
        await doctor.get("/api/v1/practitioners/00000000-0000-4000-8000-000000000000/slots")
    ).status_code == 404
    assert app.state.engine.pool.checkedout() == 0, backend.name


async def test_the_reader_is_given_back_even_if_the_transaction_fails_to_close() -> None:
    closed: list[str] = []

    class Failing:
        async def close(self) -> None:
            raise ConnectionError("lost while closing")

    class Reader:
        async def close(self) -> None:
            closed.append("reader")

    database = RequestDatabase(Failing, Reader)  # type: ignore[arg-type]
    assert isinstance(database.session, Failing)  # both opened, as a request would
    assert isinstance(database.reader, Reader)
    with pytest.raises(ConnectionError):
        await database.close()
    assert closed == ["reader"]


async def test_last_pre_commit_hooks_run_after_every_other_even_those_added_meanwhile(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The audit trail's hook runs last (app.core.db.add_pre_commit_hook): its writers' lock is
    never held while another hook works, and it appends what the others recorded."""
    ran: list[str] = []

    def hook(name: str, then: Callable[[AsyncSession], None] | None = None) -> PreCommitHook:
        async def run(session: AsyncSession) -> None:
            ran.append(name)
            if then is not None:
                then(session)

        return run

    async with sessions() as session:
        add_pre_commit_hook(session, "audit", hook("audit"), last=True)
        add_pre_commit_hook(
            session,
            "outbox",
            hook("outbox", lambda s: add_pre_commit_hook(s, "late", hook("late"))),
        )
        await commit(session)
    assert ran == ["outbox", "late", "audit"]
