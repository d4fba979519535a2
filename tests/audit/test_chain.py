"""The audit chain detects every kind of tampering, stays linear under concurrency, and shares the
fate of the action it records (SECURITY.md "Audit trail", charter C9)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.audit import chain
from app.audit.dependencies import Audit
from app.audit.models import AuditAction, AuditOutcome
from app.audit.repository import AuditRepository, checkpoint_table, entry_table, head_table
from app.audit.service import Actor, AuditTrail, purge_older_than
from app.core import clock
from app.core.db import transaction
from app.core.request_db import DbSession
from tests.audit.tampering import tampering
from tests.audit.trail import KEY, check, write_entries
from tests.helpers.backends import TEST_SECRET, Backend


async def seq_of(engine: AsyncEngine, seq: int) -> dict[str, object]:
    async with engine.connect() as connection:
        row = (
            await connection.execute(sa.select(entry_table).where(entry_table.c.seq == seq))
        ).one()
    return dict(row._mapping)


async def test_intact_chain_verifies(sessions: async_sessionmaker[AsyncSession]) -> None:
    await write_entries(sessions, 5)
    result = await check(sessions)
    assert result.ok
    assert result.entries == 5
    assert result.first_bad is None
    async with transaction(sessions) as session:
        head = await AuditRepository(session).head()
    assert head is not None
    assert head == (5, result.head)


async def test_empty_chain_verifies(sessions: async_sessionmaker[AsyncSession]) -> None:
    result = await check(sessions)
    assert result.ok
    assert result.entries == 0
    assert result.head == chain.GENESIS_HASH


async def test_changed_row_is_named(
    sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    await write_entries(sessions, 6)
    target = await seq_of(engine, 4)
    async with tampering(engine) as connection:
        await connection.execute(
            entry_table.update().where(entry_table.c.seq == 4).values(object_id="appt-other")
        )
    result = await check(sessions)
    assert not result.ok
    assert result.first_bad_seq == 4
    assert result.first_bad == str(target["id"])
    assert result.entries == 3


async def test_removed_row_is_named(
    sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    await write_entries(sessions, 6)
    async with tampering(engine) as connection:
        await connection.execute(entry_table.delete().where(entry_table.c.seq == 3))
    result = await check(sessions)
    assert not result.ok
    assert result.first_bad_seq == 4  # the entry after the hole
    assert "gap" in (result.reason or "")


@pytest.mark.parametrize("removed", [1, 5])
async def test_removed_last_rows_are_detected(
    sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine, removed: int
) -> None:
    """Issue 20: deleting the newest entries left a shorter chain that verified. The head record,
    moved in the transaction of every append, names what is missing."""
    await write_entries(sessions, 8)
    assert (await check(sessions)).ok
    async with tampering(engine) as connection:
        await connection.execute(entry_table.delete().where(entry_table.c.seq > 8 - removed))
    after = await check(sessions)
    assert not after.ok
    assert after.first_bad_seq == 9 - removed
    assert "missing" in (after.reason or "")


async def test_the_head_record_cannot_be_dropped_or_forged(
    sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    await write_entries(sessions, 3)
    async with tampering(engine) as connection:
        await connection.execute(entry_table.delete().where(entry_table.c.seq == 3))
        await connection.execute(head_table.delete())
    assert "head record is missing" in ((await check(sessions)).reason or "")

    second = await seq_of(engine, 2)
    async with tampering(engine) as connection:
        await connection.execute(
            head_table.insert().values(
                id=1, seq=2, hash=second["hash"], mac="0" * 64, updated_at=clock.now()
            )
        )
    assert "not authenticated" in ((await check(sessions)).reason or "")


async def test_inserted_row_is_named(
    sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    """A forged entry slipped in as seq 3 (the later ones moved up) breaks the link at seq 3."""
    await write_entries(sessions, 5)
    forged = await seq_of(engine, 2)
    forged |= {"seq": 3, "id": uuid.uuid4(), "object_id": "forged", "prev_hash": forged["hash"]}
    forged["hash"] = chain.entry_hash(str(forged["prev_hash"]), chain.entry_payload(forged))
    forged["mac"] = "0" * 64  # without the key, no valid MAC
    async with tampering(engine) as connection:
        for seq in (5, 4, 3):
            await connection.execute(
                entry_table.update().where(entry_table.c.seq == seq).values(seq=seq + 1)
            )
        await connection.execute(entry_table.insert().values(**forged))
    result = await check(sessions)
    assert not result.ok
    assert result.first_bad_seq == 3


async def test_swapped_rows_are_named(
    sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    await write_entries(sessions, 5)
    second, third = await seq_of(engine, 2), await seq_of(engine, 3)
    async with tampering(engine) as connection:
        await connection.execute(entry_table.delete().where(entry_table.c.seq.in_([2, 3])))
        await connection.execute(entry_table.insert().values(**(third | {"seq": 2})))
        await connection.execute(entry_table.insert().values(**(second | {"seq": 3})))
    result = await check(sessions)
    assert not result.ok
    assert result.first_bad_seq == 2


async def test_recomputed_chain_without_the_key_is_detected(
    sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    """Someone with database access edits an entry and recomputes every later hash: the MAC fails."""
    await write_entries(sessions, 4)
    rows = [await seq_of(engine, seq) for seq in range(1, 5)]
    async with tampering(engine) as connection:
        prev = chain.GENESIS_HASH
        for seq, row in enumerate(rows, start=1):
            if seq == 2:
                row["actor_id"] = "someone-else"
            row["prev_hash"] = prev
            row["hash"] = chain.entry_hash(prev, chain.entry_payload(row))
            prev = str(row["hash"])
            await connection.execute(
                entry_table.update()
                .where(entry_table.c.seq == seq)
                .values(actor_id=row["actor_id"], prev_hash=row["prev_hash"], hash=row["hash"])
            )
    result = await check(sessions)
    assert not result.ok
    assert result.first_bad_seq == 2
    assert "audit key" in (result.reason or "")


async def test_concurrent_writers_leave_a_gapless_chain(
    sessions: async_sessionmaker[AsyncSession], backend: Backend
) -> None:
    writers = 100

    async def one(i: int) -> None:
        async with transaction(sessions) as session:
            trail = AuditTrail(session, KEY)
            await trail.record(
                AuditAction.AGENDA_READ, actor=Actor.account(f"p{i}", "practitioner")
            )
            await asyncio.sleep(0)  # let the others interleave inside their transactions
            await trail.record(AuditAction.APPOINTMENT_READ, actor=Actor.system())

    await asyncio.gather(*(one(i) for i in range(writers)))
    result = await check(sessions)
    assert result.ok, result
    assert result.entries == 2 * writers
    async with sessions() as session:
        seqs = (
            await session.execute(sa.select(entry_table.c.seq).order_by(entry_table.c.seq))
        ).scalars()
        assert list(seqs) == list(range(1, 2 * writers + 1))


@pytest.fixture
async def audited_route(app: FastAPI, engine: AsyncEngine) -> AsyncIterator[FastAPI]:
    """A route that writes a row and records it; the probe table exists only for the test."""
    probe = sa.Table("_audit_probe", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True))
    app.state.probe = probe
    async with engine.begin() as connection:
        await connection.run_sync(probe.create)

    @app.post("/api/v1/_test/audited/{value}")
    async def audited(value: int, session: DbSession, audit: Audit) -> dict[str, int]:
        await session.execute(probe.insert().values(id=value))
        await audit.record(
            AuditAction.APPOINTMENT_BOOKED,
            actor=Actor.system(),
            object_type="probe",
            object_id=value,
        )
        return {"id": value}

    yield app
    async with engine.begin() as connection:
        await connection.run_sync(probe.drop)


async def test_action_and_audit_commit_together(
    audited_route: FastAPI,
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    response = await client.post("/api/v1/_test/audited/1")
    assert response.status_code == 200
    entry = await seq_of(engine, 1)
    assert entry["action"] == "appointment.booked"
    assert entry["request_id"] == response.headers["x-request-id"]
    assert entry["object_id"] == "1"
    assert (await check(sessions)).ok


async def test_failed_audit_write_rolls_back_the_action(
    audited_route: FastAPI,
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    probe: sa.Table = audited_route.state.probe

    async def broken_insert(self: AuditRepository, rows: object) -> None:
        raise RuntimeError("audit storage failed")

    # both ways entries are written: after a certain head (SQLite), after a guessed one (PostgreSQL)
    monkeypatch.setattr(AuditRepository, "insert_entries", broken_insert)
    monkeypatch.setattr(AuditRepository, "insert_next", broken_insert)
    response = await client.post("/api/v1/_test/audited/2")
    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    async with engine.connect() as connection:
        assert (
            await connection.execute(sa.select(sa.func.count()).select_from(probe))
        ).scalar() == 0
        assert (
            await connection.execute(sa.select(sa.func.count()).select_from(entry_table))
        ).scalar() == 0


async def test_details_refuse_non_scalar_values(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session:
        trail = AuditTrail(session, KEY)
        with pytest.raises(TypeError):
            await trail.record(
                AuditAction.AGENDA_READ,
                actor=Actor.system(),
                details={"x": [1, 2]},  # type: ignore[dict-item]
            )
        with pytest.raises(TypeError):
            await trail.record("made.up", actor=Actor.system())  # type: ignore[arg-type]


async def test_purge_keeps_the_rest_verifiable(
    sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with clock.frozen(start) as frozen:
        for _ in range(3):
            await write_entries(sessions, 2)
            frozen.advance(timedelta(days=200))
        async with transaction(sessions) as session:
            removed = await purge_older_than(session, KEY, timedelta(days=365))
    assert removed == 4  # the two batches older than a year at 2027-08-20
    result = await check(sessions)
    assert result.ok, result
    assert result.entries == 3  # 2 kept + the purge's own entry
    async with engine.connect() as connection:
        actions = (await connection.execute(sa.select(entry_table.c.action))).scalars().all()
    assert "audit.purged" in actions

    async with tampering(engine) as connection:
        await connection.execute(checkpoint_table.update().values(cut_hash="f" * 64))
    tampered = await check(sessions)
    assert not tampered.ok
    assert "checkpoint" in (tampered.reason or "")


def _cli(backend: Backend) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "ERDV_DATABASE_URL": backend.url,
        "ERDV_SECRET_KEY": TEST_SECRET,
        "ERDV_ENCRYPTION_KEY": "x" * 43,
        "ERDV_ENV": "test",
    }
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "app", "audit", "verify"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_cli_verify_exit_codes(
    backend: Backend, sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    await write_entries(sessions, 3)
    ok = await asyncio.to_thread(_cli, backend)
    assert ok.returncode == 0, ok.stderr
    head = (await check(sessions)).head
    assert head in ok.stdout

    async with tampering(engine) as connection:
        await connection.execute(
            entry_table.update().where(entry_table.c.seq == 2).values(outcome=AuditOutcome.FAILURE)
        )
    broken = await asyncio.to_thread(_cli, backend)
    assert broken.returncode == 1
    # the verdict names the entry, on stdout as the "ok" answer is, and on stderr
    bad_id = (await check(sessions)).first_bad
    for stream in (broken.stdout, broken.stderr):
        assert f"seq=2 id={bad_id}" in stream, stream


async def test_cli_names_a_removed_newest_entry_by_its_seq(
    backend: Backend, sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    """No row is left to give an id: the verdict names the seq the head record expects (it
    printed ``id=None`` before)."""
    await write_entries(sessions, 3)
    async with tampering(engine) as connection:
        await connection.execute(entry_table.delete().where(entry_table.c.seq == 3))
    broken = await asyncio.to_thread(_cli, backend)
    assert broken.returncode == 1
    assert "BROKEN at entry seq=3: entries 3 to 3 are missing" in broken.stdout, broken.stdout
    assert "None" not in broken.stdout
