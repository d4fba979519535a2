"""The append's one-round-trip lock and head (PostgreSQL) keep the chain linear and gapless."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit import service as audit_service
from app.audit.models import AuditAction
from app.audit.repository import AuditRepository, entry_table
from app.audit.service import Actor, AuditTrail, verify
from app.core import clock
from app.core.db import new_id, transaction
from tests.audit.test_chain import KEY, write_entries


async def count(session: AsyncSession) -> int:
    return int(
        (await session.execute(sa.select(sa.func.count()).select_from(entry_table))).scalar_one()
    )


def entry(action: AuditAction) -> dict[str, object]:
    """An entry as ``AuditTrail.record`` buffers it, before chaining."""
    return {
        "id": new_id(),
        "at": clock.now(),
        "action": action.value,
        "outcome": "success",
        "actor_type": "system",
        "actor_id": None,
        "actor_role": None,
        "client_id": None,
        "subject_id": None,
        "object_type": None,
        "object_id": None,
        "ip": None,
        "request_id": None,
        "details": "{}",
    }


async def test_a_stale_head_is_refused_and_inserts_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await write_entries(sessions, 2)
    async with transaction(sessions) as session:
        repository = AuditRepository(session)
        await repository.lock_writers()
        rows = [entry(AuditAction.AGENDA_READ), entry(AuditAction.APPOINTMENT_READ)]
        audit_service._chain(rows, (1, "f" * 64), KEY)  # the head as it was one entry ago
        assert not await repository.insert_next(rows)
        assert await count(session) == 2
        audit_service._chain(rows, await repository.head(), KEY)
        assert await repository.insert_next(rows)
    result = await verify_chain(sessions)
    assert result.ok, result
    assert result.entries == 4


async def verify_chain(sessions: async_sessionmaker[AsyncSession]) -> audit_service.VerifyResult:
    async with transaction(sessions) as session:
        return await verify(session, KEY)


@pytest.mark.only_backend("postgres")
async def test_the_append_waits_for_the_writers_lock_and_chains_after_the_holder(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Its combined statement takes the lock ``lock_writers`` (``lock_until_commit``) takes; its
    first read of the head predates the holder's commit, and the append still lands after it."""
    await write_entries(sessions, 1)
    holder_locked = asyncio.Event()
    release = asyncio.Event()

    async def holder() -> None:
        async with transaction(sessions) as session:
            await AuditRepository(session).lock_writers()
            holder_locked.set()
            await release.wait()
            await AuditTrail(session, KEY).record(AuditAction.AGENDA_READ, actor=Actor.system())

    async def waiter() -> None:
        async with transaction(sessions) as session:
            await AuditTrail(session, KEY).record(
                AuditAction.APPOINTMENT_READ, actor=Actor.system()
            )

    holding = asyncio.create_task(holder())
    await holder_locked.wait()
    waiting = asyncio.create_task(waiter())
    await asyncio.sleep(0.5)
    assert not waiting.done()  # blocked on the same lock
    release.set()
    await asyncio.gather(holding, waiting)

    result = await verify_chain(sessions)
    assert result.ok, result
    assert result.entries == 3
    async with sessions() as session:
        actions = (
            await session.execute(sa.select(entry_table.c.action).order_by(entry_table.c.seq))
        ).scalars()
        assert list(actions)[1:] == [
            AuditAction.AGENDA_READ.value,
            AuditAction.APPOINTMENT_READ.value,
        ]
