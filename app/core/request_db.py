"""The request's database: one transaction opened on first use, committed on success, rolled back on
error (docs/architecture.md "One transaction per request"), a read-only session for the public
reads, and failure hooks that must survive a failed request (a denial's audit entry, a 404 counter)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import (
    AsyncSession,
    async_sessionmaker,
)

from app.core.db import commit, rollback
from app.core.errors import RecordedFailure

logger = logging.getLogger("erdv.db")

FailureHook = Callable[[AsyncSession, Exception], Awaitable[None]]


def on_failure(request: Request, hook: FailureHook) -> None:
    """Run ``hook`` if this request fails, in a fresh transaction after the failed one rolled back.

    For bookkeeping about failures that must survive them and that the failing code cannot write
    itself (counting a caller's 404s on object ids: the enumeration of the 2020 incident). A hook
    that fails is logged and never changes the answer.
    """
    hooks: list[FailureHook] = request.state.__dict__.setdefault("failure_hooks", [])
    hooks.append(hook)


class RequestDatabase:
    """A request's database sessions, each opened on its first use.

    ``session`` is the request's one transaction: committed when the handler returns without error,
    before the response is sent (``get_database``), rolled back otherwise. ``reader`` is for public
    reads that write nothing (directory, profiles, slots): no write lock on SQLite, no transaction
    round trips on PostgreSQL (``session_factory(snapshot=False)``), on the read replica when one
    is configured and the caller is anonymous (``read_from_primary``).

    Why lazily: every request resolves its caller (the app-wide partial-session guard), and most
    public reads have none: no cookie, no token, nothing to look up. A session made for nothing on
    every such request (health probes too), and a second dependency with its own teardown for the
    reader, cost a measurable share of an anonymous read
    (bench/README.md "Performance rules in the code").
    """

    __slots__ = ("_factory", "_read_factory", "_primary_read_factory", "_session", "_reader")

    def __init__(
        self,
        factory: async_sessionmaker[AsyncSession],
        read_factory: async_sessionmaker[AsyncSession],
        primary_read_factory: async_sessionmaker[AsyncSession] | None = None,
    ) -> None:
        self._factory = factory
        self._read_factory = read_factory
        self._primary_read_factory = primary_read_factory or read_factory
        self._session: AsyncSession | None = None
        self._reader: AsyncSession | None = None

    def read_from_primary(self) -> None:
        """Serve this request's public reads from the primary, not the replica: a signed-in
        person (or an application acting for one) may have just changed what they read (their
        practice's hours, a booking), and must see it (read-your-writes). Only anonymous reads,
        which nobody's own change precedes, may lag (docs/scaling.md "Read replica")."""
        if self._reader is None:
            self._read_factory = self._primary_read_factory

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            self._session = self._factory()
        return self._session

    @property
    def reader(self) -> AsyncSession:
        if self._reader is None:
            self._reader = self._read_factory()
        return self._reader

    @property
    def opened(self) -> AsyncSession | None:
        """The transaction's session if anything asked for it (else nothing to commit)."""
        return self._session

    async def close(self) -> None:
        """Give the connections back, even if the request is being cancelled (as ``async with``
        on a session does), the reader's even if closing the transaction's session failed."""
        try:
            if self._session is not None:
                await asyncio.shield(self._session.close())
        finally:
            if self._reader is not None:
                await asyncio.shield(self._reader.close())


async def get_database(request: Request) -> AsyncIterator[RequestDatabase]:
    """The request's sessions; the transaction commits when the handler returns without error."""
    state = request.app.state
    database = RequestDatabase(
        state.session_factory, state.read_session_factory, state.primary_read_session_factory
    )
    try:
        yield database
        if database.opened is not None:
            await commit(database.opened)
    except BaseException as error:
        session = database.opened
        if isinstance(error, RecordedFailure) and session is not None:
            # Only the failure's own bookkeeping was written (see RecordedFailure): keep it.
            await commit(session)
        else:
            if session is not None:
                await rollback(session)
            if isinstance(error, Exception):
                await _run_failure_hooks(request, database, error)
        raise
    finally:
        await database.close()


async def _run_failure_hooks(request: Request, database: RequestDatabase, error: Exception) -> None:
    for hook in request.state.__dict__.get("failure_hooks", []):
        session = database.session
        try:
            await hook(session, error)
            await commit(session)
        except Exception:
            logger.exception("failure hook failed")
            await rollback(session)


#: Committed before the response is sent: a 2xx is only ever answered for a durable change.
#: Dependencies that need a session only sometimes (the caller's lookup) take this and open it
#: when they do.
Database = Annotated[RequestDatabase, Depends(get_database, scope="function")]


async def get_session(database: Database) -> AsyncSession:
    """The request's transaction (see ``RequestDatabase.session``)."""
    return database.session


DbSession = Annotated[AsyncSession, Depends(get_session)]
