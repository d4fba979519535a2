"""What a client needs to offer only what will work: the change deadline of each appointment, each
search result's next slot, and notices in the patient's language (the listing rules are in
``tests/practice/``)."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
from fastapi import FastAPI

from app.core import clock
from tests.factories import People, Person, mail_text, outbox
from tests.helpers.booking import (
    book,
    patient,
    ready_practitioner,
    slots,
    soon,
)
from tests.helpers.problems import assert_problem
from tests.helpers.statements import counting


async def test_each_appointment_says_until_when_the_patient_may_change_it(people: People) -> None:
    doctor, (reason,) = await ready_practitioner(
        people,
        rules={"min_notice_minutes": 0, "max_horizon_days": 30, "cancel_deadline_minutes": 24 * 60},
    )
    alice = await patient(people)
    late = (await book(alice, doctor.account_id, reason, soon(60))).json()
    early = (await book(alice, doctor.account_id, reason, soon(3 * 24 * 60))).json()
    listed = {a["id"]: a for a in (await alice.get("/api/v1/me/appointments")).json()}
    for booked in (late, early):
        until = datetime.fromisoformat(listed[booked["id"]]["changes_until"])
        assert until == datetime.fromisoformat(booked["start"]) - timedelta(hours=24)
        # in the practitioner's zone, like start and end
        assert until.utcoffset() == datetime.fromisoformat(booked["start"]).utcoffset()
    assert datetime.fromisoformat(listed[late["id"]]["changes_until"]) < clock.now()
    assert datetime.fromisoformat(listed[early["id"]]["changes_until"]) > clock.now()
    # and the server keeps to it: too late for the one, in time for the other
    assert_problem(
        await alice.post(f"/api/v1/appointments/{late['id']}/cancel"), 409, "cancel_deadline_passed"
    )
    read = (await alice.get(f"/api/v1/appointments/{early['id']}")).json()
    assert read["changes_until"] == listed[early["id"]]["changes_until"]
    cancelled = (await alice.post(f"/api/v1/appointments/{early['id']}/cancel")).json()
    assert cancelled["changes_until"] is None


async def test_the_practice_cancelling_tells_the_patient_in_their_language(people: People) -> None:
    doctor, (reason,) = await ready_practitioner(people, name="Dr Alma Ruiz")
    alice = await patient(people)
    bob = await patient(people)
    assert (await bob.patch("/api/v1/me", json={"language": "en"})).status_code == 200
    for person, minutes in ((alice, 90), (bob, 180)):
        booked = (await book(person, doctor.account_id, reason, soon(minutes))).json()
        done = await doctor.post(f"/api/v1/appointments/{booked['id']}/cancel")
        assert done.status_code == 200, done.text
    mails = {m["To"]: m for m in outbox(people.settings)}
    french, english = mails[alice.email], mails[bob.email]
    assert french["Subject"] == "Rendez-vous annulé"
    assert "a été annulé par le cabinet" in mail_text(french)
    assert "Dr Alma Ruiz" in mail_text(french)
    assert english["Subject"] == "Appointment cancelled"
    assert "was cancelled by the practice" in mail_text(english)


async def _absent(practitioner: Person, start: datetime, length: timedelta) -> httpx.Response:
    """An absence from ``start`` that keeps the appointments already booked."""
    return await practitioner.post(
        "/api/v1/me/absences",
        json={
            "start": start.isoformat(),
            "end": (start + length).isoformat(),
            "cancel_appointments": False,
        },
    )


async def test_search_results_carry_their_next_slot(app: FastAPI, people: People) -> None:
    """The earliest bookable slot of each result, for a patient to pick from the results page;
    an agenda closed for more than a week is searched further, a few statements in all.

    A next slot counts from now: every window here starts at the same instant, the clock held
    still there, not at ``soon()``, which skips the hour before midnight where slots can be free
    (the slot list from ``soon()`` and the search disagreed in CI at 23:38 Paris time)."""
    with clock.frozen(clock.now()) as clocked:
        now = clocked()
        city = "Brest"
        open_now, (reason,) = await ready_practitioner(people, city=city, name="Dr Anne Aubry")
        away, _ = await ready_practitioner(people, city=city, name="Dr Basile Bret")
        absent = await _absent(away, now, timedelta(days=10))
        assert absent.status_code == 201, absent.text
        closed, _ = await ready_practitioner(
            people,
            city=city,
            name="Dr Chloé Caron",
            rules={"min_notice_minutes": 0, "max_horizon_days": 3, "cancel_deadline_minutes": 0},
        )
        shut = await _absent(closed, now, timedelta(days=5))
        assert shut.status_code == 201, shut.text
        visitor = await people.anonymous()
        first = (await slots(visitor, open_now.account_id, now, now + timedelta(days=1)))[0]
        # the first free slot is taken: the next one moves on
        alice = await patient(people)
        assert (await book(alice, open_now.account_id, reason, first["start"])).status_code == 201
        with counting(app) as search:
            found = await visitor.get("/api/v1/practitioners", params={"city": city})
        assert found.status_code == 200, found.text
        by_name = {p["display_name"]: p for p in found.json()["items"]}
        expected = (await slots(visitor, open_now.account_id, now, now + timedelta(days=1)))[0]
        assert by_name["Dr Anne Aubry"]["next_slot"] == expected
        assert expected["start"] != first["start"]
        later = by_name["Dr Basile Bret"]["next_slot"]
        assert datetime.fromisoformat(later["start"]) >= now + timedelta(days=10)
        assert (
            later
            == (
                await slots(
                    visitor,
                    away.account_id,
                    datetime.fromisoformat(later["start"]) - timedelta(days=1),
                    datetime.fromisoformat(later["start"]) + timedelta(hours=1),
                )
            )[0]
        )
        assert by_name["Dr Chloé Caron"]["next_slot"] is None
        # one statement for the first week of all three, one more for the two with nothing in it
        busy = [s for s in search.statements if "FROM absence" in s or "FROM appointment" in s]
        assert len(busy) == 2, search.statements


async def test_a_search_with_slots_takes_the_next_slot_from_them(
    app: FastAPI, people: People
) -> None:
    """Asked for its slots (``slots_days``), a result's next slot is the first of them: no more
    statements than before next slots existed."""
    doctor, _ = await ready_practitioner(people, city="Quimper", name="Dr Elsa Quéré")
    visitor = await people.anonymous()
    with counting(app) as search:
        found = await visitor.get(
            "/api/v1/practitioners", params={"city": "Quimper", "slots_days": "3"}
        )
    (item,) = found.json()["items"]
    assert item["next_slot"] == item["slots"][0]
    busy = [s for s in search.statements if "FROM absence" in s or "FROM appointment" in s]
    assert len(busy) == 1, search.statements
    assert doctor
