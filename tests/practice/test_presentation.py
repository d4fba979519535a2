"""The practitioner's presentation space (charter C2: titles and mode of practice) and the choice to
ask no visit reason (C6: "if a reason is asked"). Each test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.charter.registry import default_charter
from app.compliance import report
from app.core.settings import Settings
from app.models import metadata
from app.practice.models import visit_reason_table
from tests.factories import People
from tests.helpers.booking import book, patient, ready_practitioner, slots, soon
from tests.helpers.problems import assert_problem

TITLES = ["Ancien chef de clinique", "DU d'échographie"]


async def _statuses(person: object) -> dict[str, str]:
    body = (await person.get("/api/v1/charter/compliance")).json()  # type: ignore[attr-defined]
    return {c["id"]: c["status"] for c in body["clauses"]}


async def test_titles_and_mode_of_practice_are_the_practitioners_and_public(
    people: People,
) -> None:
    doctor, _ = await ready_practitioner(people)
    changed = await doctor.put(
        "/api/v1/me/practice",
        json={"titles": [*TITLES, TITLES[0]], "practice_mode": "mixed"},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["titles"] == TITLES  # a repeated title once
    assert changed.json()["practice_mode"] == "mixed"
    # live at once, in the profile and in search
    anyone = await people.anonymous()
    profile = (await anyone.get(f"/api/v1/practitioners/{doctor.account_id}")).json()
    assert (profile["titles"], profile["practice_mode"]) == (TITLES, "mixed")
    found = (await anyone.get("/api/v1/practitioners", params={"city": "Paris"})).json()
    (mine,) = [p for p in found["items"] if p["id"] == doctor.account_id]
    assert (mine["titles"], mine["practice_mode"]) == (TITLES, "mixed")
    # a field left out keeps its value; null clears the mode
    assert (await doctor.put("/api/v1/me/practice", json={"fees": "30 €"})).json()["titles"] == (
        TITLES
    )
    cleared = await doctor.put("/api/v1/me/practice", json={"practice_mode": None, "titles": []})
    assert (cleared.json()["practice_mode"], cleared.json()["titles"]) == (None, [])
    # bad input is refused whole
    for body in (
        {"practice_mode": "hospital"},
        {"titles": ["x"]},
        {"titles": ["t" * 121]},
        {"titles": [f"Titre {n}" for n in range(9)]},
        {"titles": "Ancien interne"},
    ):
        assert_problem(await doctor.put("/api/v1/me/practice", json=body), 422, "validation_error")


async def test_a_practice_may_ask_no_visit_reason(people: People) -> None:
    doctor, (first, second) = await ready_practitioner(
        people, reasons=[("Suivi", 15), ("Vaccination", 30)]
    )
    assert_problem(
        await doctor.post("/api/v1/me/visit-reasons", json={"duration_minutes": 20}),
        422,
        "validation_error",
    )
    created = await doctor.post(
        "/api/v1/me/visit-reasons", json={"generic": True, "duration_minutes": 20}
    )
    assert created.status_code == 201, created.text
    generic = created.json()
    assert (generic["label"], generic["generic"], generic["new_patients"]) == (
        "Consultation",
        True,
        True,
    )
    # the generic reason replaces every other one, in the list and in each opening block
    mine = (await doctor.get("/api/v1/me/visit-reasons")).json()
    assert [r["id"] for r in mine] == [generic["id"]]
    weekly = (await doctor.get("/api/v1/me/availability")).json()["weekly"]
    assert weekly
    assert all(b["visit_reason_ids"] == [generic["id"]] for b in weekly)
    anyone = await people.anonymous()
    profile = (await anyone.get(f"/api/v1/practitioners/{doctor.account_id}")).json()
    assert [(r["id"], r["generic"]) for r in profile["visit_reasons"]] == [(generic["id"], True)]
    start = soon(24 * 60)
    free = await slots(anyone, doctor.account_id, start, start + timedelta(hours=2))
    assert free
    assert {s["visit_reason_id"] for s in free} == {generic["id"]}

    # the patient books the one generic reason (a retired one is refused), and can move it
    alice = await patient(people)
    assert_problem(await book(alice, doctor.account_id, first, start), 422, "validation_error")
    booked = await book(alice, doctor.account_id, generic["id"], free[0]["start"])
    assert booked.status_code == 201, booked.text
    seen = (await doctor.get(f"/api/v1/appointments/{booked.json()['id']}")).json()
    assert seen["visit_reason"] == "Consultation"
    moved = await alice.post(
        f"/api/v1/appointments/{booked.json()['id']}/reschedule", json={"start": free[1]["start"]}
    )
    assert moved.status_code == 200, moved.text

    # adding a named reason asks reasons again: it takes the generic one's place
    named = await doctor.post(
        "/api/v1/me/visit-reasons", json={"label": "Bilan", "duration_minutes": 30}
    )
    assert named.status_code == 201, named.text
    mine = (await doctor.get("/api/v1/me/visit-reasons")).json()
    assert [(r["label"], r["generic"]) for r in mine] == [("Bilan", False)]
    weekly = (await doctor.get("/api/v1/me/availability")).json()["weekly"]
    assert all(b["visit_reason_ids"] == [named.json()["id"]] for b in weekly)
    assert second not in str(weekly)


async def test_c6_breaks_when_a_generic_reason_sits_beside_others(
    people: People, sessions: async_sessionmaker[AsyncSession]
) -> None:
    doctor, (named,) = await ready_practitioner(people)
    created = await doctor.post(
        "/api/v1/me/visit-reasons", json={"generic": True, "duration_minutes": 15}
    )
    assert created.status_code == 201
    anyone = await people.anonymous()
    assert (await _statuses(anyone))["C6"] == "met"
    async with sessions() as session, session.begin():
        await session.execute(
            sa.update(visit_reason_table)
            .where(visit_reason_table.c.id == uuid.UUID(named))
            .values(active=True)
        )
    after = await _statuses(anyone)
    assert after["C6"] == "not_met"
    assert after["C14"] == "not_met"


async def test_c2_breaks_when_the_profile_cannot_hold_titles_or_mode(
    app: FastAPI, sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    async with sessions() as session:

        def inputs(md: sa.MetaData) -> report.ReportInputs:
            return report.ReportInputs(session, settings, default_charter(), md, Path("static"), [])

        assert (await report._c2(inputs(metadata)))[0] == report.MET
        for dropped in ("titles", "practice_mode"):
            reduced = sa.MetaData()
            practice = metadata.tables["practice"]
            sa.Table(
                "practice",
                reduced,
                *(sa.Column(c.name, c.type) for c in practice.columns if c.name != dropped),
            )
            status, evidence = await report._c2(inputs(reduced))
            assert status == report.NOT_MET
            assert dropped in evidence.en
