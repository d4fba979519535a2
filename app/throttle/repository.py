"""SQL for throttling state: one upsert per failure, atomic under concurrency on both databases."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import lock_until_commit
from app.throttle.models import ThrottleState

throttle_table = cast(sa.Table, ThrottleState.__table__)  # type: ignore[attr-defined]


class ThrottleRepository:
    """Writes in the request's transaction, which a ``RecordedFailure`` commits even on failure."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock(self, key: str) -> None:
        """Attempts on one key take turns until the transaction ends."""
        await lock_until_commit(self.session, f"erdv:throttle:{key}")

    async def blocked_until(self, key: str) -> datetime | None:
        result = await self.session.execute(
            sa.select(throttle_table.c.blocked_until).where(throttle_table.c.key == key)
        )
        value: datetime | None = result.scalar_one_or_none()
        return value

    async def add_failure(self, key: str, now: datetime, forget_before: datetime) -> int:
        """Count one more failure (or restart at 1 when the last one is older than the window)."""
        dialect = self.session.get_bind().dialect.name
        insert_fn: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
        t = throttle_table
        statement = (
            insert_fn(t)
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

    async def purge_older_than(self, before: datetime) -> int:
        result = await self.session.execute(
            sa.delete(throttle_table).where(
                throttle_table.c.last_failure_at < before,
                sa.or_(
                    throttle_table.c.blocked_until.is_(None),
                    throttle_table.c.blocked_until < before,
                ),
            )
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
