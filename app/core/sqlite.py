"""SQLite connections for the async engine: statements on the event loop, waits in a thread.

SQLAlchemy's ``sqlite+aiosqlite`` dialect drives an *aiosqlite* connection, which runs every call in a
thread of its own: a statement is four round trips between the event loop and that thread (open a
cursor, execute, fetch, close), each a queue hand-off, a wake-up of the loop and a fight for the GIL.
A booking makes many statements of microseconds each, so the hand-offs cost many times the work
(bench/README.md "Performance rules in the code"). This module is the connection object that
dialect is given instead (``create_async_engine(..., async_creator=...)``, see ``app.core.db``); it
keeps the dialect, its SQL and its type handling, and changes only where each call runs:

- What can wait goes to the connection's own thread, so the event loop never blocks on it:
  opening the file, anything outside a transaction, ``BEGIN IMMEDIATE`` when another *process*
  holds the write lock (it is first tried on the loop with no busy wait, and queues in the thread
  on the ``busy_timeout`` only if refused), ``COMMIT`` (the fsync of ``synchronous=FULL``),
  ``ROLLBACK`` and closing (a WAL checkpoint).
- What cannot wait runs inline: statements inside a transaction. Inside ``BEGIN IMMEDIATE`` this
  connection already holds the database's only write lock, and a WAL reader never waits for a
  writer, so these are pure CPU work on pages mostly in memory: microseconds. A deferred ``BEGIN``
  (read-only sessions) takes no lock, and ending a transaction that changed nothing syncs nothing:
  a read runs without leaving the loop at all.
- Writers of one process take turns on an ``asyncio.Lock`` per database file, in arrival order,
  before their ``BEGIN IMMEDIATE``. Without it they would all reach SQLite at once and the losers
  would poll on the busy handler's sleeps (1, 2, 5 ... 100 ms) while the lock sits free. The wait is
  bounded by the same ``busy_timeout`` and fails the same way (``database is locked``).
- Processes (``erdv serve --workers N``, a CLI command beside the server) take turns the same way,
  on an ``flock`` of a side file (``<database>-writers``) that each holds from its ``BEGIN
  IMMEDIATE`` to the end of its ``COMMIT``. A process waiting for it sleeps in the kernel, in the
  connection's thread, and is woken as soon as the lock is given back; on SQLite's busy handler it
  would poll, and bookings would wait while the lock sits free
  (bench/README.md "Performance rules in the code"). A writer that does not take the file lock
  (another program) still meets SQLite's own lock, and waits for it on the busy timeout as before.
- A writing transaction begins at its first statement that writes or locks, not at ``BEGIN
  IMMEDIATE``: that statement is held back (``write_begins``), and the plain reads before the first
  write run on their own, inline, each on the latest committed data (a WAL reader never waits), as
  every statement does on PostgreSQL under READ COMMITTED. A request that reads its session, its
  caller and a profile before it writes no longer holds the database's one write lock while it does:
  the other writers, of this process or another, go on meanwhile
  (bench/README.md "Performance rules in the code"). What must be read under the lock says so: a
  ``FOR UPDATE`` / ``FOR SHARE`` statement or ``lock_until_commit`` (``app.core.db`` marks them,
  ``lock_next``) begins the transaction first, as the row or advisory lock would be taken on
  PostgreSQL. A transaction that only read commits nothing.

The connection is used by one task at a time (the pool hands it out), so the thread-side calls and
the inline ones never overlap; ``check_same_thread=False`` only says so to ``sqlite3``.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

try:
    import fcntl
except ImportError:  # not a POSIX system: this process's writers still take turns among themselves
    fcntl = None  # type: ignore[assignment]

T = TypeVar("T")

#: statements that take the write lock (the ones ``app.core.db`` starts transactions with)
_WRITE_BEGINS = ("BEGIN IMMEDIATE", "BEGIN EXCLUSIVE")
#: deferred transactions (read-only sessions): no lock until the first read, which never waits
_READ_BEGINS = frozenset(
    {"BEGIN", "BEGIN DEFERRED", "BEGIN TRANSACTION", "BEGIN DEFERRED TRANSACTION"}
)


class _FileTurn:
    """This event loop's place among the writer processes of one database file: an exclusive
    ``flock`` on ``<database>-writers``.

    ``flock`` locks belong to an open file description, so each loop opens the file for itself:
    two loops of one process (tests, a CLI next to a server in one interpreter) exclude each other
    like two processes. Only the loop's current writer (it holds the ``asyncio.Lock`` first) takes
    or waits for it, so no two threads of one loop ever use the descriptor at once.
    """

    def __init__(self, path: str) -> None:
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        weakref.finalize(self, os.close, self._fd)

    def take_at_once(self) -> bool:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def take_waiting(self, attempt: _Attempt) -> None:
        """In a thread: sleep until the lock is free; give it straight back if the writer that
        asked stopped waiting meanwhile (timeout, cancellation)."""
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        if not attempt.arrived():
            self.give_back()

    def give_back(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)  # a no-op when not held


class _Attempt:
    """A wait for the file lock in a thread, which the waiting writer may give up: exactly one of
    ``arrived`` (the thread got the lock) and ``abandon`` (the writer stopped waiting) wins."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._state = "waiting"

    def arrived(self) -> bool:
        """The thread has the lock: True if the writer still wants it."""
        with self._guard:
            if self._state == "waiting":
                self._state = "arrived"
            return self._state == "arrived"

    def abandon(self) -> bool:
        """The writer stops waiting: True if the thread had not got the lock yet (it will give it
        back when it does), False if it had (the writer must give it back)."""
        with self._guard:
            if self._state == "waiting":
                self._state = "abandoned"
            return self._state == "abandoned"


class _Turn:
    """Writers' turn-taking for one database file in one event loop: first among this loop's
    writers (``lock``), then among processes (``file``, none for in-memory databases)."""

    def __init__(self, database: str) -> None:
        self.lock = asyncio.Lock()
        self.file = None if _no_file_lock(database) else _FileTurn(f"{database}-writers")


def _no_file_lock(database: str) -> bool:
    """In-memory and URI databases have no side file to lock; nor has a system without flock."""
    return fcntl is None or database in ("", ":memory:") or database.startswith("file:")


_writers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, _Turn]] = (
    weakref.WeakKeyDictionary()
)


def _writers_turn(database: str) -> _Turn:
    """The turn-taking of ``database`` in this event loop (an ``asyncio.Lock`` belongs to one
    loop)."""
    turns = _writers.setdefault(asyncio.get_running_loop(), {})
    turn = turns.get(database)
    if turn is None:
        turn = turns[database] = _Turn(database)
    return turn


async def connect(database: str, *, timeout: float = 5.0, **kwargs: Any) -> Connection:
    """Open ``database`` (SQLAlchemy passes the file name and the ``connect_args``).

    Transactions are SQLAlchemy's to begin (``isolation_level=None``: no implicit ``BEGIN`` from the
    driver), and ``timeout`` is SQLite's busy timeout, which also bounds the wait for this process's
    writers' turn.
    """
    kwargs.pop("check_same_thread", None)
    kwargs.pop("isolation_level", None)
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="erdv-sqlite")
    try:
        raw = await asyncio.get_running_loop().run_in_executor(
            executor,
            lambda: sqlite3.connect(
                database, timeout=timeout, isolation_level=None, check_same_thread=False, **kwargs
            ),
        )
    except BaseException:
        executor.shutdown(wait=False)
        raise
    return Connection(raw, executor, str(database), timeout)


class _Busy(Exception):
    """The write lock is held by another process (``BEGIN IMMEDIATE`` refused without waiting)."""


class Connection:
    """What SQLAlchemy's aiosqlite adapter expects of an aiosqlite connection."""

    def __init__(
        self, raw: sqlite3.Connection, executor: ThreadPoolExecutor, database: str, timeout: float
    ) -> None:
        #: the adapter tests this attribute (``None`` once closed)
        self._connection: sqlite3.Connection | None = raw
        self._executor = executor
        self._database = database
        self._timeout = timeout
        self._turn: _Turn | None = None  # held from BEGIN IMMEDIATE to COMMIT/ROLLBACK
        self._begin: str | None = None  # a BEGIN IMMEDIATE asked for, held back (module docstring)
        self._lock_next = False  # the next statement reads under the lock (``lock_next``)
        self._changes = -1  # rows changed by the connection when its deferred transaction began

    @property
    def _raw(self) -> sqlite3.Connection:
        if self._connection is None:
            # the message the adapter maps to a disconnect, as aiosqlite words it
            raise ValueError("Connection closed")
        return self._connection

    @property
    def isolation_level(self) -> str | None:
        return self._raw.isolation_level

    @property
    def in_transaction(self) -> bool:
        return self._raw.in_transaction

    async def _in_thread(self, call: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    def cursor(self) -> Cursor:
        return Cursor(self, self._raw.cursor())

    def lock_next(self) -> None:
        """The next statement must run under the write lock (a locking read): if the writing
        transaction is still held back, it begins before that statement."""
        self._lock_next = True

    @property
    def write_begins(self) -> str | None:
        """The ``BEGIN IMMEDIATE`` held back until the first statement that writes or locks."""
        return self._begin

    async def _run(self, sql: str, call: Callable[[], T]) -> T | None:
        """Run a statement: inline inside a transaction, and a plain read while the writing
        transaction is held back; ``BEGIN IMMEDIATE`` is held back until the first statement that
        writes or locks, which begins it first (``_begin_writing``); in the thread what may wait
        (anything else outside a transaction)."""
        raw = self._raw
        if raw.in_transaction:
            self._lock_next = False
            return call()
        head = sql.strip().rstrip(";").upper()
        if head in _READ_BEGINS:  # takes no lock: the first read takes a WAL snapshot
            self._changes = raw.total_changes
            return call()
        if head.startswith(_WRITE_BEGINS):
            self._begin = sql  # until the first statement that writes or locks
            self._lock_next = False
            return None
        if self._begin is None:
            return await self._in_thread(call)
        if head.startswith("SELECT") and not self._lock_next:
            return call()  # a plain read before the first write: on its own, on the latest data
        begin, self._begin, self._lock_next = self._begin, None, False
        await self._begin_writing(begin)
        return call()

    async def _begin_writing(self, begin: str) -> None:
        """Take this loop's, then this process's turn among writers, then SQLite's lock."""
        raw = self._raw
        turn = _writers_turn(self._database)
        deadline = asyncio.get_running_loop().time() + self._timeout
        try:
            await asyncio.wait_for(turn.lock.acquire(), self._timeout)
        except TimeoutError:
            raise sqlite3.OperationalError("database is locked") from None
        self._turn = turn
        try:
            if turn.file is not None:
                await self._take_file_turn(turn.file, deadline)
            try:
                self._begin_at_once(begin)
            except _Busy:  # a program that does not queue holds the lock: wait away from the loop
                await self._in_thread(partial(raw.execute, begin))
        except BaseException:
            self._end_turn()
            raise

    async def _take_file_turn(self, file: _FileTurn, deadline: float) -> None:
        """Other processes' writers first: the file lock at once if free, else sleep for it in the
        connection's thread, no longer than the busy timeout."""
        if file.take_at_once():
            return
        attempt = _Attempt()
        loop = asyncio.get_running_loop()
        waiting = loop.run_in_executor(self._executor, file.take_waiting, attempt)
        try:
            await asyncio.wait_for(asyncio.shield(waiting), max(0.0, deadline - loop.time()))
        except BaseException as error:  # timed out or cancelled: the thread may still get it
            if attempt.abandon():
                # The thread gives the lock back when it gets it. Until then this loop's next
                # writer must not wait on the same descriptor (a second flock of one open file
                # would succeed, and the first one's give-back would undo it): the loop's turn
                # is handed on only once the thread is done.
                turn, self._turn = self._turn, None
                if turn is not None:
                    waiting.add_done_callback(lambda _done: turn.lock.release())
            else:
                file.give_back()
            if isinstance(error, TimeoutError):
                raise sqlite3.OperationalError("database is locked") from None
            raise

    def _begin_at_once(self, begin: str) -> None:
        """Try ``BEGIN IMMEDIATE`` on the loop without waiting: this process's writers have taken
        turns already, so the lock is free unless another process holds it. Handing the statement
        to the thread costs more than the statement (a wake-up and a GIL hand-off each way)."""
        raw = self._raw
        raw.execute("PRAGMA busy_timeout = 0")
        try:
            raw.execute(begin)
        except sqlite3.OperationalError as error:
            if raw.in_transaction or "locked" not in str(error) and "busy" not in str(error):
                raise
            raise _Busy from error
        finally:
            raw.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")

    def _end_turn(self) -> None:
        turn, self._turn = self._turn, None
        if turn is not None:
            try:
                if turn.file is not None:
                    turn.file.give_back()
            finally:
                turn.lock.release()

    def _only_read(self) -> bool:
        """A deferred transaction that changed nothing: ending it writes nothing, syncs nothing."""
        return self._turn is None and self._raw.total_changes == self._changes

    async def commit(self) -> None:
        await self._end(self._raw.commit)

    async def rollback(self) -> None:
        await self._end(self._raw.rollback)

    async def _end(self, end: Callable[[], None]) -> None:
        self._begin, self._lock_next = None, False  # held back and never needed: nothing to end
        try:
            if self._raw.in_transaction:
                if self._only_read():
                    end()  # only lets go of the snapshot
                else:
                    await self._in_thread(partial(self._end_then_let_go, end))
        finally:
            if not self._connection or not self._connection.in_transaction:
                self._end_turn()

    def _end_then_let_go(self, end: Callable[[], None]) -> None:
        """In the thread: COMMIT (or ROLLBACK), then give the file lock back at once, so the next
        process's writer starts while this one's result is still on its way to the event loop."""
        end()
        turn = self._turn
        if turn is not None and turn.file is not None and not self._raw.in_transaction:
            turn.file.give_back()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._raw.create_function(*args, **kwargs)

    async def close(self) -> None:
        raw, self._connection = self._connection, None
        self._end_turn()
        if raw is not None:
            try:
                await asyncio.get_running_loop().run_in_executor(self._executor, raw.close)
            finally:
                self._executor.shutdown(wait=False)

    def stop(self) -> None:
        """Forced close (SQLAlchemy's terminate when a graceful close cannot run)."""
        raw, self._connection = self._connection, None
        self._end_turn()
        if raw is not None:
            self._executor.submit(raw.close)
            self._executor.shutdown(wait=False)


class Cursor:
    """An ``sqlite3`` cursor behind the awaitable interface the adapter calls."""

    def __init__(self, connection: Connection, raw: sqlite3.Cursor) -> None:
        self._connection = connection
        self._cursor = raw

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> Cursor:
        await self._connection._run(sql, lambda: self._cursor.execute(sql, parameters))
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> Cursor:
        await self._connection._run(sql, lambda: self._cursor.executemany(sql, parameters))
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value
