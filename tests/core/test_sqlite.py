"""The SQLite connection (app.core.sqlite): where each call runs, and how writers take turns."""

from __future__ import annotations

import asyncio
import fcntl
import os
import sqlite3
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine

from app.core import sqlite
from app.core.db import create_engine, lock_until_commit
from app.core.settings import Settings

pytestmark = pytest.mark.only_backend("sqlite")


def _database(engine: AsyncEngine) -> str:
    return str(engine.url.database)


async def driver_of(connection: AsyncConnection) -> sqlite.Connection:
    """The app's own SQLite connection under SQLAlchemy's."""
    raw = (await connection.get_raw_connection()).driver_connection
    assert isinstance(raw, sqlite.Connection), raw
    return raw


async def begin_writing(connection: sqlite.Connection) -> None:
    """BEGIN IMMEDIATE, then a first statement that writes: where the transaction really begins."""
    await connection.cursor().execute("BEGIN IMMEDIATE")
    await connection.cursor().execute("CREATE TABLE IF NOT EXISTS scratch (n INTEGER)")


#: a statement that writes nothing but is a write: it begins a held-back transaction
WRITES_NOTHING = sa.text("DELETE FROM account WHERE 1 = 0")


async def test_statements_run_on_the_loop_and_the_commit_in_the_connection_thread(
    engine: AsyncEngine,
) -> None:
    """COMMIT (the fsync) leaves the event loop; BEGIN IMMEDIATE, when no other process holds the
    lock, and the statements under it do not (they take microseconds, a hand-off to the thread
    costs more)."""
    seen: list[tuple[str, str]] = []
    async with engine.connect() as connection:
        raw = (await connection.get_raw_connection()).driver_connection
        assert isinstance(raw, sqlite.Connection)
        raw._raw.set_trace_callback(
            lambda sql: seen.append((sql.split()[0].upper(), threading.current_thread().name))
        )
        async with connection.begin():
            await connection.execute(WRITES_NOTHING)
            await connection.execute(sa.text("SELECT count(*) FROM account"))
            await connection.execute(sa.text("SELECT 1"))
        raw._raw.set_trace_callback(None)
    loop_thread = threading.current_thread().name
    statements = [(sql, thread) for sql, thread in seen if sql != "PRAGMA"]
    assert [sql for sql, _ in statements] == ["BEGIN", "DELETE", "SELECT", "SELECT", "COMMIT"]
    assert {thread for _, thread in statements[:-1]} == {loop_thread}
    assert statements[-1][1] != loop_thread
    # the busy timeout is back to the connection's after the attempt without waiting
    assert raw._raw.execute("PRAGMA busy_timeout").fetchone()[0] == 15_000


async def test_writers_of_one_process_take_turns_without_meeting_the_lock(
    engine: AsyncEngine,
) -> None:
    """Twenty concurrent read-modify-write transactions with SQLite's busy timeout at zero: a
    writer that reached BEGIN IMMEDIATE while another held the lock would fail at once. None does,
    because they queue for their turn first (instead of polling on the busy handler's sleeps)."""
    database = _database(engine)
    strict = create_async_engine(
        f"sqlite+aiosqlite:///{database}",
        async_creator=partial(sqlite.connect, database, timeout=5),
        pool_size=20,
        max_overflow=0,
    )

    @sa.event.listens_for(strict.sync_engine, "connect")
    def _no_busy_wait(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=0")
        cursor.close()

    @sa.event.listens_for(strict.sync_engine, "begin")
    def _immediate(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    async with strict.begin() as connection:
        await connection.execute(sa.text("CREATE TABLE counter (n INTEGER NOT NULL)"))
        await connection.execute(sa.text("INSERT INTO counter VALUES (0)"))

    async def increment() -> None:
        async with strict.begin() as connection:
            # a read the write depends on runs under the lock (FOR UPDATE in the app's SQL)
            (await driver_of(connection)).lock_next()
            n = (await connection.execute(sa.text("SELECT n FROM counter"))).scalar_one()
            await asyncio.sleep(0.001)  # the other tasks run meanwhile, and must wait their turn
            await connection.execute(sa.text("UPDATE counter SET n = :n"), {"n": n + 1})

    try:
        await asyncio.gather(*(increment() for _ in range(20)))
        async with strict.connect() as connection:
            assert (await connection.execute(sa.text("SELECT n FROM counter"))).scalar_one() == 20
    finally:
        await strict.dispose()


async def test_waiting_for_another_process_keeps_the_loop_running(engine: AsyncEngine) -> None:
    """Another process holds the write lock: our BEGIN IMMEDIATE waits in its thread while the
    event loop goes on serving other tasks, then proceeds once the lock is free."""
    async with engine.connect():  # the server's first connection has put the file in WAL mode
        pass
    other = sqlite3.connect(_database(engine), isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    async def release_later() -> None:
        await asyncio.sleep(0.3)
        other.execute("COMMIT")

    # our BEGIN IMMEDIATE is refused at once on the loop, then waits in the thread
    tick = asyncio.create_task(ticker())
    release = asyncio.create_task(release_later())
    try:
        async with engine.begin() as connection:
            await connection.execute(WRITES_NOTHING)
    finally:
        tick.cancel()
        await release
        other.close()
    assert ticks >= 10


async def test_the_wait_for_a_turn_is_bounded_like_the_busy_timeout(tmp_path: Path) -> None:
    database = str(tmp_path / "turns.db")
    first = await sqlite.connect(database, timeout=0.2)
    second = await sqlite.connect(database, timeout=0.2)
    try:
        await begin_writing(first)
        with pytest.raises(sqlite3.OperationalError, match="database is locked"):
            await begin_writing(second)
        await first.rollback()  # ends the turn ...
        await begin_writing(second)  # ... so the next writer gets it
        assert second.in_transaction
        await second.commit()
        assert not second.in_transaction
    finally:
        await first.close()
        await second.close()


async def test_closing_a_connection_mid_transaction_ends_its_turn(tmp_path: Path) -> None:
    database = str(tmp_path / "turns.db")
    first = await sqlite.connect(database, timeout=1)
    await begin_writing(first)
    await first.close()
    second = await sqlite.connect(database, timeout=1)
    try:
        await begin_writing(second)
        await second.rollback()
    finally:
        await second.close()
    with pytest.raises(ValueError, match="Connection closed"):
        first.cursor()


async def test_a_failed_begin_ends_its_turn(tmp_path: Path) -> None:
    database = str(tmp_path / "turns.db")
    other = sqlite3.connect(database, isolation_level=None)
    other.execute("PRAGMA journal_mode=WAL")
    other.execute("BEGIN IMMEDIATE")  # another process: SQLite's own lock, not our queue
    first = await sqlite.connect(database, timeout=0.1)
    second = await sqlite.connect(database, timeout=0.1)
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            await begin_writing(first)
        other.execute("COMMIT")
        await begin_writing(second)  # not stuck behind the failed turn
        await second.commit()
    finally:
        other.close()
        await first.close()
        await second.close()


@contextmanager
def another_process_writing(database: str) -> Iterator[int]:
    """What another erdv process holds while it writes: the side file's lock, then SQLite's write
    lock. Yields the side file's descriptor (another open file, so another flock owner)."""
    other = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    other.execute("PRAGMA journal_mode=WAL")
    side = os.open(f"{database}-writers", os.O_RDWR | os.O_CREAT)
    fcntl.flock(side, fcntl.LOCK_EX)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield side
    finally:
        if other.in_transaction:
            other.execute("COMMIT")
        fcntl.flock(side, fcntl.LOCK_UN)
        other.close()
        os.close(side)


def side_file_free(side: int) -> bool:
    try:
        fcntl.flock(side, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    fcntl.flock(side, fcntl.LOCK_UN)
    return True


async def test_writers_of_other_processes_queue_on_the_side_file(tmp_path: Path) -> None:
    """Another process writes: our writer sleeps on the side file's lock, without asking SQLite
    (whose busy handler would poll, 1 to 100 ms a try), starts as soon as it is given back, and
    holds it in turn until its COMMIT is done."""
    database = str(tmp_path / "turns.db")
    ours = await sqlite.connect(database, timeout=5)
    begins: list[str] = []
    ours._raw.set_trace_callback(lambda sql: begins.append(sql) if sql[:5] == "BEGIN" else None)
    try:
        with another_process_writing(database) as side:
            waiting = asyncio.create_task(begin_writing(ours))
            await asyncio.sleep(0.2)
            assert not waiting.done()
            assert begins == []
        await asyncio.wait_for(waiting, 2)
        assert begins == ["BEGIN IMMEDIATE"]
        assert ours.in_transaction
        side = os.open(f"{database}-writers", os.O_RDWR)
        try:
            assert not side_file_free(side)  # another process would wait for our COMMIT
            await ours.commit()
            assert side_file_free(side)
        finally:
            os.close(side)
    finally:
        await ours.close()


async def test_the_wait_for_another_process_is_bounded_and_leaves_nothing_taken(
    tmp_path: Path,
) -> None:
    """A writer that gives up waiting (busy timeout, or its request cancelled) fails as SQLite
    would (``database is locked``); the side file's lock it was sleeping for is given back as soon
    as its thread gets it, and the next writer of this process goes in."""
    database = str(tmp_path / "turns.db")
    first = await sqlite.connect(database, timeout=0.2)
    second = await sqlite.connect(database, timeout=0.2)
    third = await sqlite.connect(database, timeout=2)
    try:
        with another_process_writing(database) as side:
            with pytest.raises(sqlite3.OperationalError, match="database is locked"):
                await begin_writing(first)
            cancelled = asyncio.create_task(begin_writing(second))
            await asyncio.sleep(0.05)
            cancelled.cancel()
            with pytest.raises(asyncio.CancelledError):
                await cancelled
            assert not first.in_transaction
            assert not second.in_transaction
        await asyncio.wait_for(begin_writing(third), 2)
        await third.commit()
        side = os.open(f"{database}-writers", os.O_RDWR)
        try:
            assert side_file_free(side)
        finally:
            os.close(side)
    finally:
        for connection in (first, second, third):
            await connection.close()


async def test_the_app_engine_uses_it(settings: Settings) -> None:
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            raw = (await connection.get_raw_connection()).driver_connection
            assert isinstance(raw, sqlite.Connection)
            assert raw.isolation_level is None  # SQLAlchemy begins transactions, not the driver
    finally:
        await engine.dispose()


async def test_a_read_never_leaves_the_loop_and_a_write_commits_in_the_thread(
    engine: AsyncEngine,
) -> None:
    """A deferred transaction takes no lock and, when it changed nothing, syncs nothing at its end:
    all of it runs on the loop. One that changed rows syncs them from the thread."""
    loop_thread = threading.current_thread().name
    reads: list[tuple[str, str]] = []
    readonly = engine.execution_options(erdv_readonly=True)
    async with readonly.connect() as connection:
        raw = await driver_of(connection)
        raw._raw.set_trace_callback(
            lambda sql: reads.append((sql.split()[0].upper(), threading.current_thread().name))
        )
        async with connection.begin():
            await connection.execute(sa.text("SELECT count(*) FROM account"))
        writes: list[tuple[str, str]] = []
        raw._raw.set_trace_callback(
            lambda sql: writes.append((sql.split()[0].upper(), threading.current_thread().name))
        )
        async with connection.begin():
            await connection.execute(sa.text("DELETE FROM account WHERE email = 'nobody'"))
            await connection.execute(sa.text("CREATE TEMP TABLE scratch (n INTEGER)"))
            await connection.execute(sa.text("INSERT INTO scratch VALUES (1)"))
        raw._raw.set_trace_callback(None)
    assert [statement for statement, _ in reads] == ["BEGIN", "SELECT", "COMMIT"]
    assert {thread for _, thread in reads} == {loop_thread}
    assert writes[-1][0] == "COMMIT"
    assert writes[-1][1] != loop_thread


async def test_reads_before_the_first_write_hold_no_lock(engine: AsyncEngine) -> None:
    """A writing transaction begins at its first write: until then its reads run on their own
    (as on PostgreSQL), and other writers go on meanwhile, instead of waiting for a request that
    is still reading its session, its caller and a profile."""
    async with engine.connect() as reader, engine.connect() as other:
        await reader.begin()
        before = (await reader.execute(sa.text("SELECT count(*) FROM audit_checkpoint"))).scalar()
        raw = await driver_of(reader)
        assert raw.write_begins == "BEGIN IMMEDIATE"
        assert not raw.in_transaction

        async def write_elsewhere() -> None:
            async with other.begin():
                await other.execute(WRITES_NOTHING)

        await asyncio.wait_for(write_elsewhere(), 2)  # not queued behind the reader
        await reader.execute(WRITES_NOTHING)  # the transaction begins here
        assert raw.in_transaction
        assert raw.write_begins is None
        await reader.commit()
        assert before == 0


async def test_a_locking_read_begins_the_write_transaction(engine: AsyncEngine) -> None:
    """What must be read under the lock says so, as on PostgreSQL: ``FOR UPDATE`` (which SQLite
    has not) begins the held-back transaction before it reads, ``lock_until_commit`` before the
    next statement, and other writers wait until it ends."""
    checkpoint = sa.table("audit_checkpoint", sa.column("cut_seq"))
    locking_reads: dict[str, Callable[[AsyncSession], Awaitable[object]]] = {
        "for update": lambda s: s.execute(sa.select(checkpoint.c.cut_seq).with_for_update()),
        "lock_until_commit": lambda s: lock_until_commit(s, "erdv:test"),
    }
    for name, locking_read in locking_reads.items():
        async with AsyncSession(engine) as holder, engine.connect() as other:
            await locking_read(holder)
            await holder.execute(sa.select(checkpoint.c.cut_seq))  # the read under the lock
            raw = await driver_of(await holder.connection())
            assert raw.in_transaction, name

            async def write_elsewhere() -> None:
                async with other.begin():
                    await other.execute(WRITES_NOTHING)

            waiting = asyncio.create_task(write_elsewhere())
            await asyncio.sleep(0.2)
            assert not waiting.done(), name  # queued for its turn
            await holder.commit()
            await asyncio.wait_for(waiting, 2)
