"""The privacy notice: "past appointments are kept 3 years after your last activity, then
anonymised". The daily appointment-retention job does it; a patient who still books keeps their
history. Both databases."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from app.accounts.models import Account
from app.booking.models import appointment_table
from app.core import clock
from app.core.jobs import run_job
from app.core.repository import table_of
from app.core.settings import Settings
from app.jobs import JOBS
from tests.factories import People
from tests.helpers.booking import book, patient, ready_practitioner, soon
from tests.helpers.statements import counting

account_table = table_of(Account)


async def _age(app: FastAPI, appointment_id: str, account_id: str, years: int) -> None:
    """Move a visit and its patient's sign-up ``years`` into the past."""
    then = clock.now() - timedelta(days=365 * years)
    async with app.state.session_factory() as session, session.begin():
        await session.execute(
            sa.update(appointment_table)
            .where(appointment_table.c.id == uuid.UUID(appointment_id))
            .values(start_at=then, end_at=then + timedelta(minutes=15), created_at=then)
        )
        await session.execute(
            sa.update(account_table)
            .where(account_table.c.id == uuid.UUID(account_id))
            .values(created_at=then - timedelta(days=1))
        )


async def test_past_visits_of_patients_inactive_for_three_years_name_nobody(
    people: People, app: FastAPI, settings: Settings
) -> None:
    doctor, (reason,) = await ready_practitioner(people)
    alice, bob = await patient(people), await patient(people)
    # three distinct slots an hour apart (the aged visits keep their cells at the first two)
    first = soon(24 * 60, span_hours=2)
    old_alice = (await book(alice, doctor.account_id, reason, first)).json()["id"]
    old_bob = (await book(bob, doctor.account_id, reason, first + timedelta(hours=1))).json()["id"]
    await _age(app, old_alice, alice.account_id, 4)
    await _age(app, old_bob, bob.account_id, 4)
    # bob is still active: he books again today
    recent = (await book(bob, doctor.account_id, reason, first + timedelta(hours=2))).json()["id"]

    job = next(j for j in JOBS if j.name == "appointment-retention")
    await run_job(app.state.session_factory, settings, job, force=True)

    async with app.state.session_factory() as session:
        rows = (
            await session.execute(sa.select(appointment_table.c.id, appointment_table.c.patient_id))
        ).all()
    owner = {str(r.id): r.patient_id for r in rows}
    assert owner[old_alice] is None
    assert str(owner[old_bob]) == bob.account_id
    assert str(owner[recent]) == bob.account_id
    # alice's own list no longer holds it; the practice still knows a visit took place, not whose
    assert old_alice not in (await alice.get("/api/v1/me/appointments?scope=past")).text
    window = {
        "from": (clock.now() - timedelta(days=365 * 4 + 2)).isoformat(),
        "to": (clock.now() - timedelta(days=365 * 4 - 2)).isoformat(),
    }
    agenda = {a["id"]: a for a in (await doctor.get("/api/v1/me/agenda", params=window)).json()}
    assert agenda[old_alice]["patient"] == {
        "id": None,
        "full_name": "",
        "phone": None,
        "email": None,
        "no_shows": 0,
    }
    assert agenda[old_bob]["patient"]["full_name"] == bob.full_name
    # the practitioner's export carries the visit without a patient, and stays valid
    assert (await doctor.reauth()).status_code == 204
    exported = (await doctor.get("/api/v1/me/practice/export")).json()
    (visit,) = [e["resource"] for e in exported["entry"] if e["resource"]["id"] == old_alice]
    assert [p["actor"]["reference"] for p in visit["participant"]] == [
        f"Practitioner/{doctor.account_id}"
    ]
    # the practice cannot move or cancel a visit that names nobody into anyone's agenda
    moved = await doctor.post(
        f"/api/v1/appointments/{old_alice}/reschedule", json={"start": soon(48 * 60).isoformat()}
    )
    assert moved.status_code in {409, 404}


@pytest.mark.only_backend("postgres")
async def test_the_job_is_an_anti_join_even_when_the_active_set_outgrows_memory(
    people: People, app: FastAPI, settings: Settings, engine: AsyncEngine
) -> None:
    """With ``NOT IN (subquery)``, PostgreSQL rescanned the whole active set for every old
    appointment once that set no longer fit in ``work_mem`` (a plain ``SubPlan``): quadratic,
    the job would never end at a national scale. The statement the job sends, planned with a
    tiny ``work_mem``, must hold no subplan."""
    doctor, (reason,) = await ready_practitioner(people)
    alice = await patient(people)
    old = (await book(alice, doctor.account_id, reason, soon(24 * 60))).json()["id"]
    await _age(app, old, alice.account_id, 4)
    job = next(j for j in JOBS if j.name == "appointment-retention")
    with counting(app) as seen:
        await run_job(app.state.session_factory, settings, job, force=True)
    updates = [
        (statement, parameters)
        for statement, parameters in zip(seen.statements, seen.parameters, strict=True)
        if statement.lstrip().startswith("UPDATE appointment SET patient_id")
    ]
    assert len(updates) == 1, seen.statements
    statement, parameters = updates[0]
    async with engine.connect() as connection:
        await connection.exec_driver_sql("SET work_mem = '64kB'")
        plan = (
            await connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", parameters)
        ).scalar_one()
    plan = json.loads(plan) if isinstance(plan, str) else plan
    text = json.dumps(plan)
    assert "SubPlan" not in text, json.dumps(plan, indent=1)
    assert "Anti" in text, json.dumps(plan, indent=1)
