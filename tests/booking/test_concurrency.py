"""No double booking, whatever the timing: the cell grid in the database decides (SECURITY.md).

Fifty patients fire at once, twenty rounds: half the rounds all at one slot, the others split between
a 45-minute visit and an overlapping 15-minute one. Exactly one request wins each round, the others
get 409 ``slot_unavailable`` (never a 500, never a deadlock), and the database never holds two
overlapping active appointments or a cell without its appointment.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.booking.models import appointment_table
from app.core.settings import Settings
from tests.factories import People
from tests.helpers.booking import fast_patients, ready_practitioner, slots

PATIENTS = 50
ROUNDS = 20


async def test_fifty_concurrent_bookings_one_winner_twenty_times(
    app: FastAPI,
    people: People,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    doctor, (short, long) = await ready_practitioner(
        people,
        reasons=[("Court", 15), ("Long", 45)],
        weekly=[{"weekday": d, "start": "08:00", "end": "20:00"} for d in range(7)],
    )
    clients = await fast_patients(app, settings, PATIENTS)
    start = datetime.now(UTC) + timedelta(days=1)
    free = await slots(
        people.client(), doctor.account_id, start, start + timedelta(days=5), visit_reason_id=long
    )
    targets = free[:ROUNDS]
    assert len(targets) == ROUNDS
    try:
        for round_number, target in enumerate(targets):
            at = datetime.fromisoformat(target["start"])
            bodies = []
            for i in range(PATIENTS):
                mixed = round_number % 2 == 1 and i % 2 == 1
                bodies.append(
                    {
                        "practitioner_id": doctor.account_id,
                        "visit_reason_id": short if mixed else long,
                        "start": (at + timedelta(minutes=15) if mixed else at).isoformat(),
                    }
                )
            responses = await asyncio.gather(
                *(
                    c.post("/api/v1/appointments", json=b)
                    for c, b in zip(clients, bodies, strict=True)
                )
            )
            codes = sorted(r.status_code for r in responses)
            assert codes.count(201) == 1, (round_number, codes)
            assert codes.count(409) == PATIENTS - 1, (round_number, codes)
            for r in responses:
                if r.status_code == 409:
                    assert r.json()["code"] == "slot_unavailable"
    finally:
        for c in clients:
            await c.aclose()
    async with sessions() as session:
        a = appointment_table
        rows = (
            await session.execute(
                sa.select(a.c.id, a.c.start_at, a.c.end_at)
                .where(a.c.status == "booked")
                .order_by(a.c.start_at)
            )
        ).all()
        orphan_cells = (
            await session.execute(
                sa.text(
                    "SELECT count(*) FROM booking_cell c LEFT JOIN appointment a "
                    "ON a.id = c.appointment_id WHERE a.id IS NULL OR a.status <> 'booked'"
                )
            )
        ).scalar_one()
        cells = (await session.execute(sa.text("SELECT count(*) FROM booking_cell"))).scalar_one()
        booked_audits = (
            await session.execute(
                sa.text("SELECT count(*) FROM audit_entry WHERE action = 'appointment.booked'")
            )
        ).scalar_one()
    assert len(rows) == ROUNDS
    for previous, current in zip(rows, rows[1:], strict=False):
        assert previous.end_at <= current.start_at  # no two active appointments overlap
    assert orphan_cells == 0
    assert cells == sum(int((r.end_at - r.start_at).total_seconds() // 300) for r in rows)
    assert booked_audits == ROUNDS  # refused bookings left no audit entry
