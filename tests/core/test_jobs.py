"""Periodic jobs run once per interval however many processes try, and are retried after a failure."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core import clock
from app.core.jobs import Job, run_forever, run_job
from app.core.settings import Settings


class Counter:
    def __init__(self) -> None:
        self.runs = 0

    async def __call__(self, session: AsyncSession, settings: Settings) -> str:
        self.runs += 1
        await asyncio.sleep(0.01)
        return f"run {self.runs}"


async def test_job_runs_once_per_interval(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    counter = Counter()
    job = Job("test-job", timedelta(hours=1), counter)
    with clock.frozen(datetime(2027, 5, 1, tzinfo=UTC)) as frozen:
        assert await run_job(sessions, settings, job) == "run 1"
        assert await run_job(sessions, settings, job) is None
        frozen.advance(timedelta(minutes=59))
        assert await run_job(sessions, settings, job) is None
        frozen.advance(timedelta(minutes=2))
        assert await run_job(sessions, settings, job) == "run 2"
        assert await run_job(sessions, settings, job, force=True) == "run 3"


async def test_concurrent_processes_run_a_due_job_once(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    counter = Counter()
    job = Job("contended", timedelta(hours=1), counter)
    results = await asyncio.gather(*(run_job(sessions, settings, job) for _ in range(8)))
    assert counter.runs == 1
    assert sum(r is not None for r in results) == 1


async def test_failed_run_is_retried(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    calls = 0

    async def flaky(session: AsyncSession, settings: Settings) -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("boom")
        return "ok"

    job = Job("flaky", timedelta(hours=1), flaky)
    with pytest.raises(RuntimeError):
        await run_job(sessions, settings, job)
    assert await run_job(sessions, settings, job) == "ok"  # the failed claim was rolled back


async def test_background_loop_keeps_going_after_errors(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    counter = Counter()

    async def broken(session: AsyncSession, settings: Settings) -> str:
        raise RuntimeError("always")

    jobs = [Job("broken", timedelta(0), broken), Job("counted", timedelta(0), counter)]
    task = asyncio.create_task(run_forever(sessions, settings, jobs, tick=0.01))
    for _ in range(200):
        if counter.runs >= 2:
            break
        await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert counter.runs >= 2
