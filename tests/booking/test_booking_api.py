"""Booking through the API: rules, consent, idempotency, reschedule, access, time zones, minimal
data (the practice's own settings are tested in ``tests/practice/``)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.booking.retention import purge_visit_reasons
from app.core import clock
from app.core.jobs import run_job
from app.core.settings import Settings
from app.jobs import JOBS
from tests.factories import People, outbox
from tests.helpers.booking import (
    LISTING,
    book,
    grant,
    paris_at,
    patient,
    ready_practitioner,
    slots,
    soon,
)
from tests.helpers.problems import assert_problem

SECRET_LABEL = "Suivi-contraception-zz9"


async def test_book_then_slot_is_gone_and_times_are_in_the_practitioner_zone(
    people: People,
) -> None:
    doctor, (reason,) = await ready_practitioner(people)
    alice = await patient(people)
    start = soon(60)
    free = await slots(alice, doctor.account_id, start, start + timedelta(hours=2))
    assert free
    first = free[0]
    assert first["start"].endswith(("+01:00", "+02:00"))
    response = await book(alice, doctor.account_id, reason, first["start"])
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "booked"
    assert body["visit_reason_id"] == reason
    assert body["start"] == first["start"]
    assert body["channel"] == "web"
    again = await slots(alice, doctor.account_id, start, start + timedelta(hours=2))
    assert first["start"] not in [s["start"] for s in again]
    # a second booking of the same slot is refused by the cell grid
    bob = await patient(people)
    assert_problem(
        await book(bob, doctor.account_id, reason, first["start"]), 409, "slot_unavailable"
    )
    mine = await alice.get("/api/v1/me/appointments", params={"scope": "upcoming"})
    assert [a["id"] for a in mine.json()] == [body["id"]]
    assert (await alice.get("/api/v1/me/appointments", params={"scope": "past"})).json() == []


async def test_overlapping_visits_of_different_lengths_are_refused(people: People) -> None:
    doctor, (short, long) = await ready_practitioner(people, reasons=[("Court", 15), ("Long", 45)])
    alice, bob = await patient(people), await patient(people)
    start = paris_at(1, 9)
    booked = await book(alice, doctor.account_id, long, start)
    assert booked.status_code == 201, booked.text
    for minutes in (15, 30):
        refused = await book(bob, doctor.account_id, short, start + timedelta(minutes=minutes))
        assert_problem(refused, 409, "slot_unavailable")
    after = await book(bob, doctor.account_id, short, start + timedelta(minutes=45))
    assert after.status_code == 201, after.text


async def test_rules_too_soon_too_far_absence_and_outside_hours(people: People) -> None:
    doctor, (reason,) = await ready_practitioner(
        people,
        rules={"min_notice_minutes": 120, "max_horizon_days": 10, "cancel_deadline_minutes": 60},
        weekly=[{"weekday": d, "start": "08:00", "end": "12:00"} for d in range(7)],
    )
    alice = await patient(people)
    paris = ZoneInfo("Europe/Paris")
    day = (clock.now() + timedelta(days=3)).astimezone(paris).date()
    at = datetime(day.year, day.month, day.day, 9, 0, tzinfo=paris)
    # outside hours
    outside = at.replace(hour=14)
    assert_problem(await book(alice, doctor.account_id, reason, outside), 409, "slot_unavailable")
    # too far
    far = at + timedelta(days=14)
    assert_problem(await book(alice, doctor.account_id, reason, far), 409, "slot_unavailable")
    # too soon: the next cell, whatever the hour, is inside the two-hour notice
    assert_problem(await book(alice, doctor.account_id, reason, soon(5)), 409, "slot_unavailable")
    # off the lattice
    odd = at + timedelta(minutes=5)
    assert_problem(await book(alice, doctor.account_id, reason, odd), 409, "slot_unavailable")
    # inside an absence
    absence = await doctor.post(
        "/api/v1/me/absences",
        json={"start": at.isoformat(), "end": (at + timedelta(hours=1)).isoformat()},
    )
    assert absence.status_code == 201, absence.text
    # the slot list leaves the absence out, and only it
    assert await slots(alice, doctor.account_id, at, at + timedelta(hours=1)) == []
    after = await slots(alice, doctor.account_id, at + timedelta(hours=1), at + timedelta(hours=2))
    assert after
    assert after[0]["start"] == (at + timedelta(hours=1)).isoformat()
    assert_problem(await book(alice, doctor.account_id, reason, at), 409, "slot_unavailable")
    assert (
        await book(alice, doctor.account_id, reason, at + timedelta(hours=1))
    ).status_code == 201


async def test_booking_needs_the_privacy_notice(people: People) -> None:
    doctor, (reason,) = await ready_practitioner(people)
    carol = await people.signed_in(role="patient")
    body = assert_problem(
        await book(carol, doctor.account_id, reason, soon(60)), 409, "consent_required"
    )
    assert body["missing"] == ["privacy-notice"]


async def test_idempotency_key_returns_the_first_answer_and_books_once(
    people: People, sessions: async_sessionmaker[AsyncSession]
) -> None:
    doctor, (reason,) = await ready_practitioner(people)
    alice = await patient(people)
    start = soon(90)
    key = {"Idempotency-Key": "retry-" + uuid.uuid4().hex}
    first = await book(alice, doctor.account_id, reason, start, headers=key)
    assert first.status_code == 201, first.text
    again = await book(alice, doctor.account_id, reason, start, headers=key)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    other_body = await book(
        alice, doctor.account_id, reason, start + timedelta(hours=1), headers=key
    )
    assert_problem(other_body, 422, "idempotency_key_reused")
    # another caller with the same key books for themselves
    bob = await patient(people)
    assert_problem(
        await book(bob, doctor.account_id, reason, start, headers=key), 409, "slot_unavailable"
    )
    async with sessions() as session:
        count = (await session.execute(sa.text("SELECT count(*) FROM appointment"))).scalar_one()
        stored = (
            (await session.execute(sa.text("SELECT response FROM idempotency_key"))).scalars().all()
        )
    assert count == 1
    assert all(reason not in s for s in stored)  # no visit reason in the stored answer


async def test_reschedule_to_a_taken_time_leaves_the_original_intact(people: People) -> None:
    doctor, (reason,) = await ready_practitioner(people)
    alice, bob = await patient(people), await patient(people)
    start = paris_at(1, 10)
    mine = (await book(alice, doctor.account_id, reason, start)).json()
    taken = start + timedelta(minutes=30)
    assert (await book(bob, doctor.account_id, reason, taken)).status_code == 201
    moved = await alice.post(
        f"/api/v1/appointments/{mine['id']}/reschedule", json={"start": taken.isoformat()}
    )
    assert_problem(moved, 409, "slot_unavailable")
    still = (await alice.get(f"/api/v1/appointments/{mine['id']}")).json()
    assert still["start"] == mine["start"]
    assert still["status"] == "booked"
    # the original time is still held: nobody else can take it
    assert_problem(await book(bob, doctor.account_id, reason, start), 409, "slot_unavailable")
    # a free time works, and frees the old one
    free = start + timedelta(minutes=15)
    ok = await alice.post(
        f"/api/v1/appointments/{mine['id']}/reschedule", json={"start": free.isoformat()}
    )
    assert ok.status_code == 200, ok.text
    assert (await book(bob, doctor.account_id, reason, start)).status_code == 201


async def test_cancel_rules(
    people: People, sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    doctor, (reason,) = await ready_practitioner(
        people,
        reasons=[(SECRET_LABEL, 15)],
        rules={"min_notice_minutes": 0, "max_horizon_days": 30, "cancel_deadline_minutes": 48 * 60},
    )
    alice = await patient(people)
    late = (await book(alice, doctor.account_id, reason, soon(60))).json()
    assert_problem(
        await alice.post(f"/api/v1/appointments/{late['id']}/cancel"), 409, "cancel_deadline_passed"
    )
    early = (await book(alice, doctor.account_id, reason, soon(5 * 24 * 60))).json()
    done = await alice.post(f"/api/v1/appointments/{early['id']}/cancel")
    assert done.status_code == 200
    assert done.json()["status"] == "cancelled"
    assert_problem(
        await alice.post(f"/api/v1/appointments/{early['id']}/cancel"), 409, "already_cancelled"
    )
    # the practitioner may cancel at any time; the patient is told by mail, without the reason
    by_doctor = await doctor.post(f"/api/v1/appointments/{late['id']}/cancel")
    assert by_doctor.status_code == 200, by_doctor.text
    mails = [m for m in outbox(settings) if m["To"] == alice.email and "annul" in str(m["Subject"])]
    assert mails
    async with sessions() as session:
        rows = (
            (await session.execute(sa.text("SELECT visit_reason_ct FROM appointment")))
            .scalars()
            .all()
        )
    assert rows == [None, None]  # erased at cancellation (C7)


async def test_visit_reason_is_encrypted_then_purged_and_never_leaks(
    app: FastAPI,
    people: People,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    doctor, (reason,) = await ready_practitioner(people, reasons=[(SECRET_LABEL, 15)])
    alice = await patient(people)
    appointment = (await book(alice, doctor.account_id, reason, soon(60))).json()
    async with sessions() as session:
        stored = (
            await session.execute(sa.text("SELECT visit_reason_ct FROM appointment"))
        ).scalar_one()
    assert stored
    assert SECRET_LABEL not in stored
    assert reason not in stored
    # the two parties see it while it exists
    seen = (await doctor.get(f"/api/v1/appointments/{appointment['id']}")).json()
    assert seen["visit_reason"] == SECRET_LABEL
    ics = await alice.get(f"/api/v1/appointments/{appointment['id']}.ics")
    assert ics.status_code == 200
    assert ics.headers["content-type"].startswith("text/calendar")
    assert "BEGIN:VEVENT" in ics.text
    assert SECRET_LABEL not in ics.text
    assert (await doctor.reauth()).status_code == 204
    export = await doctor.get("/api/v1/me/practice/export")
    assert export.status_code == 200, export.text
    assert SECRET_LABEL not in export.text
    assert reason not in export.text
    kinds = {e["resource"]["resourceType"] for e in export.json()["entry"]}
    assert kinds == {"Practitioner", "Patient", "Appointment"}
    # before the grace period: kept; after it: erased by the job, and the run is audited
    job = next(j for j in JOBS if j.name == "visit-reason-retention")
    await run_job(app.state.session_factory, settings, job, force=True)
    async with sessions() as session:
        assert (
            await session.execute(sa.text("SELECT visit_reason_ct FROM appointment"))
        ).scalar_one() is not None
    with clock.frozen(clock.now() + timedelta(hours=settings.visit_reason_grace_hours + 3)):
        await run_job(app.state.session_factory, settings, job, force=True)
    async with sessions() as session:
        assert (
            await session.execute(sa.text("SELECT visit_reason_ct FROM appointment"))
        ).scalar_one() is None
        audited = (
            await session.execute(
                sa.text(
                    "SELECT count(*) FROM audit_entry WHERE action = 'retention.visit_reasons_purged'"
                )
            )
        ).scalar_one()
        trail = (await session.execute(sa.text("SELECT details FROM audit_entry"))).scalars().all()
    assert audited == 2
    assert all(SECRET_LABEL not in t and reason not in t for t in trail)
    for message in outbox(settings):
        assert SECRET_LABEL not in message.as_string()
    assert job.run is purge_visit_reasons  # the job function is the one wired in app.jobs


async def test_other_people_get_404_everywhere(people: People) -> None:
    doctor, (reason,) = await ready_practitioner(people)
    other_doctor, _ = await ready_practitioner(people)
    alice, mallory = await patient(people), await patient(people)
    appointment = (await book(alice, doctor.account_id, reason, soon(24 * 60))).json()
    base = f"/api/v1/appointments/{appointment['id']}"
    for who in (mallory, other_doctor):
        assert_problem(await who.get(base), 404, "not_found")
        assert_problem(await who.get(base + ".ics"), 404, "not_found")
        assert_problem(await who.post(base + "/cancel"), 404, "not_found")
        moved = await who.post(base + "/reschedule", json={"start": soon(48 * 60).isoformat()})
        assert_problem(moved, 404, "not_found")
    assert (await mallory.get("/api/v1/me/appointments")).json() == []
    # a practitioner sees only their own agenda, each patient read audited
    window = {"from": soon(0).isoformat(), "to": soon(3 * 24 * 60).isoformat()}
    assert (await other_doctor.get("/api/v1/me/agenda", params=window)).json() == []
    agenda = (await doctor.get("/api/v1/me/agenda", params=window)).json()
    assert [a["id"] for a in agenda] == [appointment["id"]]
    assert agenda[0]["patient"]["full_name"] == alice.full_name
    assert_problem(await alice.get("/api/v1/me/agenda"), 403, "forbidden")


async def test_unlisted_practitioners_are_neither_searchable_nor_bookable(people: People) -> None:
    hidden, (reason,) = await ready_practitioner(people, listed=False, name="Dr Cachée Hidden")
    alice = await patient(people)
    found = (await alice.get("/api/v1/practitioners", params={"q": "cachee"})).json()
    assert found["items"] == []
    assert_problem(await alice.get(f"/api/v1/practitioners/{hidden.account_id}"), 404, "not_found")
    assert_problem(
        await alice.get(f"/api/v1/practitioners/{hidden.account_id}/slots"), 404, "not_found"
    )
    assert_problem(await book(alice, hidden.account_id, reason, soon(60)), 404, "not_found")
    # listing purposes but no approval: still hidden; approval without one purpose: hidden
    await grant(hidden, *LISTING)
    me = (await hidden.get("/api/v1/me/practice")).json()
    assert me["listed"] is False
    assert "admin-approval" in me["listing_missing"]
    admin = await people.signed_in(role="admin")
    pending = (await admin.get("/api/v1/admin/practitioners", params={"status": "pending"})).json()
    assert hidden.account_id in [p["id"] for p in pending]
    approved = await admin.post(f"/api/v1/admin/practitioners/{hidden.account_id}/approve")
    assert approved.status_code == 200
    assert approved.json()["listed"] is True
    assert (await alice.get("/api/v1/practitioners", params={"q": "cachee"})).json()["items"]
    withdrawn = await hidden.post(
        "/api/v1/me/consents",
        json={"purpose_id": "deontology", "purpose_version": 1, "decision": "withdraw"},
    )
    if withdrawn.status_code == 409:  # not at version 1: use the current one
        from tests.helpers.booking import version

        withdrawn = await hidden.post(
            "/api/v1/me/consents",
            json={
                "purpose_id": "deontology",
                "purpose_version": version("deontology"),
                "decision": "withdraw",
            },
        )
    assert withdrawn.status_code == 201
    assert (await alice.get("/api/v1/practitioners", params={"q": "cachee"})).json()["items"] == []
    await grant(hidden, "deontology")
    suspended = await admin.post(f"/api/v1/admin/practitioners/{hidden.account_id}/suspend")
    assert suspended.json()["status"] == "suspended"
    assert suspended.json()["listed"] is False
    assert_problem(await book(alice, hidden.account_id, reason, soon(60)), 404, "not_found")


async def test_search_filters_exactly_and_pages_in_neutral_order(people: People) -> None:
    gyn, _ = await ready_practitioner(
        people, specialty="gynecologie-medicale", name="Dr Anne Zola", city="Lyon"
    )
    midwife, _ = await ready_practitioner(
        people, profession="sage-femme", specialty=None, name="Béatrice Arnaud", city="Lyon"
    )
    gp, _ = await ready_practitioner(people, name="Dr Émile Durand", city="Paris")
    anyone = people.client()
    found = (
        await anyone.get("/api/v1/practitioners", params={"specialty": "gynecologie-medicale"})
    ).json()["items"]
    assert [p["id"] for p in found] == [gyn.account_id]  # never the midwife (C13)
    assert found[0]["directory_url"].startswith("https://annuaire.sante.fr/")
    midwives = (
        await anyone.get("/api/v1/practitioners", params={"profession": "sage-femme"})
    ).json()
    assert [p["id"] for p in midwives["items"]] == [midwife.account_id]
    lyon = (await anyone.get("/api/v1/practitioners", params={"city": "lyon"})).json()["items"]
    assert {p["id"] for p in lyon} == {gyn.account_id, midwife.account_id}
    by_name = (await anyone.get("/api/v1/practitioners", params={"q": "emile"})).json()["items"]
    assert [p["id"] for p in by_name] == [gp.account_id]
    # alphabetical pages of one, linked by cursors
    seen, cursor = [], None
    while True:
        params = {"limit": "1", **({"cursor": cursor} if cursor else {})}
        page = (await anyone.get("/api/v1/practitioners", params=params)).json()
        seen += [p["display_name"] for p in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["Béatrice Arnaud", "Dr Anne Zola", "Dr Émile Durand"]
    assert_problem(
        await anyone.get("/api/v1/practitioners", params={"limit": "500"}), 422, "validation_error"
    )
    assert_problem(
        await anyone.get("/api/v1/practitioners", params={"profession": "astrologue"}),
        422,
        "validation_error",
    )
    assert_problem(
        await anyone.get(
            "/api/v1/practitioners", params={"profession": "sage-femme", "specialty": "pediatrie"}
        ),
        422,
        "validation_error",
    )
    professions = (await anyone.get("/api/v1/professions")).json()
    assert {"medecin", "sage-femme"} <= {p["id"] for p in professions}


async def test_search_with_slots_gives_each_result_the_slot_list(people: People) -> None:
    """``slots_days``: each result carries exactly what its own slot list says, booked time left out."""
    doctor, (reason,) = await ready_practitioner(people, name="Dr Ada Slot", city="Nantes")
    other, _ = await ready_practitioner(people, name="Dr Bea Slot", city="Nantes")
    alice = await patient(people)
    now = clock.now()
    taken = (await slots(alice, doctor.account_id, soon(60), soon(60) + timedelta(hours=3)))[0]
    assert (await book(alice, doctor.account_id, reason, taken["start"])).status_code == 201
    anyone = people.client()
    plain = (await anyone.get("/api/v1/practitioners", params={"city": "Nantes"})).json()
    assert [p["slots"] for p in plain["items"]] == [None, None]
    page = (
        await anyone.get("/api/v1/practitioners", params={"city": "Nantes", "slots_days": "2"})
    ).json()
    assert [p["id"] for p in page["items"]] == [doctor.account_id, other.account_id]
    for item in page["items"]:
        # the same slots as the slot route gives for the same window (computed a moment later)
        expected = await slots(anyone, item["id"], now, now + timedelta(days=2))
        got = [s["start"] for s in item["slots"]]
        assert got, item
        assert {s["start"] for s in expected[5:-5]} <= set(got)
        assert abs(len(got) - len(expected)) <= 2
        assert all(s["start"].endswith(("+01:00", "+02:00")) for s in item["slots"])
    assert taken["start"] not in [s["start"] for s in page["items"][0]["slots"]]
    for bad in ("0", "15", "x"):
        assert_problem(
            await anyone.get("/api/v1/practitioners", params={"slots_days": bad}),
            422,
            "validation_error",
        )


async def test_my_appointments_name_the_practitioners_time_zone(people: People) -> None:
    """A patient in Paris booking in Nouméa reads 09:00 in Nouméa, not in the browser's zone: the
    item says which zone its times are in (the front end formats them there)."""
    doctor, (reason,) = await ready_practitioner(
        people, city="Nouméa", timezone="Pacific/Noumea", name="Dr Tane Wakolo"
    )
    alice = await patient(people)
    noumea = ZoneInfo("Pacific/Noumea")
    day = (clock.now() + timedelta(days=2)).astimezone(noumea).date()
    start = datetime(day.year, day.month, day.day, 9, 0, tzinfo=noumea)
    booked = await book(alice, doctor.account_id, reason, start)
    assert booked.status_code == 201, booked.text
    mine = (await alice.get("/api/v1/me/appointments", params={"scope": "upcoming"})).json()
    assert [(a["timezone"], a["start"]) for a in mine] == [("Pacific/Noumea", start.isoformat())]
    one = (await alice.get(f"/api/v1/appointments/{booked.json()['id']}")).json()
    assert one["timezone"] == "Pacific/Noumea"
    assert datetime.fromisoformat(one["start"]).utcoffset() == timedelta(hours=11)
