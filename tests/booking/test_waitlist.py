"""The waiting list (issue #26): a freed slot goes to the first patient waiting for it, in order of
request, held for them for ``ERDV_WAITLIST_HOLD_MINUTES``; unclaimed it goes to the next; a claim
books it through the ordinary booking path, and races with ordinary bookings leave exactly one
appointment. Each test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.booking.models import appointment_table, offer_table, waitlist_table
from app.core import clock
from app.core.jobs import run_job
from app.core.settings import Settings
from app.jobs import JOBS
from tests.factories import People, Person, mail_text, outbox
from tests.helpers.booking import book, fast_patients, patient, ready_practitioner, slots, soon
from tests.helpers.problems import assert_problem
from tests.helpers.team import secretary_of

SECRET_REASON = "Bilan-tensionnel-wq7"
WAITLIST_JOB = next(job for job in JOBS if job.name == "waitlist-offers")


async def _join(
    person: Person | httpx.AsyncClient, doctor: Person, reason: str, before: datetime
) -> httpx.Response:
    return await person.post(
        f"/api/v1/practitioners/{doctor.account_id}/waitlist",
        json={"visit_reason_id": reason, "before": before.isoformat()},
    )


async def _mine(person: Person) -> list[dict[str, Any]]:
    response = await person.get("/api/v1/me/waitlist")
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()
    return result


async def _later_free(doctor: Person, at: datetime, nth: int) -> str:
    """The ``nth`` free slot after ``at``, from the slot list: adding hours to ``at`` in the
    evening would land on a time the day's hours do not reach."""
    free = await slots(
        doctor, doctor.account_id, at + timedelta(minutes=15), at + timedelta(days=2)
    )
    return str(free[nth]["start"])


def _offers_to(settings: Settings, person: Person) -> list[str]:
    return [
        mail_text(m, ("plain",))
        for m in outbox(settings)
        if m["To"] == person.email and "créneau plus tôt" in str(m["Subject"])
    ]


async def _booked_at(sessions: async_sessionmaker[AsyncSession], start: datetime) -> int:
    a = appointment_table
    async with sessions() as session:
        query = sa.select(sa.func.count()).where(a.c.status == "booked", a.c.start_at == start)
        return int((await session.execute(query)).scalar_one())


async def test_the_first_in_line_is_offered_the_freed_slot_and_claims_it(
    people: People, settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    doctor, (reason,) = await ready_practitioner(people, reasons=[(SECRET_REASON, 15)])
    bob, alice, carol, dave = [await patient(people) for _ in range(4)]
    at = soon(24 * 60)
    booked = await book(bob, doctor.account_id, reason, at)
    assert booked.status_code == 201, booked.text
    later = at + timedelta(days=3)
    first = await _join(alice, doctor, reason, later)
    assert first.status_code == 201, first.text
    entry = first.json()
    assert (entry["status"], entry["offer"], entry["visit_reason_id"]) == ("waiting", None, reason)
    assert (await _join(carol, doctor, reason, later)).status_code == 201

    assert (await bob.post(f"/api/v1/appointments/{booked.json()['id']}/cancel")).status_code == 200
    (mine,) = await _mine(alice)
    assert mine["status"] == "offered"
    offer = mine["offer"]
    assert datetime.fromisoformat(offer["start"]) == at
    hold = datetime.fromisoformat(offer["hold_until"]) - clock.now()
    assert timedelta(minutes=14) < hold <= timedelta(minutes=15)
    assert [e["status"] for e in await _mine(carol)] == ["waiting"]
    # the mail: the time, the place and the link, never the reason
    (mail,) = _offers_to(settings, alice)
    assert f"/waitlist/{entry['id']}" in mail
    assert "1 rue de la Paix" in mail
    assert SECRET_REASON not in mail

    # held: listed for nobody, bookable by nobody else, claimable by nobody else
    starts = [
        s["start"]
        for s in await slots(people.client(), doctor.account_id, at, at + timedelta(hours=1))
    ]
    assert at.isoformat() not in [datetime.fromisoformat(s).isoformat() for s in starts]
    assert_problem(await book(dave, doctor.account_id, reason, at), 409, "slot_unavailable")
    carols = (await _mine(carol))[0]["id"]
    assert_problem(await carol.post(f"/api/v1/waitlist/{carols}/claim"), 409, "offer_unavailable")
    assert_problem(await carol.post(f"/api/v1/waitlist/{entry['id']}/claim"), 404, "not_found")

    claimed = await alice.post(f"/api/v1/waitlist/{entry['id']}/claim")
    assert claimed.status_code == 201, claimed.text
    assert datetime.fromisoformat(claimed.json()["start"]) == at
    assert claimed.json()["visit_reason_id"] == reason
    assert await _mine(alice) == []  # the request ended with the booking
    assert await _booked_at(sessions, at) == 1
    log = (await alice.get("/api/v1/me/access-log")).json()
    actions = {item["action"] for item in log}
    assert {"waitlist.joined", "waitlist.offered", "waitlist.claimed"} <= actions
    assert_problem(await alice.post(f"/api/v1/waitlist/{entry['id']}/claim"), 404, "not_found")


async def test_an_unclaimed_offer_goes_to_the_next_and_the_first_keeps_waiting(
    app: FastAPI, people: People, settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    doctor, (reason,) = await ready_practitioner(people)
    bob, alice, carol = [await patient(people) for _ in range(3)]
    at = soon(24 * 60)
    booked = (await book(bob, doctor.account_id, reason, at)).json()
    before = at + timedelta(days=2)
    alices = (await _join(alice, doctor, reason, before)).json()["id"]
    carols = (await _join(carol, doctor, reason, before)).json()["id"]
    assert (await bob.post(f"/api/v1/appointments/{booked['id']}/cancel")).status_code == 200
    assert (await _mine(alice))[0]["status"] == "offered"

    lapsed = clock.now() + timedelta(minutes=settings.waitlist_hold_minutes, seconds=1)
    with clock.frozen(lapsed):
        result = await run_job(app.state.session_factory, settings, WAITLIST_JOB, force=True)
        assert result is not None
        assert result.startswith("1 offers lapsed"), result
        await app.state.outbox.drain()
        (alices_now,) = await _mine(alice)
        assert (alices_now["id"], alices_now["status"]) == (alices, "waiting")  # keeps its place
        assert_problem(
            await alice.post(f"/api/v1/waitlist/{alices}/claim"), 409, "offer_unavailable"
        )
        (carols_now,) = await _mine(carol)
        assert carols_now["status"] == "offered"
        assert datetime.fromisoformat(carols_now["offer"]["start"]) == at
        assert len(_offers_to(settings, carol)) == 1
        claimed = await carol.post(f"/api/v1/waitlist/{carols}/claim")
        assert claimed.status_code == 201, claimed.text
    assert await _booked_at(sessions, at) == 1
    # the slot was never offered twice to alice: a later lapse would not come back to her
    async with sessions() as session:
        offered = (
            await session.execute(sa.select(offer_table.c.entry_id, offer_table.c.start_at))
        ).all()
    assert sorted(str(o.entry_id) for o in offered) == [alices]


async def test_a_request_ends_when_its_patient_books_and_is_checked_on_the_way_in(
    app: FastAPI, people: People, settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    doctor, (reason,) = await ready_practitioner(people)
    other, (elsewhere,) = await ready_practitioner(people)
    bob, alice = await patient(people), await patient(people)
    at = soon(24 * 60)
    booked = (await book(bob, doctor.account_id, reason, at)).json()
    before = at + timedelta(days=2)
    entry = (await _join(alice, doctor, reason, before)).json()
    assert_problem(await _join(alice, doctor, reason, before), 409, "already_waiting")
    # alice books another time herself: her request is over, the freed slot is not hers
    assert (
        await book(alice, doctor.account_id, reason, await _later_free(doctor, at, 4))
    ).status_code == 201
    assert await _mine(alice) == []
    assert (await bob.post(f"/api/v1/appointments/{booked['id']}/cancel")).status_code == 200
    assert await _booked_at(sessions, at) == 0
    assert_problem(await alice.post(f"/api/v1/waitlist/{entry['id']}/claim"), 404, "not_found")

    # refused on the way in, and nothing stays
    assert_problem(await _join(alice, other, reason, before), 422, "validation_error")  # not its
    assert_problem(await _join(alice, doctor, elsewhere, before), 422, "validation_error")
    assert_problem(
        await _join(alice, doctor, reason, clock.now() - timedelta(hours=1)),
        422,
        "validation_error",
    )
    assert_problem(
        await _join(alice, doctor, reason, clock.now() + timedelta(days=400)),
        422,
        "validation_error",
    )
    nobody = await people.signed_in(role="practitioner")
    assert_problem(
        await alice.post(
            f"/api/v1/practitioners/{nobody.account_id}/waitlist",
            json={"visit_reason_id": reason, "before": before.isoformat()},
        ),
        404,
        "not_found",
    )
    assert_problem(await _join(doctor, other, elsewhere, before), 403, "forbidden")
    assert_problem(
        await alice.post(
            f"/api/v1/practitioners/{doctor.account_id}/waitlist",
            json={"visit_reason_id": reason, "before": "2027-01-01T10:00:00"},
        ),
        422,
        "validation_error",
    )
    # refused requests left nothing; the ended one goes at the job's next run
    count = sa.select(sa.func.count()).select_from(waitlist_table)
    async with sessions() as session:
        assert (await session.execute(count)).scalar_one() == 1
    await run_job(app.state.session_factory, settings, WAITLIST_JOB, force=True)
    async with sessions() as session:
        assert (await session.execute(count)).scalar_one() == 0

    # leaving: 204, then gone; another patient's request is not found
    mine = (await _join(alice, other, elsewhere, before)).json()
    assert_problem(await bob.delete(f"/api/v1/me/waitlist/{mine['id']}"), 404, "not_found")
    assert (await alice.delete(f"/api/v1/me/waitlist/{mine['id']}")).status_code == 204
    assert_problem(await alice.delete(f"/api/v1/me/waitlist/{mine['id']}"), 404, "not_found")


async def test_hours_opened_or_freed_by_the_practice_go_to_the_list(people: People) -> None:
    """An absence removed, a date override opening hours, a visit moved away: each frees time."""
    doctor, (reason,) = await ready_practitioner(
        people, weekly=[{"weekday": d, "start": "09:00", "end": "10:00"} for d in range(7)]
    )
    bob, alice, carol, dan = [await patient(people) for _ in range(4)]
    day = (clock.now() + timedelta(days=3)).date()
    absent = await doctor.post(
        "/api/v1/me/absences",
        json={
            "start": f"{day.isoformat()}T00:00:00+01:00",
            "end": f"{(day + timedelta(days=1)).isoformat()}T00:00:00+01:00",
        },
    )
    assert absent.status_code == 201, absent.text
    assert (await _join(alice, doctor, reason, clock.now() + timedelta(days=5))).status_code == 201
    assert (await doctor.delete(f"/api/v1/me/absences/{absent.json()['id']}")).status_code == 204
    (offered,) = await _mine(alice)
    assert offered["offer"]["start"].startswith(f"{day.isoformat()}T09:00")

    # a date override opening evening hours: the next in line is offered one
    assert (await _join(carol, doctor, reason, clock.now() + timedelta(days=5))).status_code == 201
    opened = await doctor.post(
        "/api/v1/me/overrides",
        json={
            "date": (day + timedelta(days=1)).isoformat(),
            "blocks": [{"start": "18:00", "end": "18:15", "visit_reason_ids": [reason]}],
        },
    )
    assert opened.status_code == 201, opened.text
    (carols,) = await _mine(carol)
    assert carols["offer"]["start"].startswith(f"{(day + timedelta(days=1)).isoformat()}T18:00")
    # and a day closed, then opened again by removing its override, is offered too
    closed_day = (day + timedelta(days=2)).isoformat()
    closing = await doctor.post("/api/v1/me/overrides", json={"date": closed_day, "blocks": []})
    assert closing.status_code == 201, closing.text
    erin = await patient(people)
    assert (
        await _join(erin, doctor, reason, clock.now() + timedelta(days=5, hours=12))
    ).status_code == 201
    assert (await _mine(erin))[0]["status"] == "waiting"
    assert (await doctor.delete(f"/api/v1/me/overrides/{closed_day}")).status_code == 204
    (erins,) = await _mine(erin)
    assert erins["offer"]["start"].startswith(f"{closed_day}T09:00")

    # a visit moved to a later time leaves its old one to the list (both beyond the hour of the
    # practice's deadline for changes: a run at 08:xx in Paris found today's 09:00 slot first)
    later = clock.now() + timedelta(hours=2)
    first = await slots(people.client(), doctor.account_id, later, later + timedelta(days=7))
    booked = (await book(bob, doctor.account_id, reason, first[0]["start"])).json()
    assert (await _join(dan, doctor, reason, clock.now() + timedelta(days=6))).status_code == 201
    moved = await bob.post(
        f"/api/v1/appointments/{booked['id']}/reschedule", json={"start": first[-1]["start"]}
    )
    assert moved.status_code == 200, moved.text
    (dans,) = await _mine(dan)
    assert dans["offer"]["start"] == first[0]["start"]

    # a long absence removed: more than the engine's longest window, offered without a hitch
    long = await doctor.post(
        "/api/v1/me/absences",
        json={
            "start": (clock.now() + timedelta(days=10)).isoformat(),
            "end": (clock.now() + timedelta(days=60)).isoformat(),
        },
    )
    assert long.status_code == 201, long.text
    assert (await doctor.delete(f"/api/v1/me/absences/{long.json()['id']}")).status_code == 204


async def test_fifty_claimers_and_bookers_race_for_one_slot_one_appointment(
    app: FastAPI, people: People, settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """While held: the claims of the offered patient and the bookings of 25 others race; after the
    hold: 50 ordinary bookings and claims race. Each time exactly one appointment."""
    doctor, (reason,) = await ready_practitioner(people)
    bob, alice = await patient(people), await patient(people)
    others = await fast_patients(app, settings, 49)
    try:
        for held in (True, False):
            at = datetime.fromisoformat(await _later_free(doctor, soon(24 * 60), 8 if held else 16))
            booked = (await book(bob, doctor.account_id, reason, at)).json()
            entry = (await _join(alice, doctor, reason, at + timedelta(days=1))).json()
            assert (
                await bob.post(f"/api/v1/appointments/{booked['id']}/cancel")
            ).status_code == 200
            assert (await _mine(alice))[0]["status"] == "offered"
            body = {"practitioner_id": doctor.account_id, "visit_reason_id": reason,
                    "start": at.isoformat()}  # fmt: skip
            moment = clock.now() + (timedelta() if held else timedelta(minutes=16))
            with clock.frozen(moment):
                claims = [
                    alice.post(f"/api/v1/waitlist/{entry['id']}/claim")
                    for _ in range(25 if held else 1)
                ]
                bookings = [
                    c.post("/api/v1/appointments", json=body) for c in others[: 25 if held else 49]
                ]
                responses = await asyncio.gather(*claims, *bookings)
            codes = sorted(r.status_code for r in responses)
            assert codes.count(201) == 1, codes
            claimed, others_booked = responses[: len(claims)], responses[len(claims) :]
            # a repeated claim finds the request ended (404) or the slot taken (409); never a 5xx
            assert {r.status_code for r in claimed} <= {201, 404, 409}, [r.text for r in claimed]
            for r in others_booked:
                if r.status_code != 201:
                    assert_problem(r, 409, "slot_unavailable")
            winner = next(r for r in responses if r.status_code == 201)
            if held:  # the hold kept the slot for its patient
                assert winner in claimed
            assert await _booked_at(sessions, at) == 1
            for entry in await _mine(alice):
                assert (await alice.delete(f"/api/v1/me/waitlist/{entry['id']}")).status_code == 204
    finally:
        for c in others:
            await c.aclose()


async def test_the_patients_export_holds_the_requests_and_an_erasure_ends_them(
    people: People, sessions: async_sessionmaker[AsyncSession]
) -> None:
    doctor, (reason,) = await ready_practitioner(people, reasons=[(SECRET_REASON, 15)])
    alice = await patient(people)
    entry = (await _join(alice, doctor, reason, soon(3 * 24 * 60))).json()
    assert (await alice.reauth()).status_code == 204
    exported = (await alice.get("/api/v1/me/export")).json()
    (request,) = exported["waitlist"]
    assert (request["id"], request["visit_reason_id"]) == (entry["id"], reason)
    # the reason is sealed in the database, as an appointment's is (C7)
    async with sessions() as session:
        sealed = (await session.execute(sa.select(waitlist_table.c.visit_reason_ct))).scalar_one()
    assert reason not in sealed
    assert SECRET_REASON not in sealed
    assert (await alice.delete("/api/v1/me")).status_code == 204
    async with sessions() as session:
        count = sa.select(sa.func.count()).select_from(waitlist_table)
        assert (await session.execute(count)).scalar_one() == 0


async def test_a_held_slot_its_patient_no_longer_needs_goes_to_the_next_within_a_minute(
    app: FastAPI, people: People, settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Alice holds an offer, then books another time herself: her request has ended, and the
    job passes the slot she held to Carol (who is not told of Alice's booking for a relative)."""
    doctor, (reason,) = await ready_practitioner(people)
    bob, alice, carol = [await patient(people) for _ in range(3)]
    at = soon(24 * 60)
    booked = (await book(bob, doctor.account_id, reason, at)).json()
    before = at + timedelta(days=2)
    assert (await _join(alice, doctor, reason, before)).status_code == 201
    assert (await _join(carol, doctor, reason, before)).status_code == 201
    # a relative's visit is another person's: alice still waits for herself
    child = await alice.post(
        "/api/v1/me/relatives", json={"full_name": "Léo Petit", "birth_date": "2019-04-02"}
    )
    assert child.status_code == 201, child.text
    for_child = await alice.post(
        "/api/v1/appointments",
        json={"practitioner_id": doctor.account_id, "visit_reason_id": reason,
              "start": await _later_free(doctor, at, 8), "relative_id": child.json()["id"]},
    )  # fmt: skip
    assert for_child.status_code == 201, for_child.text
    assert [e["status"] for e in await _mine(alice)] == ["waiting"]

    assert (await bob.post(f"/api/v1/appointments/{booked['id']}/cancel")).status_code == 200
    assert (await _mine(alice))[0]["status"] == "offered"
    assert (
        await book(alice, doctor.account_id, reason, await _later_free(doctor, at, 12))
    ).status_code == 201
    assert await _mine(alice) == []
    await run_job(app.state.session_factory, settings, WAITLIST_JOB, force=True)
    (carols,) = await _mine(carol)
    assert carols["status"] == "offered"
    assert datetime.fromisoformat(carols["offer"]["start"]) == at
    # and alice may ask again at once: the request her booking ended gave way
    assert (await _join(alice, doctor, reason, before)).status_code == 201


async def test_a_claim_sent_again_with_its_key_gets_its_first_answer(
    people: People, sessions: async_sessionmaker[AsyncSession]
) -> None:
    doctor, (reason,) = await ready_practitioner(people)
    bob, alice = await patient(people), await patient(people)
    at = soon(24 * 60)
    booked = (await book(bob, doctor.account_id, reason, at)).json()
    entry = (await _join(alice, doctor, reason, at + timedelta(days=1))).json()
    # two joins at once: one request, the other told so
    twice = await asyncio.gather(
        _join(alice, doctor, reason, at + timedelta(days=1)),
        _join(alice, doctor, reason, at + timedelta(days=1)),
    )
    for response in twice:
        assert_problem(response, 409, "already_waiting")
    assert (await bob.post(f"/api/v1/appointments/{booked['id']}/cancel")).status_code == 200
    key = {"Idempotency-Key": "claim-once"}
    first = await alice.post(f"/api/v1/waitlist/{entry['id']}/claim", headers=key)
    assert first.status_code == 201, first.text
    again = await alice.post(f"/api/v1/waitlist/{entry['id']}/claim", headers=key)
    assert again.status_code == 201, again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert await _booked_at(sessions, at) == 1
    # without the key, or with another, the ended request is simply gone
    assert_problem(await alice.post(f"/api/v1/waitlist/{entry['id']}/claim"), 404, "not_found")
    other = {"Idempotency-Key": "claim-twice"}
    assert_problem(
        await alice.post(f"/api/v1/waitlist/{entry['id']}/claim", headers=other), 404, "not_found"
    )


async def test_a_closing_practice_tells_its_waiting_patients(
    people: People, settings: Settings
) -> None:
    """Charter C12: the practice leaves, its waiting list with it; each patient who was waiting
    is told, by name of the practice and with nothing of why they waited, once."""
    doctor, (reason,) = await ready_practitioner(
        people, name="Dr Inès Carpentier", reasons=[(SECRET_REASON, 15)]
    )
    alice, bob = await patient(people), await patient(people)
    later = soon(24 * 60) + timedelta(days=10)
    for who in (alice, bob):
        assert (await _join(who, doctor, reason, later)).status_code == 201
    assert (await doctor.reauth()).status_code == 204
    assert (await doctor.delete("/api/v1/me")).status_code == 204

    for who in (alice, bob):
        ended = [
            m
            for m in outbox(settings)
            if m["To"] == who.email and "a pris fin" in str(m["Subject"])
        ]
        assert len(ended) == 1, [
            str(m["Subject"]) for m in outbox(settings) if m["To"] == who.email
        ]
        body = ended[0].get_body(preferencelist=("plain",))
        assert body is not None
        text = body.get_content()
        assert "Dr Inès Carpentier ne propose plus de rendez-vous" in text
        assert SECRET_REASON not in text
        assert await _mine(who) == []


async def test_the_practice_sees_the_held_slot_in_its_agenda_and_nothing_of_who_holds_it(
    people: People,
) -> None:
    """The desk's free slots leave a held time out; the practice's holds say why, with times
    only: the patient's identity and reason stay theirs (``app.booking.waitlist``)."""
    doctor, (reason,) = await ready_practitioner(people, reasons=[(SECRET_REASON, 15)])
    secretary = await secretary_of(people, doctor)
    bob, alice = [await patient(people) for _ in range(2)]
    at = soon(24 * 60)
    booked = (await book(bob, doctor.account_id, reason, at)).json()
    entry = (await _join(alice, doctor, reason, at + timedelta(days=2))).json()
    holds = f"/api/v1/practices/{doctor.account_id}/holds"
    window = {
        "from": (at - timedelta(hours=1)).isoformat(),
        "to": (at + timedelta(days=1)).isoformat(),
    }
    assert (await doctor.get(holds, params=window)).json() == []

    assert (await bob.post(f"/api/v1/appointments/{booked['id']}/cancel")).status_code == 200
    (offer,) = [e["offer"] for e in await _mine(alice)]
    for reader in (doctor, secretary):
        response = await reader.get(holds, params=window)
        assert response.status_code == 200, response.text
        (held,) = response.json()
        assert held == {
            "start": offer["start"],
            "end": offer["end"],
            "site_id": offer["site_id"],
            "hold_until": held["hold_until"],
        }
        assert datetime.fromisoformat(held["hold_until"]) == datetime.fromisoformat(
            offer["hold_until"]
        )
        assert held["start"].endswith(("+01:00", "+02:00"))  # the practice's wall clock
        assert alice.account_id not in response.text
        assert entry["id"] not in response.text
    # the agenda's default window holds it too; another practice gets a 404, a patient a 403
    assert len((await doctor.get(holds)).json()) == 1
    other, _ = await ready_practitioner(people)
    assert_problem(await other.get(holds, params=window), 404, "not_found")
    assert_problem(await alice.get(holds, params=window), 403, "forbidden")
    assert_problem(
        await doctor.get(holds, params={"from": window["to"], "to": window["from"]}),
        422,
        "validation_error",
    )

    # the instant the hold ends, the time is free again (``_busy``'s rule) and no longer listed
    # (the staff's idle timeout is 15 minutes too: the practitioner signs in again)
    with clock.frozen(datetime.fromisoformat(offer["hold_until"]) - timedelta(microseconds=1)):
        await doctor.sign_in()
        assert len((await doctor.get(holds, params=window)).json()) == 1
    with clock.frozen(datetime.fromisoformat(offer["hold_until"])):
        assert (await doctor.get(holds, params=window)).json() == []
    # claimed, it is an appointment in the agenda, not a hold
    assert (await alice.post(f"/api/v1/waitlist/{entry['id']}/claim")).status_code == 201
    assert (await doctor.get(holds, params=window)).json() == []
