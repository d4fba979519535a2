"""SQL for the audit trail: appending under the writers' lock, reading in ``seq`` order, purging."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditCheckpoint, AuditEntry, AuditHead
from app.core.db import lock_until_commit
from app.core.repository import changed, table_of

entry_table = table_of(AuditEntry)
checkpoint_table = table_of(AuditCheckpoint)
head_table = table_of(AuditHead)
HEAD_ID = 1

WRITERS_LOCK = "erdv:audit-writers"

# Every audited request runs these at commit: built once, not per call.
_HEAD = sa.select(entry_table.c.seq, entry_table.c.hash).order_by(entry_table.c.seq.desc()).limit(1)
_INSERT = sa.insert(entry_table)
_MOVE_HEAD = (
    sa.update(head_table)
    .where(head_table.c.id == HEAD_ID)
    .values(
        seq=sa.bindparam("head_seq"),
        hash=sa.bindparam("head_hash"),
        mac=sa.bindparam("head_mac"),
        updated_at=sa.bindparam("head_at"),
    )
)


def _lock_and_head() -> sa.Select[Any]:
    """PostgreSQL: take the writers' lock (the very lock ``lock_until_commit`` takes), then read the
    head, in one round trip. A plain statement would read with the snapshot it started with,
    before its lock wait, and miss the entries of the writer that held the lock; the function
    (migration ``7d41c9a2e0b3``) is VOLATILE, so its read takes a snapshot of its own once the
    lock is granted. No row: the trail is empty (see ``latest_checkpoint``)."""
    head = sa.func.erdv_audit_lock_and_head(sa.bindparam("lock", type_=sa.String)).table_valued(
        sa.column("seq", sa.BigInteger), sa.column("hash", sa.String)
    )
    return sa.select(head.c.seq, head.c.hash)


def _insert_if_next() -> sa.Insert:
    """Insert one entry only if no entry has its ``seq`` or a later one. It runs after the lock
    was granted, so its own snapshot sees every committed entry and nobody else can append until
    this transaction ends: it succeeds exactly when the head read before was the real one (a
    safety net since ``_lock_and_head`` reads after the lock: it costs nothing, the insert is
    one statement either way).

    The guard compares with ``max(seq)``, which PostgreSQL reads from the end of the primary key
    whatever the plan. It was ``NOT EXISTS (... WHERE seq >= :seq)``: after five executions of the
    prepared statement PostgreSQL settles on a generic plan, which, not knowing ``:seq``, expects a
    third of the rows to match and scans the table for the first one; none ever matches, so every
    audited request read the whole trail under the writers' lock, longer as the trail grows
    (bench/README.md "Performance rules in the code")."""
    columns = list(entry_table.columns)
    newest = sa.select(sa.func.max(entry_table.c.seq)).scalar_subquery()
    values = sa.select(*(sa.bindparam(c.name, type_=c.type) for c in columns)).where(
        sa.func.coalesce(newest, -1) < sa.bindparam("seq")
    )
    return sa.insert(entry_table).from_select([c.name for c in columns], values)


_LOCK_AND_HEAD = _lock_and_head()
_INSERT_IF_NEXT = _insert_if_next()


def _count(result: Any) -> int:
    return changed(result)


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock_writers(self) -> None:
        """Serialize appenders until the transaction ends, so the chain never forks."""
        await lock_until_commit(self.session, WRITERS_LOCK)

    async def lock_writers_and_head(self) -> tuple[tuple[int, str] | None, bool]:
        """``lock_writers()``, then the head as ``head()`` gives it, and whether entries may be
        chained to it without ``insert_next``'s check. SQLite: yes, its transactions hold the
        database's only write lock. PostgreSQL: both take one round trip (``_lock_and_head``), and
        the append still goes through ``insert_next``, a safety net that costs no statement."""
        if self.session.get_bind().dialect.name != "postgresql":
            await self.lock_writers()
            return await self.head(), True
        row = (await self.session.execute(_LOCK_AND_HEAD, {"lock": WRITERS_LOCK})).first()
        if row is not None:
            return (int(row.seq), str(row.hash)), False
        # no entry: the checkpoint, read under the lock
        checkpoint = await self.latest_checkpoint()
        return ((checkpoint.cut_seq, checkpoint.cut_hash) if checkpoint else None), False

    async def insert_next(self, rows: Sequence[dict[str, object]]) -> bool:
        """Insert chained ``rows`` unless an entry already has the first one's ``seq`` or a later
        one (the head they were chained to was not the real one): then insert nothing, say False.
        Call it under the writers' lock."""
        first, rest = rows[0], rows[1:]
        if _count(await self.session.execute(_INSERT_IF_NEXT, first)) != 1:
            return False
        if rest:  # chained after the first, which is now the head, under the lock
            await self.insert_entries(rest)
        return True

    async def head(self) -> tuple[int, str] | None:
        """``(seq, hash)`` of the newest entry, else of the newest purge checkpoint, else ``None``."""
        row = (await self.session.execute(_HEAD)).first()
        if row is not None:
            return int(row.seq), str(row.hash)
        checkpoint = await self.latest_checkpoint()
        return (checkpoint.cut_seq, checkpoint.cut_hash) if checkpoint else None

    async def insert_entries(self, rows: Sequence[dict[str, object]]) -> None:
        # one row (most requests) as a plain execute: a one-item executemany costs more
        await self.session.execute(_INSERT, rows[0] if len(rows) == 1 else list(rows))

    async def move_head(self, seq: int, digest: str, mac: str, at: datetime) -> None:
        """Pin the newest entry, in the appending transaction, under the writers' lock. One
        UPDATE on every append; the very first one inserts the row."""
        values = {"head_seq": seq, "head_hash": digest, "head_mac": mac, "head_at": at}
        if _count(await self.session.execute(_MOVE_HEAD, values)) == 0:
            await self.session.execute(
                sa.insert(head_table).values(
                    id=HEAD_ID, seq=seq, hash=digest, mac=mac, updated_at=at
                )
            )

    async def head_record(self) -> AuditHead | None:
        row = (await self.session.execute(sa.select(head_table))).first()
        if row is None:
            return None
        return AuditHead(**row._mapping)

    async def entry_hash(self, seq: int) -> str | None:
        """The stored hash of entry ``seq``, if it is still there."""
        found = await self.session.execute(
            sa.select(entry_table.c.hash).where(entry_table.c.seq == seq)
        )
        value = found.scalar_one_or_none()
        return str(value) if value is not None else None

    async def count_through(self, seq: int) -> int:
        return int(
            (
                await self.session.execute(
                    sa.select(sa.func.count())
                    .select_from(entry_table)
                    .where(entry_table.c.seq <= seq)
                )
            ).scalar_one()
        )

    async def latest_checkpoint(self) -> AuditCheckpoint | None:
        result = await self.session.execute(
            sa.select(AuditCheckpoint).order_by(checkpoint_table.c.cut_seq.desc()).limit(1)
        )
        return result.scalar_one_or_none()

    async def iter_entries(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        subject_id: str | None = None,
        after_seq: int = 0,
        batch_size: int = 1000,
        descending: bool = False,
    ) -> AsyncIterator[sa.Row[tuple[object, ...]]]:
        """Entries in ``seq`` order, fetched in keyset-paginated batches (constant memory)."""
        cursor = after_seq
        last: int | None = None
        while True:
            query = sa.select(entry_table)
            if descending:
                if last is not None:
                    query = query.where(entry_table.c.seq < last)
                query = query.order_by(entry_table.c.seq.desc())
            else:
                query = query.where(entry_table.c.seq > cursor).order_by(entry_table.c.seq)
            if since is not None:
                query = query.where(entry_table.c.at >= since)
            if until is not None:
                query = query.where(entry_table.c.at < until)
            if subject_id is not None:
                query = query.where(entry_table.c.subject_id == subject_id)
            rows = (await self.session.execute(query.limit(batch_size))).all()
            for row in rows:
                yield row
            if len(rows) < batch_size:
                return
            cursor = last = int(rows[-1].seq)

    async def entries_about(
        self, subject_id: str, *, limit: int, before_seq: int | None = None
    ) -> Sequence[sa.Row[tuple[object, ...]]]:
        """The newest entries whose subject is ``subject_id`` (index ``subject_id, seq``)."""
        query = sa.select(entry_table).where(entry_table.c.subject_id == subject_id)
        if before_seq is not None:
            query = query.where(entry_table.c.seq < before_seq)
        query = query.order_by(entry_table.c.seq.desc()).limit(limit)
        return (await self.session.execute(query)).all()

    async def last_entry_before(self, at: datetime) -> tuple[int, str] | None:
        row = (
            await self.session.execute(
                sa.select(entry_table.c.seq, entry_table.c.hash)
                .where(entry_table.c.at < at)
                .order_by(entry_table.c.seq.desc())
                .limit(1)
            )
        ).first()
        return (int(row.seq), str(row.hash)) if row else None

    async def delete_through(self, seq: int) -> int:
        result = await self.session.execute(sa.delete(entry_table).where(entry_table.c.seq <= seq))
        return changed(result)

    async def add_checkpoint(self, checkpoint: AuditCheckpoint) -> None:
        self.session.add(checkpoint)
        await self.session.flush()

    async def count(self) -> int:
        return int(
            (
                await self.session.execute(sa.select(sa.func.count()).select_from(entry_table))
            ).scalar_one()
        )
