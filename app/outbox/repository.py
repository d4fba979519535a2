"""The outbox's SQL: stage, claim, finish, list and retry messages."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import dialect_insert
from app.core.repository import changed
from app.outbox.models import OutboxStatus, outbox_table

_o = outbox_table
PENDING, SENDING = OutboxStatus.PENDING.value, OutboxStatus.SENDING.value
_DUE = sa.and_(_o.c.status.in_((PENDING, SENDING)), _o.c.next_attempt_at <= sa.bindparam("now"))
_ANY_DUE = sa.select(_o.c.id).where(_DUE).limit(1)
_ASYNC_COMMIT = sa.text("SET LOCAL synchronous_commit TO OFF")
#: built once: the lanes mark sent messages many times a second (app.outbox.courier)
_MARK_SENT = (
    sa.update(_o)
    .where(
        _o.c.id == sa.bindparam("try_id"),
        _o.c.attempts == sa.bindparam("try_attempt"),
        _o.c.status == SENDING,
    )
    .values(
        status=OutboxStatus.SENT.value,
        sent_at=sa.bindparam("sent_at"),
        payload=None,
        last_error=None,
    )
)


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, rows: Sequence[dict[str, Any]]) -> None:
        await self.session.execute(sa.insert(_o), list(rows))

    async def add_once(self, rows: Sequence[dict[str, Any]]) -> list[uuid.UUID]:
        """Insert the rows whose ``dedupe_key`` nobody took yet (``ON CONFLICT DO NOTHING``, so
        processes staging together never fail on each other); the ids inserted."""
        statement = (
            dialect_insert(self.session, _o)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(_o.c.id)
        )
        result = await self.session.execute(statement, list(rows))
        return [row[0] for row in result.all()]

    async def any_due(self, now: datetime) -> bool:
        """A plain read: an idle worker looks without taking SQLite's write lock."""
        return (await self.session.execute(_ANY_DUE, {"now": now})).first() is not None

    async def bury_expired(self, now: datetime, max_attempts: int) -> int:
        """Messages whose last try's lease ran out (the process delivering them died) are dead."""
        result = await self.session.execute(
            sa.update(_o)
            .where(
                _o.c.status == SENDING,
                _o.c.next_attempt_at <= now,
                _o.c.attempts >= max_attempts,
            )
            .values(status=OutboxStatus.DEAD.value, last_error="lease expired on the last try")
        )
        return changed(result)

    async def claim(
        self, now: datetime, lease_until: datetime, limit: int, max_attempts: int
    ) -> list[Any]:
        """Take up to ``limit`` due messages for this process until ``lease_until``, one more try
        each. PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so processes claiming together take
        different rows and never wait for each other; SQLite: the statement runs under the
        database's one write lock (the clause is left out)."""
        due = (
            sa.select(_o.c.id)
            .where(_DUE, _o.c.attempts < max_attempts)
            .order_by(_o.c.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        result = await self.session.execute(
            sa.update(_o)
            .where(_o.c.id.in_(due))
            .values(status=SENDING, attempts=_o.c.attempts + 1, next_attempt_at=lease_until)
            .returning(_o.c.id, _o.c.kind, _o.c.channel, _o.c.payload, _o.c.attempts),
            {"now": now},
        )
        return list(result.all())

    async def finish(
        self,
        message_id: uuid.UUID,
        attempt: int,
        *,
        status: OutboxStatus,
        at: datetime,
        error: str | None = None,
        next_attempt_at: datetime | None = None,
    ) -> bool:
        """Record how try ``attempt`` ended; False if the message is no longer this try's (its
        lease ran out and another process took it over: the attempt number is the fence)."""
        values: dict[str, Any] = {"status": status.value, "last_error": error}
        if status in (OutboxStatus.SENT, OutboxStatus.DONE):
            values |= {"sent_at": at, "payload": None}  # delivered: keep no content
        if next_attempt_at is not None:
            values["next_attempt_at"] = next_attempt_at
        result = await self.session.execute(
            sa.update(_o)
            .where(_o.c.id == message_id, _o.c.attempts == attempt, _o.c.status == SENDING)
            .values(**values)
        )
        return changed(result) > 0

    def _delivery(self) -> sa.Select[Any]:
        return sa.select(
            _o.c.id,
            _o.c.kind,
            _o.c.channel,
            _o.c.topic,
            _o.c.status,
            _o.c.attempts,
            _o.c.created_at,
            _o.c.next_attempt_at,
            _o.c.sent_at,
            _o.c.last_error,
        )

    async def finish_sent(self, tries: Sequence[tuple[uuid.UUID, int]], *, at: datetime) -> None:
        """``finish(status=SENT)`` for many tries in one statement (each still fenced by its
        attempt number: a try whose lease another process took over changes nothing).

        On PostgreSQL the commit does not wait for the WAL to reach the disk
        (``synchronous_commit = off``, for this transaction only): on a host where a commit is
        the cost, waiting for it halved the bookings a server takes once each booking's notices
        had a commit of their own to mark them sent (bench/README.md "Performance rules in the
        code"). What that risks is what the outbox already accepts at the relay's "250 OK": if
        the database itself crashes within a fraction of a second after the mark, the mark is
        lost and the message is sent again when its lease runs out, with the same Message-ID.
        Nothing is ever lost that way, and the change the message reports was committed
        synchronously before."""
        if self.session.get_bind().dialect.name == "postgresql":
            await self.session.execute(_ASYNC_COMMIT)
        await self.session.execute(
            _MARK_SENT,
            [
                {"try_id": message_id, "try_attempt": attempt, "sent_at": at}
                for message_id, attempt in tries
            ],
        )

    async def listing(self, status: OutboxStatus | None, limit: int) -> list[Any]:
        query = self._delivery()
        if status is not None:
            query = query.where(_o.c.status == status.value)
        query = query.order_by(_o.c.created_at.desc(), _o.c.id).limit(limit)
        return list((await self.session.execute(query)).all())

    async def delivery(self, message_id: uuid.UUID) -> Any:
        query = self._delivery().where(_o.c.id == message_id)
        return (await self.session.execute(query)).one_or_none()

    async def counts(self) -> dict[str, int]:
        rows = await self.session.execute(
            sa.select(_o.c.status, sa.func.count()).group_by(_o.c.status)
        )
        return {str(status): int(n) for status, n in rows.all()}

    async def retry(self, ids: Sequence[uuid.UUID] | None, now: datetime) -> list[uuid.UUID]:
        """Dead messages (``ids``, or all of them) go back to pending, due now, with their tries
        counted afresh."""
        query = sa.update(_o).where(_o.c.status == OutboxStatus.DEAD.value)
        if ids is not None:
            query = query.where(_o.c.id.in_(list(ids)))
        result = await self.session.execute(
            query.values(
                status=PENDING, attempts=0, next_attempt_at=now, last_error=None
            ).returning(_o.c.id)
        )
        return [row[0] for row in result.all()]
