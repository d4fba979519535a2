"""A patient books for relatives (issue 24): at most 10, name and birth date only, the practice sees
the relative's name, nobody else's relatives are anyone's business. Each test runs on SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from datetime import date, timedelta

from fastapi import FastAPI
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.relatedperson import RelatedPerson

from app.core import clock
from app.core.settings import Settings
from tests.factories import People, mail_text, outbox
from tests.helpers.booking import book, patient, ready_practitioner, soon
from tests.helpers.fhir import reference, resources_of
from tests.helpers.problems import assert_problem
from tests.oauth.conftest import bearer, delegated_token

RELATIVES = "/api/v1/me/relatives"


async def test_add_correct_and_list_at_most_ten(people: People) -> None:
    alice = await patient(people)
    added = await alice.post(
        RELATIVES, json={"full_name": " Léo Martin ", "birth_date": "2019-04-02"}
    )
    assert added.status_code == 201, added.text
    leo = added.json()
    assert (leo["full_name"], leo["birth_date"]) == ("Léo Martin", "2019-04-02")
    changed = await alice.patch(f"{RELATIVES}/{leo['id']}", json={"birth_date": "2019-04-03"})
    assert (changed.status_code, changed.json()["birth_date"]) == (200, "2019-04-03")
    for n in range(9):
        body = {"full_name": f"Enfant {n}", "birth_date": "2020-01-01"}
        assert (await alice.post(RELATIVES, json=body)).status_code == 201
    eleventh = await alice.post(
        RELATIVES, json={"full_name": "Un de trop", "birth_date": "2020-01-01"}
    )
    assert_problem(eleventh, 422, "validation_error")
    listed = (await alice.get(RELATIVES)).json()
    assert len(listed) == 10
    assert listed[0]["full_name"] == "Léo Martin"
    # a birth date to come, a name of spaces, and fields a relative does not have
    tomorrow = (clock.now().date() + timedelta(days=1)).isoformat()
    for body in (
        {"full_name": "Bébé", "birth_date": tomorrow},
        {"full_name": "   ", "birth_date": "2020-01-01"},
        {"full_name": "X", "birth_date": "2020-01-01", "phone": "+33612345678"},
    ):
        assert_problem(
            await alice.patch(f"{RELATIVES}/{leo['id']}", json=body), 422, "validation_error"
        )
    # only patients have relatives
    doctor, _ = await ready_practitioner(people)
    assert_problem(await doctor.get(RELATIVES), 403, "forbidden")


async def test_additions_at_once_never_pass_the_limit(people: People) -> None:
    alice = await patient(people)
    for n in range(7):
        body = {"full_name": f"Enfant {n}", "birth_date": "2020-01-01"}
        assert (await alice.post(RELATIVES, json=body)).status_code == 201
    answers = await asyncio.gather(
        *(
            alice.post(RELATIVES, json={"full_name": f"Ensemble {n}", "birth_date": "2021-01-01"})
            for n in range(8)
        )
    )
    codes = sorted(r.status_code for r in answers)
    assert codes == [201] * 3 + [422] * 5, codes
    assert len((await alice.get(RELATIVES)).json()) == 10


async def test_someone_elses_relative_is_not_found_anywhere(people: People) -> None:
    doctor, (reason,) = await ready_practitioner(people)
    alice, mallory = await patient(people), await patient(people)
    leo = (
        await alice.post(RELATIVES, json={"full_name": "Léo", "birth_date": "2019-04-02"})
    ).json()
    assert_problem(
        await mallory.patch(f"{RELATIVES}/{leo['id']}", json={"full_name": "X"}), 404, "not_found"
    )
    assert_problem(await mallory.delete(f"{RELATIVES}/{leo['id']}"), 404, "not_found")
    body = {
        "practitioner_id": doctor.account_id,
        "visit_reason_id": reason,
        "start": soon(24 * 60).isoformat(),
        "relative_id": leo["id"],
    }
    assert_problem(await mallory.post("/api/v1/appointments", json=body), 404, "not_found")
    assert (await mallory.get(RELATIVES)).json() == []


async def test_a_booking_for_a_relative_is_in_their_name_for_the_practice(
    people: People, settings: Settings
) -> None:
    doctor, (reason,) = await ready_practitioner(people, name="Dr Rose Petit")
    alice = await patient(people)
    assert (await alice.patch("/api/v1/me", json={"phone": "+33612345678"})).status_code == 200
    leo = (
        await alice.post(RELATIVES, json={"full_name": "Léo Martin", "birth_date": "2019-04-02"})
    ).json()
    start = soon(24 * 60)
    body = {
        "practitioner_id": doctor.account_id,
        "visit_reason_id": reason,
        "start": start.isoformat(),
        "relative_id": leo["id"],
    }
    booked = await alice.post("/api/v1/appointments", json=body)
    assert booked.status_code == 201, booked.text
    assert booked.json()["relative"] == {"id": leo["id"], "full_name": "Léo Martin"}
    appointment = booked.json()["id"]
    mine = (await alice.get("/api/v1/me/appointments")).json()
    assert [(a["id"], a["relative"]) for a in mine] == [
        (appointment, {"id": leo["id"], "full_name": "Léo Martin"})
    ]
    window = {"from": soon(0).isoformat(), "to": soon(3 * 24 * 60).isoformat()}
    (entry,) = (await doctor.get("/api/v1/me/agenda", params=window)).json()
    assert entry["patient"]["full_name"] == "Léo Martin"
    assert entry["patient"]["phone"] == "+33612345678"  # the holder is the contact
    # the practice's mail names the relative, whose visit it is
    (new_visit,) = [
        m
        for m in outbox(settings)
        if m["To"] == doctor.email and m["Subject"] == "Nouveau rendez-vous"
    ]
    assert "Léo Martin" in mail_text(new_visit, ("plain",))
    # and the patient's confirmation says whose visit it is
    (confirmed,) = [
        m
        for m in outbox(settings)
        if m["To"] == alice.email and m["Subject"] == "Rendez-vous confirmé"
    ]
    assert "Pour : Léo Martin" in mail_text(confirmed, ("plain",))
    # the account holder's own booking is still in their own name
    own = await book(alice, doctor.account_id, reason, soon(26 * 60))
    assert own.json()["relative"] is None

    # the export carries the relative and the appointment for them, as JSON and as FHIR
    assert (await alice.reauth()).status_code == 204
    data = json.loads((await alice.get("/api/v1/me/export")).content)
    assert data["relatives"] == [
        {"id": leo["id"], "full_name": "Léo Martin", "birth_date": "2019-04-02"}
    ]
    (for_leo,) = [a for a in data["appointments"] if a["id"] == appointment]
    assert for_leo["relative"]["full_name"] == "Léo Martin"
    bundle = Bundle.model_validate(
        (await alice.get("/api/v1/me/export", params={"format": "fhir"})).json()
    )
    related = resources_of(bundle, RelatedPerson)
    assert [(r.id, r.birthDate, reference(r.patient)) for r in related] == [
        (leo["id"], date(2019, 4, 2), f"urn:uuid:{alice.account_id}")
    ]

    # removing the relative cancels what is ahead for them (the practice is told) and their name goes
    assert (await alice.delete(f"{RELATIVES}/{leo['id']}")).status_code == 204
    assert (await alice.get(RELATIVES)).json() == []
    agenda = {a["id"]: a for a in (await doctor.get("/api/v1/me/agenda", params=window)).json()}
    assert agenda[appointment]["status"] == "cancelled"
    assert agenda[appointment]["patient"]["full_name"] == ""
    assert agenda[own.json()["id"]]["status"] == "booked"
    # the export still holds the cancelled visit, with no name for the removed relative
    fhir = await alice.get("/api/v1/me/export", params={"format": "fhir"})
    assert fhir.status_code == 200, fhir.text
    kept = Bundle.model_validate(fhir.json())
    assert not resources_of(kept, RelatedPerson)
    told = [
        m
        for m in outbox(settings)
        if m["To"] == doctor.email and "annul" in str(m["Subject"]).lower()
    ]
    assert len(told) == 1
    assert "Léo" not in told[0].as_string()


async def test_the_account_erasure_takes_the_relatives_names(people: People) -> None:
    doctor, (reason,) = await ready_practitioner(people)
    alice = await patient(people)
    leo = (
        await alice.post(RELATIVES, json={"full_name": "Léo Martin", "birth_date": "2019-04-02"})
    ).json()
    body = {
        "practitioner_id": doctor.account_id,
        "visit_reason_id": reason,
        "start": soon(24 * 60).isoformat(),
        "relative_id": leo["id"],
    }
    appointment = (await alice.post("/api/v1/appointments", json=body)).json()["id"]
    assert (await alice.reauth()).status_code == 204
    assert (await alice.delete("/api/v1/me")).status_code == 204
    window = {"from": soon(0).isoformat(), "to": soon(3 * 24 * 60).isoformat()}
    agenda = {a["id"]: a for a in (await doctor.get("/api/v1/me/agenda", params=window)).json()}
    assert (agenda[appointment]["status"], agenda[appointment]["patient"]["full_name"]) == (
        "cancelled",
        "",
    )


async def test_applications_are_not_told_of_relatives(app: FastAPI, people: People) -> None:
    """A child's name was never part of what an application may read: appointments for a
    relative reach it without the relative, and it cannot book for one."""
    doctor, (reason,) = await ready_practitioner(people)
    alice = await patient(people)
    admin = await people.signed_in(role="admin")
    assert (await admin.reauth()).status_code == 204
    leo = (
        await alice.post(RELATIVES, json={"full_name": "Léo", "birth_date": "2019-04-02"})
    ).json()
    body = {
        "practitioner_id": doctor.account_id,
        "visit_reason_id": reason,
        "start": soon(24 * 60).isoformat(),
        "relative_id": leo["id"],
    }
    assert (await alice.post("/api/v1/appointments", json=body)).status_code == 201
    token = await delegated_token(app, admin, alice)
    async with people.client() as platform:
        listed = await platform.get("/api/v1/me/appointments", headers=bearer(token))
        assert listed.status_code == 200, listed.text
        assert [a["relative"] for a in listed.json()] == [None]
        assert "Léo" not in listed.text
        again = body | {"start": soon(26 * 60).isoformat()}
        refused = await platform.post("/api/v1/appointments", json=again, headers=bearer(token))
        assert_problem(refused, 404, "not_found")
