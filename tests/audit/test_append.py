"""The append's one-round-trip lock and head (PostgreSQL) keep the chain linear and gapless."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit import service as audit_service
from app.audit.models import AuditAction
from app.audit.repository import _INSERT_IF_NEXT, AuditRepository, entry_table
from app.audit.service import Actor, AuditTrail, verify
from app.core import clock
from app.core.db import new_id, transaction
from tests.audit.trail import KEY, write_entries
from tests.helpers.statements import rows_read


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


def _recording(method: Any, calls: list[object]) -> Any:
    async def recorded(self: AuditRepository) -> Any:
        calls.append(self)
        return await method(self)

    return recorded


@pytest.mark.only_backend("postgres")
async def test_the_append_waits_for_the_writers_lock_and_chains_after_the_holder(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its one statement takes the lock ``lock_writers`` (``lock_until_commit``) takes, then reads
    the head once the lock is granted: the holder's entry, committed while the waiter waited, is
    seen at once, and the append lands after it without a second read."""
    await write_entries(sessions, 1)
    holder_locked = asyncio.Event()
    release = asyncio.Event()
    reread: list[object] = []
    monkeypatch.setattr(
        AuditRepository, "head", _recording(AuditRepository.head, reread), raising=True
    )

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
    # the waiter read the head once its lock was granted: right the first time, no second read
    assert reread == []

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


@pytest.mark.only_backend("postgres")
async def test_the_stale_head_guard_reads_one_row_even_with_a_generic_plan(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """After five executions PostgreSQL may run a prepared statement with a generic plan, blind to
    the parameters. The guard must then still read the newest entry, not scan the trail for a
    later one: with ``NOT EXISTS (seq >= :seq)`` it read all 2,000 entries here, on every audited
    request, under the writers' lock."""
    sql = str(_INSERT_IF_NEXT.compile(dialect=postgresql.asyncpg.dialect()))  # type: ignore[no-untyped-call]
    arguments = []
    for column in entry_table.columns:
        kind = getattr(column.type, "impl", column.type)
        if column.name == "seq":
            arguments.append("1000000")
        elif isinstance(kind, sa.Uuid):
            arguments.append("gen_random_uuid()")
        elif isinstance(kind, sa.DateTime):
            arguments.append("now()")
        else:
            arguments.append("'x'")
    placeholders = {int(n) for n in re.findall(r"\$(\d+)", sql)}
    arguments += ["-1"] * (len(placeholders) - len(arguments))  # the guard's own constants
    async with sessions() as session:
        connection = await session.connection()
        await connection.exec_driver_sql(
            "INSERT INTO audit_entry (seq, id, at, action, outcome, actor_type, details, "
            "prev_hash, hash, mac) SELECT n, gen_random_uuid(), now(), 'a', 'success', 'system', "
            "'{}', 'p', 'h', 'm' FROM generate_series(1, 2000) AS n"
        )
        await connection.exec_driver_sql("ANALYZE audit_entry")
        await connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
        await connection.exec_driver_sql(f"PREPARE guarded AS {sql}")
        result = await connection.exec_driver_sql(
            f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE guarded({', '.join(arguments)})"
        )
        plan = result.scalar_one()
        await session.rollback()
    plan = json.loads(plan) if isinstance(plan, str) else plan
    assert rows_read(plan[0]["Plan"]) <= 10, plan  # it was 2,001
