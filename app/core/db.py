"""Database engine, sessions and column types shared by every domain.

One async engine per process. A request gets one session and one transaction, opened when first
needed (``RequestDatabase``): committed when the handler returns, before the response is sent
(FastAPI's ``scope="function"``), rolled back on any error, so a failed request changes nothing and an
acknowledged one is durable.

SQLite is the embedded default. It runs in WAL mode with ``synchronous=FULL`` (an acknowledged write
survives power loss) and every writing transaction starts with ``BEGIN IMMEDIATE``: SQLite allows one
writer, and a deferred transaction that reads and then writes can fail at once with ``SQLITE_BUSY``
when another writer got there first. Taking the write lock as the transaction begins makes writers
queue instead (in turn within a process and across processes: ``app.core.sqlite``), which is what
keeps the audit chain and the booking grid consistent. It begins at its first statement that writes
or reads under a lock (``FOR UPDATE``/``FOR SHARE``, ``lock_until_commit``); plain reads before it
run on their own, as each statement does on PostgreSQL. Read-only sessions begin deferred and never
take the lock. PostgreSQL uses asyncpg with a
bounded pool whose connections are checked after they sat idle (``_ping_when_idle``), so that a
restarted server is picked up again without a restart of erdv.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import partial
from typing import Any

from sqlalchemy import DateTime, MetaData, String, Table, bindparam, event, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel

from app.core import sqlite
from app.core.settings import Settings

logger = logging.getLogger("erdv.db")

#: Constraint names are part of the schema: Alembic needs them to alter SQLite tables in batch mode.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION
metadata: MetaData = SQLModel.metadata

#: a pooled PostgreSQL connection idle for longer is checked before use (``_ping_when_idle``)
PING_AFTER_IDLE_SECONDS = 10.0
READONLY_OPTION = "erdv_readonly"


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC instant on every backend.

    SQLite has no time zone type and returns naive values; PostgreSQL's ``timestamptz`` returns aware
    ones in the session zone. Both come back as aware UTC, and naive input is refused rather than
    guessed (a naive local time read as UTC is the bug the contract warns about).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def new_id() -> uuid.UUID:
    """Opaque, unguessable identifiers (random UUIDs), never sequences (docs/api.md "Conventions")."""
    return uuid.uuid4()


def create_engine(settings: Settings, *, url: str | None = None) -> AsyncEngine:
    """The process's engine, tuned per backend; ``url`` for another server of the same
    configuration (the read replica: ``create_replica_engine``)."""
    url = url or settings.database_url
    if settings.is_sqlite:
        database = _ensure_sqlite_dir(url)
        engine = create_async_engine(
            url,
            # statements on the event loop, lock waits and fsyncs in a thread (app.core.sqlite)
            async_creator=partial(
                sqlite.connect, database, timeout=settings.sqlite_busy_timeout_seconds
            ),
            hide_parameters=True,
        )
        _install_sqlite_pragmas(engine)
        return engine
    engine = create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        connect_args=_postgres_connect_args(settings),
        # SQL parameters are personal data and hashes: never in an error message or a log line
        hide_parameters=True,
    )
    _ping_when_idle(engine, PING_AFTER_IDLE_SECONDS)
    return engine


def create_replica_engine(settings: Settings) -> AsyncEngine | None:
    """The read replica's engine (``ERDV_DATABASE_REPLICA_URL``), or ``None`` without one.

    Same pool bounds and statement timeouts as the primary's: a replica that stops answering
    turns the anonymous directory reads into 503 ``database_unavailable`` within the same bounds,
    while bookings and everything signed-in, on the primary, go on (docs/scaling.md).
    """
    if settings.database_replica_url is None:
        return None
    return create_engine(settings, url=settings.database_replica_url)


def _postgres_connect_args(settings: Settings) -> dict[str, Any]:
    """Every statement is bounded, so a stuck database becomes a 503 in bounded time, not a hung
    request (``app.core.handlers``).

    The server enforces ``statement_timeout`` and ``lock_timeout`` (advisory locks included) and
    cancels the statement itself; a server that does not answer at all (frozen, or cut off behind
    a firewall that drops packets) cannot, so the driver gives up a second later
    (``command_timeout``). Opening a connection is bounded the same way (``timeout``).

    The planner is told what erdv's storage costs (``Settings.db_random_page_cost``).
    """
    return {
        "timeout": settings.db_connect_timeout_seconds,
        "command_timeout": settings.db_statement_timeout_seconds + 1,
        "server_settings": {
            "statement_timeout": str(round(settings.db_statement_timeout_seconds * 1000)),
            "lock_timeout": str(round(settings.db_lock_timeout_seconds * 1000)),
            "random_page_cost": str(settings.db_random_page_cost),
        },
    }


def _ping_when_idle(engine: AsyncEngine, idle_seconds: float) -> None:
    """Check a pooled connection before use only when it sat idle for ``idle_seconds``.

    ``pool_pre_ping`` checks on every checkout, and asyncpg's check is three round trips (BEGIN, a
    query, ROLLBACK): on a short request, more than its own statements
    (bench/README.md "Performance rules in the code"). A connection that was in use a moment ago is
    as alive as a check would show; one that sat idle may have been closed by a server restart or a
    firewall, and is checked, then replaced if dead (SQLAlchemy's documented pessimistic handling:
    ``DisconnectionError`` from ``checkout`` makes the pool retry with a fresh connection). A server
    lost while connections are busy is detected by the failing statement, after which SQLAlchemy
    invalidates the whole pool.
    """
    pool = engine.sync_engine.pool
    dialect = engine.sync_engine.dialect

    @event.listens_for(pool, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since < idle_seconds:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise DisconnectionError("pooled connection lost while idle") from error


def _ensure_sqlite_dir(url: str) -> str:
    """The database file named by ``url``, its folder created if needed."""
    from pathlib import Path

    from sqlalchemy.engine import make_url

    database = make_url(url).database or ":memory:"
    if database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    return database


def _install_sqlite_pragmas(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # SQLAlchemy, not the driver, decides where transactions begin (see module docstring):
        # app.core.sqlite opens its connections that way.
        cursor = dbapi_connection.cursor()
        # WAL is a property of the file: set once. Asking again is not free: while another process
        # holds the write lock, the request is refused at once (SQLITE_BUSY, no busy wait).
        cursor.execute("PRAGMA journal_mode")
        if cursor.fetchone()[0] != "wal":
            cursor.execute("PRAGMA journal_mode=WAL")
        for pragma in (
            "PRAGMA synchronous=FULL",
            "PRAGMA foreign_keys=ON",
        ):
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _locking_read(
        connection: Any, _cursor: Any, _sql: str, _params: Any, context: Any, _many: bool
    ) -> None:
        # SQLite has no FOR UPDATE / FOR SHARE (the compiler leaves it out): such a read must run
        # under the write lock instead, so the held-back transaction begins before it.
        compiled = getattr(context, "compiled", None)
        if getattr(getattr(compiled, "statement", None), "_for_update_arg", None) is not None:
            connection.connection.driver_connection.lock_next()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Read-only work (exports, verification) takes a WAL snapshot and never blocks writers.
        readonly = connection.get_execution_options().get(READONLY_OPTION, False)
        connection.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


def session_factory(
    engine: AsyncEngine, *, readonly: bool = False, snapshot: bool = True
) -> async_sessionmaker[AsyncSession]:
    """Sessions on ``engine``. ``readonly`` ones are for reads: on SQLite they do not take the write
    lock, so a big export never stalls bookings. ``snapshot=False`` (with ``readonly``) is for short
    public reads that need no consistency between their statements: on PostgreSQL each statement
    then runs on its own (autocommit), without the BEGIN and COMMIT round trips."""
    bind = engine.execution_options(**{READONLY_OPTION: True}) if readonly else engine
    if readonly and not snapshot and engine.dialect.name == "postgresql":
        bind = bind.execution_options(isolation_level="AUTOCOMMIT")
    # expire_on_commit=False: objects stay readable after the commit that precedes the response.
    return async_sessionmaker(bind, expire_on_commit=False, autoflush=False)


PreCommitHook = Callable[[AsyncSession], Awaitable[None]]
#: ``session.info`` keys with this prefix belong to the current transaction only (buffers flushed
#: by pre-commit hooks): a rollback discards them with the transaction.
TX_PREFIX = "tx:"


async def rollback(session: AsyncSession) -> None:
    """Roll back, and forget what the transaction had buffered for its commit."""
    await session.rollback()
    for key in [k for k in session.info if k in _PRE_COMMIT or str(k).startswith(TX_PREFIX)]:
        del session.info[key]


PostCommitHook = Callable[[], None]
#: under TX_PREFIX: a rollback forgets them with the transaction
POST_COMMIT = f"{TX_PREFIX}post_commit"


def add_post_commit_hook(session: AsyncSession, key: str, hook: PostCommitHook) -> None:
    """Call ``hook`` once the transaction has committed (never if it rolls back): what must know
    that a change is durable, such as the outbox's delivery of the messages it just staged."""
    session.info.setdefault(POST_COMMIT, {})[key] = hook


#: ``session.info`` keys of the pre-commit hooks: those that run first, then those that run last
_PRE_COMMIT = ("pre_commit", "pre_commit_last")


def add_pre_commit_hook(
    session: AsyncSession, key: str, hook: PreCommitHook, *, last: bool = False
) -> None:
    """Run ``hook`` once, inside the transaction, just before it commits; with ``last``, after
    every other hook, including those the others add while they run.

    The audit trail's hook runs last: it takes the writers' lock that keeps the hash chain linear,
    which must be held for the shortest time and never while the request (or another hook, such as
    the outbox rendering a change's notices) does its own work; and it then also appends what the
    other hooks recorded. A hook that raises makes the whole transaction roll back.
    """
    session.info.setdefault(_PRE_COMMIT[last], {})[key] = hook


async def commit(session: AsyncSession) -> None:
    """Run the pre-commit hooks, then commit. The only commit path (request or CLI).

    A session that never began a transaction (an anonymous request whose caller needed no lookup)
    has nothing to commit: SQLAlchemy's commit machinery is skipped.
    """
    while True:
        hooks: dict[str, PreCommitHook] | None = session.info.pop(
            _PRE_COMMIT[0], None
        ) or session.info.pop(_PRE_COMMIT[1], None)
        if not hooks:
            break
        for hook in hooks.values():
            await hook(session)
    if session.in_transaction():
        await session.commit()
    after: dict[str, PostCommitHook] = session.info.pop(POST_COMMIT, {})
    for done in after.values():
        done()


@asynccontextmanager
async def transaction(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work outside a request (CLI, background jobs): commit on success, else roll back."""
    async with factory() as session:
        try:
            yield session
            await commit(session)
        except BaseException:
            await rollback(session)
            raise


def insert_for(dialect: str, table: Table) -> Any:
    """``INSERT`` in ``dialect`` (a dialect name), which has ``on_conflict_do_*`` (SQLite and
    PostgreSQL alike) and ``returning``."""
    return sqlite_insert(table) if dialect == "sqlite" else pg_insert(table)


def dialect_insert(session: AsyncSession, table: Table) -> Any:
    """``INSERT`` in the session's dialect (see ``insert_for``)."""
    return insert_for(session.get_bind().dialect.name, table)


async def upsert(
    session: AsyncSession,
    table: Table,
    values: dict[str, Any],
    *,
    keys: Sequence[str],
) -> None:
    """INSERT, or UPDATE the other columns when a row with the same ``keys`` exists, atomically.

    ``ON CONFLICT DO UPDATE`` on both SQLite and PostgreSQL: no read-then-write race between
    concurrent requests.
    """
    statement = dialect_insert(session, table).values(**values)
    updates = {name: statement.excluded[name] for name in values if name not in keys}
    await session.execute(statement.on_conflict_do_update(index_elements=list(keys), set_=updates))


def advisory_lock(parameter: str = "name") -> Any:
    """PostgreSQL's transaction-level advisory lock on the name bound to ``parameter``: the one
    expression of the locks ``lock_until_commit`` takes (other statements may take it too; the
    audit trail's ``erdv_audit_lock_and_head`` function spells the same hash in SQL)."""
    return func.pg_advisory_xact_lock(func.hashtextextended(bindparam(parameter, type_=String), 0))


#: built once: every booking and every audited request takes a lock
_ADVISORY_LOCK = select(advisory_lock())


async def lock_until_commit(session: AsyncSession, name: str) -> None:
    """Serialize transactions that take the lock ``name`` until they end.

    PostgreSQL: a transaction-level advisory lock on a hash of the name. SQLite: the database's one
    write lock, which serializes every writer: the transaction, if still held back, begins with the
    next statement (``app.core.sqlite``), at no statement of its own.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(_ADVISORY_LOCK, {"name": name})
        return
    raw = await (await session.connection()).get_raw_connection()
    driver: Any = raw.driver_connection  # app.core.sqlite.Connection
    driver.lock_next()


async def ping(engine: AsyncEngine) -> None:
    """Raise if the database does not answer a trivial query (read-only: on SQLite a probe must
    not queue behind writers for the write lock)."""
    async with engine.execution_options(**{READONLY_OPTION: True}).connect() as connection:
        await connection.execute(text("SELECT 1"))


async def connection_slots(engine: AsyncEngine) -> int | None:
    """How many connections a non-superuser role may open on this PostgreSQL server
    (``max_connections`` less the slots reserved for superusers and, from PostgreSQL 16, for
    ``pg_use_reserved_connections``); ``None`` on SQLite."""
    if engine.dialect.name != "postgresql":
        return None
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                text(
                    "SELECT current_setting('max_connections')::int"
                    " - current_setting('superuser_reserved_connections')::int"
                    " - coalesce(current_setting('reserved_connections', true), '0')::int"
                )
            )
        ).scalar_one()
    return int(row)


def pool_overflow(settings: Settings, processes: int, slots: int) -> str | None:
    """Why ``processes`` pools of this configuration do not fit in ``slots`` server connections,
    or ``None`` if they do.

    Each process may open ``pool_size + max_overflow`` connections; past the server's limit a new
    connection is refused with 53300 "too many clients", and the requests that needed it fail
    (answered 503, but failed). Refusing the configuration at start-up is cheaper than finding out
    under load.
    """
    per_process = settings.db_pool_size + settings.db_max_overflow
    need = processes * per_process
    if need <= slots:
        return None
    return (
        f"{processes} process(es) x (ERDV_DB_POOL_SIZE {settings.db_pool_size} + "
        f"ERDV_DB_MAX_OVERFLOW {settings.db_max_overflow}) = {need} connections, but the "
        f"PostgreSQL server allows {slots} (max_connections less its reserved slots); lower the "
        "pool settings or the workers, or raise max_connections"
    )
