"""The reminders job asks which once-only keys were staged already: a run may plan more reminders
than one statement may carry bind parameters (asyncpg: 32,767); `make bench`'s B17
planned 100,000 on PostgreSQL and the job failed."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from app.core import clock
from app.notifications.repository import NotificationRepository
from app.outbox.repository import OutboxRepository


async def test_more_keys_than_a_statement_may_carry(engine: AsyncEngine) -> None:
    factory = async_sessionmaker(engine, expire_on_commit=False)
    now = clock.now()
    taken = [f"reminder:test-{n}" for n in (7, 39_999)]
    async with factory() as session, session.begin():
        await OutboxRepository(session).add_once(
            [
                {
                    "id": uuid.uuid4(),
                    "kind": "mail",
                    "channel": "mail",
                    "payload": "sealed",
                    "status": "done",
                    "attempts": 1,
                    "created_at": now,
                    "next_attempt_at": now,
                    "recipient_id": None,
                    "topic": None,
                    "dedupe_key": key,
                }
                for key in taken
            ]
        )
    keys = [f"reminder:test-{n}" for n in range(40_000)]
    async with factory() as session:
        repository = NotificationRepository(session)
        assert await repository.staged_keys(keys) == set(taken)
        assert await repository.staged_keys([]) == set()
