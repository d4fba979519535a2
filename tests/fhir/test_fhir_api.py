"""The FHIR R4 facade (issue #27), driven as a third-party platform drives it: Authlib's OAuth
client holding a patient's token, every answer read back with the ``fhir.resources`` R4B models.
Both databases."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import sqlalchemy as sa
from authlib.integrations.httpx_client import AsyncOAuth2Client
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.booking.models import appointment_table
from app.core import clock
from tests.factories import People, Person
from tests.fhir.conftest import FHIR, SCOPES, acting_for, outcome, resource
from tests.helpers.booking import book, patient, ready_practitioner
from tests.oauth.conftest import get_tokens, oauth_client, register_client


def _slot_search(doctor: Person, **params: Any) -> dict[str, Any]:
    return {"schedule": f"Schedule/{doctor.account_id}", **params}


def _booking(slot_id: str, patient_id: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "Appointment",
        "status": "booked",
        "slot": [{"reference": f"Slot/{slot_id}"}],
        "participant": [{"actor": {"reference": f"Patient/{patient_id}"}, "status": "accepted"}]
        if patient_id
        else [{"actor": {"display": "me"}, "status": "accepted"}],
    }
    return body | extra


async def _first_slots(
    client: httpx.AsyncClient, doctor: Person, count: int
) -> list[dict[str, Any]]:
    bundle = resource(
        await client.get(f"{FHIR}/Slot", params=_slot_search(doctor, _count=count)), "Bundle"
    )
    return [e["resource"] for e in bundle["entry"]]


async def test_the_capability_statement_names_what_is_served(client: httpx.AsyncClient) -> None:
    statement = resource(await client.get(f"{FHIR}/metadata"), "CapabilityStatement")
    assert statement["fhirVersion"] == "4.0.1"
    served = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert set(served) == {
        "Practitioner",
        "PractitionerRole",
        "Location",
        "Schedule",
        "Slot",
        "Appointment",
    }
    assert {i["code"] for i in served["Appointment"]["interaction"]} == {
        "read",
        "search-type",
        "create",
    }


async def test_the_directory_as_practitioners_roles_locations_and_schedules(
    client: httpx.AsyncClient, people: People
) -> None:
    gp, gp_reasons = await ready_practitioner(people, name="Dr Alma Fhir")
    derm, _ = await ready_practitioner(people, specialty="dermatologie", name="Dr Basile Fhir")
    hidden, _ = await ready_practitioner(people, listed=False)

    practitioner = resource(
        await client.get(f"{FHIR}/Practitioner/{gp.account_id}"), "Practitioner"
    )
    assert practitioner["name"] == [{"text": "Dr Alma Fhir"}]
    outcome(await client.get(f"{FHIR}/Practitioner/{hidden.account_id}"), 404, "not_found")
    outcome(await client.get(f"{FHIR}/Practitioner/not-a-uuid"), 404, "not_found")

    # specialty search with the profession list's codes, bare or with their system
    for specialty in ("dermatologie", "urn:erdv:specialty|dermatologie"):
        roles = resource(
            await client.get(f"{FHIR}/PractitionerRole", params={"specialty": specialty}),
            "Bundle",
        )
        assert [e["resource"]["id"] for e in roles["entry"]] == [derm.account_id]
        role = roles["entry"][0]["resource"]
        assert role["specialty"][0]["coding"][0]["code"] == "dermatologie"
        assert role["code"][0]["coding"][0]["code"] == "medecin"
    other_system = await client.get(
        f"{FHIR}/PractitionerRole", params={"specialty": "http://snomed.info/sct|394582007"}
    )
    assert resource(other_system, "Bundle").get("entry", []) == []
    outcome(
        await client.get(f"{FHIR}/PractitionerRole", params={"specialty": "astrologie"}),
        422,
        "validation_error",
    )

    # paged in the directory's neutral order, with a next link that works
    first = resource(await client.get(f"{FHIR}/PractitionerRole", params={"_count": 1}), "Bundle")
    following = next(link["url"] for link in first["link"] if link["relation"] == "next")
    second = resource(await client.get(following.removeprefix("http://testserver")), "Bundle")
    assert first["entry"][0]["resource"]["id"] != second["entry"][0]["resource"]["id"]

    schedules = resource(
        await client.get(f"{FHIR}/Schedule", params={"actor": f"Practitioner/{gp.account_id}"}),
        "Bundle",
    )
    assert schedules["total"] == 1
    schedule = schedules["entry"][0]["resource"]
    codes = {c["coding"][0]["code"] for c in schedule["serviceType"]}
    assert codes == set(gp_reasons)
    location_ref = next(
        a["reference"] for a in schedule["actor"] if a["reference"].startswith("Location/")
    )
    location = resource(await client.get(f"{FHIR}/{location_ref}"), "Location")
    assert location["address"]["city"] == "Paris"
    assert location["extension"][0]["valueCode"] == "Europe/Paris"
    outcome(await client.get(f"{FHIR}/Location/{uuid.uuid4()}"), 404, "not_found")
    nobody = await client.get(
        f"{FHIR}/Schedule", params={"actor": f"Practitioner/{hidden.account_id}"}
    )
    assert resource(nobody, "Bundle")["total"] == 0
    outcome(
        await client.get(f"{FHIR}/Schedule", params={"actor": "Organization/x"}),
        422,
        "validation_error",
    )


async def test_free_slots_are_the_json_apis_in_pages(
    client: httpx.AsyncClient, people: People
) -> None:
    doctor, reasons = await ready_practitioner(people)
    json_slots = (await client.get(f"/api/v1/practitioners/{doctor.account_id}/slots")).json()
    seen: list[dict[str, Any]] = []
    url: str | None = f"{FHIR}/Slot"
    params: dict[str, Any] | None = _slot_search(doctor, status="free", _count=100)
    while url is not None:
        bundle = resource(await client.get(url, params=params), "Bundle")
        seen += [e["resource"] for e in bundle["entry"]]
        url = next(
            (
                lk["url"].removeprefix("http://testserver")
                for lk in bundle["link"]
                if lk["relation"] == "next"
            ),
            None,
        )
        params = None
    # the same free time as the JSON API's week, slot for slot, in the practice's local time
    assert [(s["start"], s["end"]) for s in seen] == [(s["start"], s["end"]) for s in json_slots]
    assert len({s["id"] for s in seen}) == len(seen)
    assert {s["serviceType"][0]["coding"][0]["code"] for s in seen} == set(reasons)

    # a window with ge/lt, dates in the practice's zone
    day = next(s["start"][:10] for s in seen if s["start"][:10] != seen[0]["start"][:10])
    window = resource(
        await client.get(
            f"{FHIR}/Slot",
            params=_slot_search(doctor, start=[f"ge{day}", f"lt{day}T12:00:00+01:00"]),
        ),
        "Bundle",
    )
    assert window["entry"]
    assert all(e["resource"]["start"][:10] == day for e in window["entry"])
    assert all(e["resource"]["start"][11:16] < "12:00" for e in window["entry"])
    # the same window typed into a URL by hand: its "+01:00" reaches the server as " 01:00"
    typed = await client.get(
        f"{FHIR}/Slot?schedule=Schedule/{doctor.account_id}&start=ge{day}"
        f"&start=lt{day}T12:00:00+01:00"
    )
    assert resource(typed, "Bundle")["entry"] == window["entry"]

    # the JSON API's refusals, as OperationOutcomes
    too_long = _slot_search(doctor, start=["ge2027-01-01", "lt2027-03-01"])
    outcome(await client.get(f"{FHIR}/Slot", params=too_long), 422, "validation_error")
    outcome(
        await client.get(f"{FHIR}/Slot", params=_slot_search(doctor, status="busy")),
        422,
        "validation_error",
    )
    outcome(
        await client.get(f"{FHIR}/Slot", params=_slot_search(doctor, start="ge2027-01-01T10:00")),
        422,
        "validation_error",
    )
    outcome(
        await client.get(f"{FHIR}/Slot", params=_slot_search(doctor, _cursor="bm90IGEgY3Vyc29y")),
        422,
        "validation_error",
    )
    outcome(
        await client.get(f"{FHIR}/Slot", params={"schedule": f"Schedule/{uuid.uuid4()}"}),
        404,
        "not_found",
    )
    outcome(await client.get(f"{FHIR}/Slot"), 422, "validation_error")


async def test_a_platform_books_a_slot_and_reads_the_patients_appointments(
    app: FastAPI,
    client: httpx.AsyncClient,
    people: People,
    platform: AsyncOAuth2Client,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    doctor, _ = await ready_practitioner(people)
    alice, bob = await patient(people), await patient(people)
    agent = await acting_for(platform, alice)
    first, second = await _first_slots(client, doctor, 2)

    made = await agent.post(
        f"{FHIR}/Appointment",
        json=_booking(first["id"], alice.account_id),
        headers={"Idempotency-Key": "fhir-1"},
    )
    booked = resource(made, "Appointment", 201)
    assert made.headers["location"] == f"http://testserver{FHIR}/Appointment/{booked['id']}"
    assert booked["status"] == "booked"
    assert (booked["start"], booked["end"]) == (first["start"], first["end"])
    # never the visit reason, nor the slot that names it (C6, C7)
    assert not {"serviceType", "reasonCode", "slot"} & set(booked)
    # a retry with the same key replays; the slot is gone from the list
    again = await agent.post(
        f"{FHIR}/Appointment",
        json=_booking(first["id"], alice.account_id),
        headers={"Idempotency-Key": "fhir-1"},
    )
    assert again.headers.get("idempotent-replayed") == "true"
    assert resource(again, "Appointment", 201)["id"] == booked["id"]
    assert first["id"] not in [s["id"] for s in await _first_slots(client, doctor, 5)]
    async with sessions() as session:
        row = (
            await session.execute(
                sa.select(appointment_table).where(
                    appointment_table.c.id == uuid.UUID(booked["id"])
                )
            )
        ).one()
    assert (str(row.patient_id), row.channel) == (alice.account_id, "oauth")

    read = resource(await agent.get(f"{FHIR}/Appointment/{booked['id']}"), "Appointment")
    assert read["id"] == booked["id"]
    mine = resource(
        await agent.get(f"{FHIR}/Appointment", params={"patient": f"Patient/{alice.account_id}"}),
        "Bundle",
    )
    assert [e["resource"]["id"] for e in mine["entry"]] == [booked["id"]]
    outcome(
        await agent.get(f"{FHIR}/Appointment", params={"patient": f"Patient/{bob.account_id}"}),
        403,
        "forbidden",
    )
    bobs = await book(
        bob, doctor.account_id, second["serviceType"][0]["coding"][0]["code"], second["start"]
    )
    assert bobs.status_code == 201, bobs.text
    outcome(await agent.get(f"{FHIR}/Appointment/{bobs.json()['id']}"), 404, "not_found")

    # the patient's access log names the platform's reads and booking (C9)
    log = (await alice.get("/api/v1/me/access-log")).json()
    seen_by_api = {e["action"] for e in log if e["via"] == "api"}
    assert {"appointment.booked", "appointment.read"} <= seen_by_api, log

    # refusals: a taken slot, a slot naming nothing, another patient, a bad resource
    outcome(
        await agent.post(f"{FHIR}/Appointment", json=_booking(second["id"])),
        409,
        "slot_unavailable",
    )
    outcome(
        await agent.post(f"{FHIR}/Appointment", json=_booking("nothing-here")),
        404,
        "not_found",
    )
    outcome(
        await agent.post(f"{FHIR}/Appointment", json=_booking(f"{uuid.uuid4().hex}-29000000")),
        404,
        "not_found",
    )
    outcome(
        await agent.post(f"{FHIR}/Appointment", json=_booking(first["id"], bob.account_id)),
        403,
        "forbidden",
    )
    outcome(
        await agent.post(f"{FHIR}/Appointment", json=_booking(first["id"], status="proposed")),
        422,
        "validation_error",
    )
    outcome(
        await agent.post(f"{FHIR}/Appointment", json={"resourceType": "Appointment", "x": 1}),
        422,
        "validation_error",
    )
    outcome(
        await agent.post(f"{FHIR}/Appointment", json={"resourceType": "Patient"}),
        422,
        "validation_error",
    )
    outcome(
        await agent.post(
            f"{FHIR}/Appointment",
            content=b"{not json",
            headers={"Content-Type": "application/fhir+json"},
        ),
        422,
        "validation_error",
    )


async def test_scopes_and_tokens_as_for_the_json_api(
    app: FastAPI, client: httpx.AsyncClient, people: People, admin: Person
) -> None:
    doctor, _ = await ready_practitioner(people)
    alice = await patient(people)
    (slot,) = await _first_slots(client, doctor, 1)
    outcome(await client.get(f"{FHIR}/Appointment"), 401, "not_authenticated")
    outcome(
        await client.get(
            f"{FHIR}/Slot",
            params=_slot_search(doctor),
            headers={"Authorization": "Bearer erdv_at_forged"},
        ),
        401,
        "invalid_token",
    )
    # a platform allowed to read only: no booking, no slots beyond its scopes
    reader = await register_client(admin, scopes=["appointments:read"])
    async with oauth_client(app, reader, scope="appointments:read") as platform:
        await get_tokens(platform, alice)
        outcome(
            await platform.post(f"{FHIR}/Appointment", json=_booking(slot["id"])),
            403,
            "insufficient_scope",
        )
        outcome(
            await platform.get(f"{FHIR}/Slot", params=_slot_search(doctor)),
            403,
            "insufficient_scope",
        )
        assert resource(await platform.get(f"{FHIR}/Appointment"), "Bundle")["total"] == 0


async def test_a_fhir_booking_and_a_json_booking_race_for_one_slot(
    app: FastAPI,
    client: httpx.AsyncClient,
    people: People,
    admin: Person,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    doctor, _ = await ready_practitioner(people)
    registered = await register_client(admin, scopes=SCOPES.split())
    slots = await _first_slots(client, doctor, 10)
    for n, slot in enumerate(slots):  # ten rounds, two new patients each, from their own homes
        alice = await patient(people, ip=f"198.51.100.{2 * n + 1}")
        bob = await patient(people, ip=f"198.51.100.{2 * n + 2}")
        async with oauth_client(app, registered, scope=SCOPES) as platform:
            agent = await acting_for(platform, alice)
            reason = slot["serviceType"][0]["coding"][0]["code"]
            fhir, json_ = await asyncio.gather(
                agent.post(f"{FHIR}/Appointment", json=_booking(slot["id"], alice.account_id)),
                book(bob, doctor.account_id, reason, slot["start"]),
            )
        assert sorted([fhir.status_code, json_.status_code]) == [201, 409], (
            fhir.text,
            json_.text,
        )
        if fhir.status_code == 409:
            outcome(fhir, 409, "slot_unavailable")
        async with sessions() as session:
            booked = (
                await session.execute(
                    sa.select(sa.func.count())
                    .select_from(appointment_table)
                    .where(
                        appointment_table.c.practitioner_id == uuid.UUID(doctor.account_id),
                        appointment_table.c.status == "booked",
                    )
                )
            ).scalar_one()
        assert booked == slots.index(slot) + 1


async def test_fhir_and_json_calls_spend_one_allowance_of_the_client(
    app: FastAPI, people: People, admin: Person
) -> None:
    """The same throttle as the JSON API (``ERDV_OAUTH_CLIENT_REQUESTS_PER_MINUTE``): a client's
    calls count together whichever API they use, and the refusal is a 429 OperationOutcome with
    the JSON API's ``Retry-After``."""
    doctor, _ = await ready_practitioner(people)
    registered = await register_client(admin, grants=["client_credentials"], scopes=["slots:read"])
    app.state.settings = app.state.settings.model_copy(
        update={"oauth_client_requests_per_minute": 4}
    )
    async with oauth_client(app, registered, scope="slots:read") as platform:
        await platform.fetch_token("/oauth/token", grant_type="client_credentials")
        fhir, json_ = f"{FHIR}/Slot", f"/api/v1/practitioners/{doctor.account_id}/slots"
        answers = []
        with clock.frozen(clock.now()):  # within the refusal's first delay (1 s), however slow
            for n in range(8):  # FHIR and JSON in turn
                path = fhir if n % 2 == 0 else json_
                params = _slot_search(doctor) if path == fhir else None
                answers.append(await platform.get(path, params=params))
    statuses = [a.status_code for a in answers]
    assert statuses[:4] == [200, 200, 200, 200], statuses
    assert set(statuses[4:]) == {429}, statuses
    refused = answers[4]  # a FHIR call, the fifth of the minute
    outcome(refused, 429, "rate_limited")
    assert int(refused.headers["Retry-After"]) > 0
