"""The practice's desk (issue #25): bookings entered by the practice (by phone, for someone without
an account, or for one of its patients), moves and cancellations by a secretary, visit outcomes,
and a secretary racing patients for one slot. Each test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from fastapi import FastAPI
from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.patient import Patient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.booking.models import appointment_table
from app.core import clock
from app.core.settings import Settings
from tests.factories import People, mail_text, outbox
from tests.helpers.booking import book, fast_patients, patient, ready_practitioner, slots
from tests.helpers.fhir import bundle_resources, reference, resources_of
from tests.helpers.problems import assert_problem
from tests.helpers.team import secretary_of


def _window(days: int = 8) -> dict[str, str]:
    start = clock.now() - timedelta(days=1)
    return {"from": start.isoformat(), "to": (start + timedelta(days=days)).isoformat()}


def _subjects(settings: Settings, to: str) -> list[str]:
    return [str(m["Subject"]) for m in outbox(settings) if m["To"] == to]


async def test_the_practice_books_by_phone_and_for_its_own_patients(
    people: People, settings: Settings
) -> None:
    doctor, (reason,) = await ready_practitioner(people, name="Dr Agnès Morel")
    claire = await secretary_of(people, doctor)
    start = datetime.now(UTC) + timedelta(days=1)
    free = await slots(people.client(), doctor.account_id, start, start + timedelta(days=3))
    url = f"/api/v1/practices/{doctor.account_id}/appointments"

    # someone without an account, by phone: name, phone, address
    walk_in = {"full_name": "Marc Petit", "phone": "06 12 34 56 78", "email": "Marc@Example.test"}
    body = {"visit_reason_id": reason, "start": free[0]["start"], "patient": walk_in}
    booked = await claire.post(url, json=body, headers={"Idempotency-Key": "phone-1"})
    assert booked.status_code == 201, booked.text
    assert (booked.json()["channel"], booked.json()["status"]) == ("practice", "booked")
    replay = await claire.post(url, json=body, headers={"Idempotency-Key": "phone-1"})
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["id"] == booked.json()["id"]
    assert "Rendez-vous confirmé" in _subjects(settings, "marc@example.test")
    agenda = (
        await claire.get(f"/api/v1/practices/{doctor.account_id}/agenda", params=_window())
    ).json()
    (entry,) = agenda
    assert entry["patient"] == {
        "id": None,
        "full_name": "Marc Petit",
        "phone": "+33612345678",
        "email": "marc@example.test",
        "no_shows": 0,
    }
    assert entry["channel"] == "practice"
    # the same guarantees as any booking: the slot is taken for everyone
    alice = await patient(people)
    assert_problem(
        await book(alice, doctor.account_id, reason, free[0]["start"]), 409, "slot_unavailable"
    )
    again = {**body, "patient": {"full_name": "Zoé Autre", "phone": "0611223344"}}
    assert_problem(await claire.post(url, json=again), 409, "slot_unavailable")
    # bad input, refused whole
    for wrong in (
        {"visit_reason_id": reason, "start": free[1]["start"]},
        {**body, "start": free[1]["start"], "patient_id": alice.account_id},
        {**body, "start": free[1]["start"], "patient": {"full_name": "X Y", "phone": "12"}},
        {**body, "start": free[1]["start"], "visit_reason_id": str(uuid.uuid4())},
    ):
        response = await claire.post(url, json=wrong)
        assert response.status_code == 422, (wrong, response.text)

    # an account that is no patient, or none at all: 404
    for nobody in (claire.account_id, str(uuid.uuid4())):
        assert_problem(
            await claire.post(
                url,
                json={"visit_reason_id": reason, "start": free[2]["start"], "patient_id": nobody},
            ),
            404,
            "not_found",
        )
    # one of the practice's patients, found by name once they have booked here; another patient
    # of the same name, who never came, is not found
    bob = await patient(people)
    assert bob.full_name == alice.full_name
    own = await book(alice, doctor.account_id, reason, free[3]["start"])
    assert own.status_code == 201, own.text
    found = (
        await claire.get(
            f"/api/v1/practices/{doctor.account_id}/patients", params={"q": alice.full_name[:4]}
        )
    ).json()
    assert found == [{"id": alice.account_id, "full_name": alice.full_name, "phone": None}]
    for_alice = await claire.post(
        url,
        json={"visit_reason_id": reason, "start": free[2]["start"], "patient_id": alice.account_id},
    )
    assert for_alice.status_code == 201, for_alice.text
    assert _subjects(settings, alice.email).count("Rendez-vous confirmé") == 2
    mine = {a["id"]: a for a in (await alice.get("/api/v1/me/appointments")).json()}
    assert mine[for_alice.json()["id"]]["channel"] == "practice"
    # bob's account id, learnt anywhere, books nothing here: he is not the practice's patient
    # (404 as for no account), so his name and phone never reach its agenda
    bobs = {"visit_reason_id": reason, "start": free[6]["start"], "patient_id": bob.account_id}
    assert_problem(await claire.post(url, json=bobs), 404, "not_found")
    agenda = (
        await claire.get(f"/api/v1/practices/{doctor.account_id}/agenda", params=_window())
    ).json()
    assert bob.account_id not in [e["patient"]["id"] for e in agenda]
    # once he has booked here himself he is the practice's patient, and it books for him
    assert (await book(bob, doctor.account_id, reason, free[7]["start"])).status_code == 201
    for_bob = await claire.post(url, json=bobs)
    assert for_bob.status_code == 201, for_bob.text
    assert "Rendez-vous confirmé" in _subjects(settings, bob.email)
    again_found = (
        await claire.get(
            f"/api/v1/practices/{doctor.account_id}/patients", params={"q": alice.full_name[:4]}
        )
    ).json()
    assert {p["id"] for p in again_found} == {alice.account_id, bob.account_id}

    # the secretary moves alice's visit and cancels Marc's; each is told, the practice is not
    moved = await claire.post(
        f"/api/v1/appointments/{for_alice.json()['id']}/reschedule",
        json={"start": free[4]["start"]},
    )
    assert moved.status_code == 200, moved.text
    cancel = f"/api/v1/appointments/{booked.json()['id']}/cancel"
    assert_problem(await claire.post(cancel, json={"reason": "bored"}), 422, "validation_error")
    cancelled = await claire.post(cancel, json={"reason": "emergency"})
    assert cancelled.status_code == 200, cancelled.text
    (notice,) = [
        m
        for m in outbox(settings)
        if m["To"] == "marc@example.test" and m["Subject"] == "Rendez-vous annulé"
    ]
    text = mail_text(notice, ("plain",))
    assert "annulé par le cabinet" in text
    assert "Le cabinet précise : une urgence." in text
    # a patient cancels without giving the practice a reason
    assert_problem(
        await alice.post(
            f"/api/v1/appointments/{own.json()['id']}/cancel", json={"reason": "emergency"}
        ),
        422,
        "validation_error",
    )
    assert "Rendez-vous déplacé" in _subjects(settings, alice.email)
    assert "Rendez-vous annulé" in _subjects(settings, "marc@example.test")
    practice_mails = _subjects(settings, doctor.email)
    assert not any("déplacé" in s or "annulé" in s.lower() for s in practice_mails), practice_mails
    # alice's access log names the secretary as the practice's secretary
    log = (await alice.get("/api/v1/me/access-log")).json()
    by_claire = [e for e in log if e["actor_role"] == "secretary"]
    assert by_claire, log
    assert {e["actor_name"] for e in by_claire} == {claire.full_name}
    # the practice's grid reads its hours and reasons; the reversibility export carries Marc
    hours = (await claire.get(f"/api/v1/practices/{doctor.account_id}/hours")).json()
    assert [r["id"] for r in hours["visit_reasons"]] == [reason]
    assert hours["timezone"] == "Europe/Paris"
    assert hours["weekly"]
    assert (await doctor.reauth()).status_code == 204
    bundle = Bundle.model_validate((await doctor.get("/api/v1/me/practice/export")).json())
    marc = [p for p in resources_of(bundle, Patient) if p.name and p.name[0].text == "Marc Petit"]
    assert len(marc) == 1
    assert marc[0].telecom, marc[0]
    assert {t.value for t in marc[0].telecom} == {"+33612345678", "marc@example.test"}
    visit = next(r for r in bundle_resources(bundle) if r.id == booked.json()["id"])
    assert isinstance(visit, Appointment), visit
    assert [reference(p.actor) for p in visit.participant][1] == f"Patient/{marc[0].id}"
    assert visit.status == "cancelled"
    # another practice's secretary, or its practitioner, reaches none of it
    other, _ = await ready_practitioner(people)
    stranger = await secretary_of(people, other)
    assert_problem(
        await stranger.post(url, json={**body, "start": free[5]["start"]}), 404, "not_found"
    )
    assert_problem(
        await other.post(url, json={**body, "start": free[5]["start"]}), 404, "not_found"
    )
    assert_problem(
        await stranger.post(f"/api/v1/appointments/{for_alice.json()['id']}/cancel"),
        404,
        "not_found",
    )
    assert_problem(
        await stranger.get(f"/api/v1/practices/{doctor.account_id}/hours"), 404, "not_found"
    )
    assert_problem(
        await stranger.get(f"/api/v1/practices/{doctor.account_id}/patients", params={"q": "ali"}),
        404,
        "not_found",
    )


async def test_outcomes_after_the_start_and_the_practices_own_no_show_count(
    people: People, app: FastAPI
) -> None:
    doctor, (reason,) = await ready_practitioner(people)
    claire = await secretary_of(people, doctor)
    alice = await patient(people)
    start = datetime.now(UTC) + timedelta(days=1)
    free = await slots(people.client(), doctor.account_id, start, start + timedelta(days=3))
    first = (await book(alice, doctor.account_id, reason, free[0]["start"])).json()["id"]
    second = (await book(alice, doctor.account_id, reason, free[1]["start"])).json()["id"]
    third = (await book(alice, doctor.account_id, reason, free[2]["start"])).json()["id"]
    status = "/api/v1/appointments/{}/status"
    assert_problem(
        await claire.post(status.format(first), json={"status": "completed"}),
        409,
        "invalid_transition",
    )  # not started yet
    assert (await doctor.post(f"/api/v1/appointments/{third}/cancel")).status_code == 200
    # the visits took place yesterday (booking refuses the past)
    async with app.state.session_factory() as session, session.begin():
        for n, appointment_id in enumerate((first, second, third)):
            at = clock.now() - timedelta(days=1, hours=n)
            await session.execute(
                sa.update(appointment_table)
                .where(appointment_table.c.id == uuid.UUID(appointment_id))
                .values(start_at=at, end_at=at + timedelta(minutes=15))
            )
    assert_problem(
        await claire.post(status.format(third), json={"status": "no_show"}),
        409,
        "invalid_transition",
    )  # cancelled: no outcome
    done = await claire.post(status.format(first), json={"status": "completed"})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "completed"
    missed = await doctor.post(status.format(second), json={"status": "no_show"})
    assert missed.json()["status"] == "no_show"
    # a correction is allowed; anything else is refused
    assert (await doctor.post(status.format(first), json={"status": "no_show"})).status_code == 200
    assert (
        await doctor.post(status.format(first), json={"status": "completed"})
    ).status_code == 200
    for wrong in ({"status": "cancelled"}, {"status": "booked"}, {}):
        assert_problem(await claire.post(status.format(first), json=wrong), 422, "validation_error")
    assert_problem(
        await alice.post(status.format(first), json={"status": "completed"}), 403, "forbidden"
    )
    other, _ = await ready_practitioner(people)
    assert_problem(
        await other.post(status.format(first), json={"status": "no_show"}), 404, "not_found"
    )
    # the agenda shows the outcomes and the practice's own count of missed visits
    window = {
        "from": (clock.now() - timedelta(days=3)).isoformat(),
        "to": (clock.now() + timedelta(days=1)).isoformat(),
    }
    agenda = {
        a["id"]: a
        for a in (
            await claire.get(f"/api/v1/practices/{doctor.account_id}/agenda", params=window)
        ).json()
    }
    assert agenda[first]["status"] == "completed"
    assert agenda[second]["status"] == "no_show"
    assert {agenda[first]["patient"]["no_shows"], agenda[second]["patient"]["no_shows"]} == {1}
    # the patient sees what became of their visits; another practice sees no count
    past = {
        a["id"]: a["status"]
        for a in (await alice.get("/api/v1/me/appointments", params={"scope": "past"})).json()
    }
    assert (past[first], past[second]) == ("completed", "no_show")
    log = (await alice.get("/api/v1/me/access-log")).json()
    assert any(e["action"] == "appointment.outcome_recorded" for e in log)
    # in FHIR words in the reversibility export
    assert (await doctor.reauth()).status_code == 204
    bundle = Bundle.model_validate((await doctor.get("/api/v1/me/practice/export")).json())
    fhir = {a.id: a.status for a in resources_of(bundle, Appointment)}
    assert (fhir[first], fhir[second], fhir[third]) == ("fulfilled", "noshow", "cancelled")
    # and in the patient's own export alike
    assert (await alice.reauth()).status_code == 204
    own = Bundle.model_validate((await alice.get("/api/v1/me/export?format=fhir")).json())
    mine = {a.id: a.status for a in resources_of(own, Appointment)}
    assert (mine[first], mine[second], mine[third]) == ("fulfilled", "noshow", "cancelled")


async def test_a_secretary_and_patients_racing_for_one_slot_leave_one_appointment(
    people: People, app: FastAPI, settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    doctor, (reason,) = await ready_practitioner(people)
    claire = await secretary_of(people, doctor)
    clients = await fast_patients(app, settings, 20)
    start = datetime.now(UTC) + timedelta(days=1)
    free = await slots(people.client(), doctor.account_id, start, start + timedelta(days=3))
    try:
        for target in free[:5]:
            patients = [
                c.post(
                    "/api/v1/appointments",
                    json={
                        "practitioner_id": doctor.account_id,
                        "visit_reason_id": reason,
                        "start": target["start"],
                    },
                )
                for c in clients
            ]
            desk = [
                claire.post(
                    f"/api/v1/practices/{doctor.account_id}/appointments",
                    json={
                        "visit_reason_id": reason,
                        "start": target["start"],
                        "patient": {"full_name": f"Appel {n}", "phone": "0611223344"},
                    },
                )
                for n in range(5)
            ]
            responses = await asyncio.gather(*patients, *desk)
            codes = sorted(r.status_code for r in responses)
            assert codes.count(201) == 1, codes
            assert codes.count(409) == len(responses) - 1, codes
    finally:
        for c in clients:
            await c.aclose()
    async with sessions() as session:
        a = appointment_table
        starts = (
            (await session.execute(sa.select(a.c.start_at).where(a.c.status == "booked")))
            .scalars()
            .all()
        )
    assert len(starts) == len(set(starts)) == 5


async def test_the_practice_books_within_the_notice_patients_must_give(people: People) -> None:
    """A patient calls for this afternoon: the practice's own slots start now, where the patients'
    list waits out the practice's minimum notice (4 hours here)."""
    doctor, (reason,) = await ready_practitioner(
        people,
        rules={"min_notice_minutes": 240, "max_horizon_days": 30, "cancel_deadline_minutes": 60},
        weekly=[{"weekday": d, "start": "00:00", "end": "23:55"} for d in range(7)],
    )
    claire = await secretary_of(people, doctor)
    now = datetime.now(UTC)
    window = {"from": now.isoformat(), "to": (now + timedelta(hours=3)).isoformat()}
    public = await slots(people.client(), doctor.account_id, now, now + timedelta(hours=3))
    assert public == []
    desk = (await claire.get(f"/api/v1/practices/{doctor.account_id}/slots", params=window)).json()
    assert desk
    assert all(datetime.fromisoformat(s["start"]) >= now for s in desk)
    url = f"/api/v1/practices/{doctor.account_id}/appointments"
    booked = await claire.post(
        url,
        json={
            "visit_reason_id": reason,
            "start": desk[0]["start"],
            "patient": {"full_name": "Appel urgent", "phone": "0611223344"},
        },
    )
    assert booked.status_code == 201, booked.text
    after = (await claire.get(f"/api/v1/practices/{doctor.account_id}/slots", params=window)).json()
    assert desk[0]["start"] not in [s["start"] for s in after]
    # a patient still cannot take the next hours; strangers see nothing; a window too long is 422
    alice = await patient(people)
    assert_problem(
        await book(alice, doctor.account_id, reason, desk[1]["start"]), 409, "slot_unavailable"
    )
    other, _ = await ready_practitioner(people)
    assert_problem(
        await other.get(f"/api/v1/practices/{doctor.account_id}/slots", params=window),
        404,
        "not_found",
    )
    too_long = {"from": now.isoformat(), "to": (now + timedelta(days=40)).isoformat()}
    assert_problem(
        await claire.get(f"/api/v1/practices/{doctor.account_id}/slots", params=too_long),
        422,
        "validation_error",
    )
