"""SQL for throttling state: one upsert per failure, atomic under concurrency on both databases."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import dialect_insert, insert_for, lock_until_commit
from app.core.repository import changed, table_of
from app.throttle.models import ThrottleState

throttle_table = table_of(ThrottleState)


@cache
def _hit(dialect: str) -> Any:
    """The hit upsert, built once per dialect: every booking and every login counts one."""
    t = throttle_table
    now = sa.bindparam("now", type_=t.c.last_failure_at.type)
    blocked = t.c.blocked_until > now
    return (
        insert_for(dialect, t)
        .values(key=sa.bindparam("key"), failures=1, last_failure_at=now, blocked_until=None)
        .on_conflict_do_update(
            index_elements=[t.c.key],
            set_={
                "failures": sa.case(
                    (blocked, t.c.failures),
                    (
                        t.c.last_failure_at
                        < sa.bindparam("forget_before", type_=t.c.last_failure_at.type),
                        1,
                    ),
                    else_=t.c.failures + 1,
                ),
                "last_failure_at": sa.case((blocked, t.c.last_failure_at), else_=now),
            },
        )
        .returning(t.c.failures, t.c.blocked_until)
    )


class ThrottleRepository:
    """Writes in the request's transaction, which a ``RecordedFailure`` commits even on failure."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock(self, key: str) -> None:
        """Attempts on one key take turns until the transaction ends."""
        await lock_until_commit(self.session, f"erdv:throttle:{key}")

    async def blocked_until_many(self, keys: Sequence[str]) -> dict[str, datetime | None]:
        """``blocked_until`` of each key that has a row, in one statement."""
        t = throttle_table
        rows = await self.session.execute(
            sa.select(t.c.key, t.c.blocked_until).where(t.c.key.in_(keys))
        )
        return {row.key: row.blocked_until for row in rows}

    async def hit(
        self, key: str, now: datetime, forget_before: datetime
    ) -> tuple[int, datetime | None]:
        """Count one hit unless the key is blocked at ``now``, in one statement; return the count
        and ``blocked_until`` (a blocked key's count is left as it was)."""
        dialect = self.session.get_bind().dialect.name
        params = {"key": key, "now": now, "forget_before": forget_before}
        row = (await self.session.execute(_hit(dialect), params)).one()
        return int(row.failures), row.blocked_until

    async def add_failure(self, key: str, now: datetime, forget_before: datetime) -> int:
        """Count one more failure (or restart at 1 when the last one is older than the window)."""
        t = throttle_table
        statement = (
            dialect_insert(self.session, t)
            .values(key=key, failures=1, last_failure_at=now, blocked_until=None)
            .on_conflict_do_update(
                index_elements=[t.c.key],
                set_={
                    "failures": sa.case(
                        (t.c.last_failure_at < forget_before, 1), else_=t.c.failures + 1
                    ),
                    "last_failure_at": now,
                },
            )
            .returning(t.c.failures)
        )
        return int((await self.session.execute(statement)).scalar_one())

    async def block(self, key: str, until: datetime) -> None:
        await self.session.execute(
            sa.update(throttle_table).where(throttle_table.c.key == key).values(blocked_until=until)
        )

    async def reset(self, key: str) -> None:
        await self.session.execute(sa.delete(throttle_table).where(throttle_table.c.key == key))

    async def forget_stale(self, before: datetime, now: datetime) -> int:
        """Delete the keys whose last failure or hit is older than ``before`` and that block nothing
        at ``now``: each policy would start such a key again at 1, as if it had no row."""
        t = throttle_table
        result = await self.session.execute(
            sa.delete(t).where(
                t.c.last_failure_at < before,
                sa.or_(t.c.blocked_until.is_(None), t.c.blocked_until <= now),
            )
        )
        return changed(result)
