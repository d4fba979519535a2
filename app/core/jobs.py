"""Periodic jobs (retention purges) that run safely with several app processes.

Every app process runs the same small loop, but a job only runs where its *claim* succeeds: an
``UPDATE scheduled_job SET started_at = now WHERE name = :name AND started_at < now - interval`` that
one process wins (the row count says who). No state lives in process memory, so adding workers or
hosts never runs a purge twice in the same interval, and a crashed run is simply retried next time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import Field, SQLModel

from app.core import clock
from app.core.db import UTCDateTime, transaction
from app.core.repository import changed, table_of
from app.core.settings import Settings

logger = logging.getLogger("erdv.jobs")


class ScheduledJob(SQLModel, table=True):
    __tablename__ = "scheduled_job"

    name: str = Field(primary_key=True, max_length=64)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_result: str | None = Field(default=None, max_length=200)


_table = table_of(ScheduledJob)

JobFunction = Callable[[AsyncSession, Settings], Awaitable[str]]


@dataclass(frozen=True)
class Job:
    """``run`` does its work in the given session and returns a one-line, data-free summary."""

    name: str
    interval: timedelta
    run: JobFunction


async def _claim(session: AsyncSession, job: Job, now: datetime, *, force: bool) -> bool:
    try:
        async with session.begin_nested():
            await session.execute(sa.insert(_table).values(name=job.name))
    except IntegrityError:
        pass  # the row exists already
    condition = _table.c.name == job.name
    if not force:
        condition &= sa.or_(
            _table.c.started_at.is_(None), _table.c.started_at <= now - job.interval
        )
    result = await session.execute(sa.update(_table).where(condition).values(started_at=now))
    return changed(result) > 0


async def last_finished(session: AsyncSession, name: str) -> datetime | None:
    """When job ``name`` last ran to the end (its own run, in progress, has not set it yet): a job
    that works through what came due since its last run reads it, so nothing falls between two
    runs, however long the servers were down."""
    query = sa.select(_table.c.finished_at).where(_table.c.name == name)
    finished: datetime | None = (await session.execute(query)).scalar_one_or_none()
    return finished


@dataclass(frozen=True)
class LastRun:
    name: str
    finished_at: datetime | None
    result: str | None


async def last_runs(session: AsyncSession, names: Sequence[str]) -> list[LastRun]:
    """When each job named last ran to the end and what it said, in the order given (never run:
    both None): what the compliance report shows of the retention work."""
    rows = await session.execute(
        sa.select(_table.c.name, _table.c.finished_at, _table.c.last_result).where(
            _table.c.name.in_(list(names))
        )
    )
    found = {row.name: row for row in rows}
    return [
        LastRun(name, found[name].finished_at, found[name].last_result)
        if name in found
        else LastRun(name, None, None)
        for name in names
    ]


async def run_job(
    factory: async_sessionmaker[AsyncSession], settings: Settings, job: Job, *, force: bool = False
) -> str | None:
    """Run ``job`` if it is due (or ``force``), in one transaction with its claim; ``None`` if not due."""
    async with transaction(factory) as session:
        now = clock.now()
        if not await _claim(session, job, now, force=force):
            return None
        summary = await job.run(session, settings)
        await session.execute(
            sa.update(_table)
            .where(_table.c.name == job.name)
            .values(finished_at=clock.now(), last_result=summary[:200])
        )
    logger.info("job finished", extra={"job": job.name, "summary": summary})
    return summary


async def run_forever(
    factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    jobs: Sequence[Job],
    *,
    tick: float,
) -> None:
    """The background loop started by the app's lifespan; a failing job is logged and retried."""
    while True:
        for job in jobs:
            try:
                await run_job(factory, settings, job)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("job failed", extra={"job": job.name})
        await asyncio.sleep(tick)
