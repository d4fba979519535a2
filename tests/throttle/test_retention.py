"""The throttle-retention job forgets the keys every policy has forgotten (GDPR art. 5(1)(e)).

Throttle keys such as ``login:ip:<address>`` hold client addresses; without the job every key ever
used stayed in ``throttle_state`` for good. Deleting a key is safe only when it changes no answer:
its last failure is older than the longest window (so the next one would count 1 anyway) and it
blocks nothing any more.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core import clock
from app.core.db import transaction
from app.core.jobs import run_job
from app.core.settings import Settings
from app.jobs import JOBS
from app.throttle.service import DatabaseStore, Policies, Throttle

JOB = next(j for j in JOBS if j.name == "throttle-retention")


async def _keys(sessions: async_sessionmaker[AsyncSession]) -> set[str]:
    async with transaction(sessions) as session:
        rows = await session.execute(sa.text("SELECT key FROM throttle_state"))
        return {row.key for row in rows}


async def test_only_keys_that_change_no_answer_are_forgotten(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    policies = Policies.from_settings(settings)
    window = policies.longest_window
    assert window == timedelta(seconds=settings.throttle_window_seconds)  # 24 h: the login policies
    now = clock.now()
    with clock.frozen(now - window - timedelta(minutes=5)) as frozen:
        async with transaction(sessions) as session:
            store = DatabaseStore(session)
            throttle = Throttle(store, policies)
            for _ in range(3):
                await throttle.failure("stale:ip:192.0.2.1", policies.ip)
            await throttle.failure("stale-blocked:account:a", policies.account)
            await store.block("stale-blocked:account:a", now + timedelta(minutes=10))
            await throttle.failure("stale-was-blocked:account:b", policies.account)
            await store.block("stale-was-blocked:account:b", now - window)
        frozen.advance(window)  # ten minutes ago: within every window
        async with transaction(sessions) as session:
            await Throttle(DatabaseStore(session), policies).failure(
                "recent:ip:192.0.2.2", policies.ip
            )

    assert await run_job(sessions, settings, JOB, force=True) == "forgot 2 throttle keys"
    assert await _keys(sessions) == {"stale-blocked:account:a", "recent:ip:192.0.2.2"}

    # what was forgotten would have counted from 1 again: the answer is the same without the row
    async with transaction(sessions) as session:
        assert (
            await Throttle(DatabaseStore(session), policies).failure(
                "stale:ip:192.0.2.1", policies.ip
            )
            == 1
        )


async def test_nothing_stale_nothing_forgotten(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    async with transaction(sessions) as session:
        policies = Policies.from_settings(settings)
        await Throttle(DatabaseStore(session), policies).failure("fresh:ip:192.0.2.3", policies.ip)
    assert await run_job(sessions, settings, JOB, force=True) == "forgot 0 throttle keys"
    assert "fresh:ip:192.0.2.3" in await _keys(sessions)
