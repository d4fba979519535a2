"""Charter C7 in spirit (issue 24): after the grace period nothing stored maps an appointment to
its reason, not even its length. With two reasons of different lengths, the length of a past
visit named its reason; the retention job now keeps its start only and frees its cells, and the
compliance report says not_met if a past visit keeps a length. Both databases."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.booking.models import appointment_table
from app.core import clock
from app.core.jobs import run_job
from app.core.settings import Settings
from app.jobs import JOBS
from tests.factories import People
from tests.helpers.booking import book, paris_at, patient, ready_practitioner


def _instant(value: object) -> datetime:
    """A raw row's time: a datetime on PostgreSQL, its ISO text on SQLite."""
    at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return at if at.tzinfo else at.replace(tzinfo=UTC)


async def _c7(client: httpx.AsyncClient) -> str:
    clauses = (await client.get("/api/v1/charter/compliance")).json()["clauses"]
    status: str = next(c["status"] for c in clauses if c["id"] == "C7")
    return status


async def test_past_visits_keep_no_length_that_names_their_reason(
    people: People,
    app: FastAPI,
    settings: Settings,
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    doctor, (short, long) = await ready_practitioner(
        people, reasons=[("Vaccin-qq1", 15), ("Bilan-complet-qq2", 45)]
    )
    alice, bob = await patient(people), await patient(people)
    # starts on each reason's lattice (blocks open at 00:00; 45-minute visits at 09:00, 11:15)
    first = (await book(alice, doctor.account_id, short, paris_at(1, 10))).json()
    second = (await book(bob, doctor.account_id, long, paris_at(2, 9))).json()
    ahead = (await book(alice, doctor.account_id, long, paris_at(2, 11, 15))).json()
    assert first["end"] != second["end"]
    job = next(j for j in JOBS if j.name == "visit-reason-retention")
    # past the grace of the later visit's end (counted from it: "two days from now" is a day
    # short of paris_at(2, ...) when Paris has passed midnight and UTC has not)
    last_end = datetime.fromisoformat(second["end"])
    later = last_end + timedelta(hours=settings.visit_reason_grace_hours + 2)
    with clock.frozen(later):
        # both visits are now past their grace; the third is still ahead
        ahead_start = clock.now() + timedelta(hours=1)
        async with sessions() as session, session.begin():
            await session.execute(
                sa.update(appointment_table)
                .where(appointment_table.c.id == uuid.UUID(ahead["id"]))
                .values(start_at=ahead_start, end_at=ahead_start + timedelta(minutes=45))
            )
        await run_job(app.state.session_factory, settings, job, force=True)
        async with sessions() as session:
            rows = (
                await session.execute(
                    sa.text("SELECT id, start_at, end_at, visit_reason_ct FROM appointment")
                )
            ).all()
            cells = (
                (await session.execute(sa.text("SELECT appointment_id FROM booking_cell")))
                .scalars()
                .all()
            )
        by_id = {str(uuid.UUID(str(r.id))): r for r in rows}
        for past in (first["id"], second["id"]):
            row = by_id[past]
            assert row.end_at == row.start_at, past
            assert row.visit_reason_ct is None
        # the visit ahead keeps its length, its reason and its cells
        kept = by_id[ahead["id"]]
        assert kept.end_at != kept.start_at
        assert kept.visit_reason_ct is not None
        assert {str(uuid.UUID(str(c))) for c in cells} == {ahead["id"]}
        assert await _c7(client) == "met"
        # a past visit that gets its length back is what the report catches
        async with sessions() as session, session.begin():
            await session.execute(
                sa.update(appointment_table)
                .where(appointment_table.c.id == uuid.UUID(first["id"]))
                .values(end_at=_instant(by_id[first["id"]].start_at) + timedelta(minutes=15))
            )
        assert await _c7(client) == "not_met"
