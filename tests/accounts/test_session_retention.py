"""A session past its timeout is over everywhere: not listed among the account's sessions, and
its row, which holds the browser's IP address and user agent, deleted by the hourly
``session-retention`` job even if its cookie never comes back (docs/security.md "Sessions"; the
privacy notice keeps security records 12 months at most). Each test runs on SQLite and
PostgreSQL."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.accounts.repository import session_table
from app.core import clock
from app.core.jobs import run_job
from app.core.settings import Settings
from app.jobs import JOBS
from tests.factories import People

JOB = next(j for j in JOBS if j.name == "session-retention")


async def _rows(sessions: async_sessionmaker[AsyncSession], account_id: str) -> int:
    async with sessions() as session:
        query = sa.select(sa.func.count()).where(
            session_table.c.account_id == uuid.UUID(account_id)
        )
        return int((await session.execute(query)).scalar_one())


async def test_ended_sessions_are_neither_listed_nor_kept(
    people: People, settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    alice = await people.signed_in(role="patient")
    doctor = await people.signed_in(role="practitioner")
    assert len((await alice.get("/api/v1/me/sessions")).json()) == 1
    idle = timedelta(minutes=settings.session_idle_minutes_patient)
    assert idle > timedelta(minutes=settings.session_idle_minutes_staff)

    # the practitioner's session ends after the staff's idle time: not listed, and its row goes
    # with the job's next run
    with clock.frozen(clock.now() + timedelta(minutes=settings.session_idle_minutes_staff + 1)):
        desk = replace(doctor, client=people.client())
        await desk.sign_in()
        listed = (await desk.get("/api/v1/me/sessions")).json()
        assert len(listed) == 1, listed
        assert await _rows(sessions, doctor.account_id) == 2

    later = clock.now() + idle + timedelta(minutes=1)
    with clock.frozen(later):
        # alice's first browser went quiet and never came back; she signs in on another
        phone = replace(alice, client=people.client())
        await phone.sign_in()
        listed = (await phone.get("/api/v1/me/sessions")).json()
        assert len(listed) == 1, listed
        assert await _rows(sessions, alice.account_id) == 2

        result = await run_job(sessions, settings, JOB, force=True)
        # alice's first, the practitioner's first and, idle a patient's timeout, the desk's
        assert result == "3 ended sessions forgotten", result
        assert await _rows(sessions, alice.account_id) == 1
        assert await _rows(sessions, doctor.account_id) == 0
        assert (await phone.get("/api/v1/me/sessions")).status_code == 200

    # a session kept busy still ends at the absolute timeout, and goes with the job
    absolute = timedelta(hours=settings.session_absolute_hours)
    at = later
    while at < later + absolute:
        at += idle - timedelta(minutes=1)
        with clock.frozen(at):
            await phone.get("/api/v1/me/sessions")
    with clock.frozen(later + absolute + timedelta(minutes=1)):
        result = await run_job(sessions, settings, JOB, force=True)
        assert result == "1 ended sessions forgotten", result
    assert await _rows(sessions, alice.account_id) == 0
