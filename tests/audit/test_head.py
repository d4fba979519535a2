"""Issue 20, item 5: the newest entries cannot be deleted unnoticed. A MAC'd head record, an anchor
kept outside the database (``erdv audit anchor``, ``erdv audit verify --anchor``), and on
PostgreSQL triggers that refuse UPDATE and DELETE except the retention purge."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.audit.repository import checkpoint_table, entry_table, head_table
from app.audit.service import purge_older_than
from app.core import clock
from app.core.db import transaction
from tests.audit.tampering import tampering
from tests.audit.trail import KEY, check, write_entries
from tests.helpers.backends import TEST_SECRET, Backend
from tests.helpers.cli import backend_env


def _cli(
    backend: Backend, *args: str, secret: str = TEST_SECRET
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "app", "audit", *args],
        env=backend_env(backend) | {"ERDV_SECRET_KEY": secret},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_an_anchor_catches_a_rolled_back_head(
    backend: Backend,
    sessions: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    tmp_path: Path,
) -> None:
    """Someone deletes the newest entries *and* puts back an older head record they had kept (its
    MAC is genuine): only a copy of the head kept outside the database can tell."""
    await write_entries(sessions, 3)
    async with engine.connect() as connection:
        old_head = dict((await connection.execute(sa.select(head_table))).one()._mapping)
    await write_entries(sessions, 3)
    anchor = tmp_path / "anchor.json"
    made = await asyncio.to_thread(_cli, backend, "anchor", "-o", str(anchor))
    assert made.returncode == 0, made.stderr
    document = json.loads(anchor.read_text())
    assert document["seq"] == 6
    assert {"hash", "at", "signature", "public_key"} <= set(document)

    held = await asyncio.to_thread(_cli, backend, "verify", "--anchor", str(anchor))
    assert held.returncode == 0, held.stderr
    assert "reaches the anchored seq 6" in held.stdout

    async with tampering(engine) as connection:
        await connection.execute(entry_table.delete().where(entry_table.c.seq > 3))
        await connection.execute(head_table.update().values(**old_head))
    assert (await check(sessions)).ok  # the database alone looks consistent
    broken = await asyncio.to_thread(_cli, backend, "verify", "--anchor", str(anchor))
    assert broken.returncode == 1
    assert "before the anchored seq 6" in broken.stderr


async def test_an_anchor_must_be_signed_by_this_installation(
    backend: Backend, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    await write_entries(sessions, 2)
    anchor = tmp_path / "anchor.json"
    assert (await asyncio.to_thread(_cli, backend, "anchor", "-o", str(anchor))).returncode == 0
    forged = json.loads(anchor.read_text()) | {"seq": 1}
    anchor.write_text(json.dumps(forged))
    refused = await asyncio.to_thread(_cli, backend, "verify", "--anchor", str(anchor))
    assert refused.returncode == 2
    assert "signature" in refused.stderr
    other = await asyncio.to_thread(
        _cli, backend, "verify", "--anchor", str(anchor), secret="another-secret-" + "y" * 40
    )
    assert other.returncode == 2


async def test_an_anchor_older_than_a_purge_still_verifies(
    backend: Backend, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    anchor = tmp_path / "anchor.json"
    with clock.frozen(datetime(2026, 1, 1, tzinfo=UTC)) as frozen:
        await write_entries(sessions, 2)
        made = await asyncio.to_thread(_cli, backend, "anchor", "-o", str(anchor))
        assert made.returncode == 0, made.stderr
        frozen.advance(timedelta(days=400))
        await write_entries(sessions, 2)
        async with transaction(sessions) as session:
            assert await purge_older_than(session, KEY, timedelta(days=365)) == 2
    held = await asyncio.to_thread(_cli, backend, "verify", "--anchor", str(anchor))
    assert held.returncode == 0, held.stderr


@pytest.mark.only_backend("postgres")
async def test_postgres_refuses_changes_to_the_trail_except_the_purge(
    sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    await write_entries(sessions, 4)
    refused = [
        entry_table.update().where(entry_table.c.seq == 2).values(object_id="forged"),
        entry_table.delete().where(entry_table.c.seq == 4),
        entry_table.delete(),
        head_table.delete(),
        head_table.update().values(seq=2),
    ]
    for statement in refused:
        with pytest.raises(DBAPIError, match="erdv: "):
            async with engine.begin() as connection:
                await connection.execute(statement)
    assert (await check(sessions)).ok

    # the purge: its checkpoint first, then it may delete what the checkpoint covers, no more
    with clock.frozen(clock.now() + timedelta(days=400)):
        async with transaction(sessions) as session:
            assert await purge_older_than(session, KEY, timedelta(days=365)) == 4
    result = await check(sessions)
    assert result.ok, result
    for statement in (
        checkpoint_table.update().values(cut_hash="f" * 64),
        checkpoint_table.delete(),
        entry_table.delete(),
    ):
        with pytest.raises(DBAPIError, match="erdv: "):
            async with engine.begin() as connection:
                await connection.execute(statement)
