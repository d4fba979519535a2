"""Third-party tokens on the real booking routes (issue 7): scopes, and a token acting for patient
P sees and books only as P."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.booking.models import appointment_table
from tests.factories import People, Person
from tests.helpers.booking import book, patient, ready_practitioner, soon
from tests.helpers.problems import assert_problem
from tests.oauth.conftest import (
    Registered,
    bearer,
    delegated_token,
    oauth_client,
    register_client,
)


async def test_a_delegated_token_books_and_reads_only_as_its_patient(
    app: FastAPI,
    client: httpx.AsyncClient,
    people: People,
    admin: Person,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    practitioner, reasons = await ready_practitioner(people)
    alice, bob = await patient(people), await patient(people)
    token = await delegated_token(app, admin, alice)
    start = soon(24 * 60)

    slots = await client.get(
        f"/api/v1/practitioners/{practitioner.account_id}/slots",
        params={"from": start.isoformat(), "to": (start + timedelta(hours=2)).isoformat()},
        headers=bearer(token),
    )
    assert slots.status_code == 200, slots.text
    booked = await client.post(
        "/api/v1/appointments",
        json={
            "practitioner_id": practitioner.account_id,
            "visit_reason_id": reasons[0],
            "start": start.isoformat(),
        },
        headers=bearer(token),
    )  # no CSRF header: a token is not a cookie
    assert booked.status_code == 201, booked.text
    appointment_id = booked.json()["id"]
    async with sessions() as session:
        row = (
            await session.execute(
                appointment_table.select().where(
                    appointment_table.c.id == uuid.UUID(appointment_id)
                )
            )
        ).one()
    assert str(row.patient_id) == alice.account_id
    assert row.channel == "oauth"

    mine = await client.get("/api/v1/me/appointments", headers=bearer(token))
    assert [a["id"] for a in mine.json()] == [appointment_id]

    bobs = await book(bob, practitioner.account_id, reasons[0], start + timedelta(minutes=30))
    assert bobs.status_code == 201, bobs.text
    other = await client.get(f"/api/v1/appointments/{bobs.json()['id']}", headers=bearer(token))
    assert_problem(other, 404, "not_found")
    assert_problem(
        await client.get("/api/v1/me/agenda", headers=bearer(token)), 403, "insufficient_scope"
    )
    assert_problem(
        await client.get("/api/v1/me/consents", headers=bearer(token)), 403, "insufficient_scope"
    )
    # and Alice's access log names the application
    log = (await alice.get("/api/v1/me/access-log")).json()
    assert any(e["action"] == "appointment.booked" and e["via"] == "api" for e in log)


async def test_a_client_credentials_token_reads_the_directory_but_cannot_book(
    client: httpx.AsyncClient, people: People, admin: Person, app: FastAPI
) -> None:
    practitioner, reasons = await ready_practitioner(people)
    registered: Registered = await register_client(
        admin, grants=["client_credentials"], scopes=["practitioners:read", "slots:read"]
    )
    async with oauth_client(app, registered, scope="practitioners:read slots:read") as platform:
        token = await platform.fetch_token("/oauth/token", grant_type="client_credentials")
    found = await client.get("/api/v1/practitioners", headers=bearer(token))
    assert found.status_code == 200
    assert practitioner.account_id in {p["id"] for p in found.json()["items"]}
    refused = await client.post(
        "/api/v1/appointments",
        json={
            "practitioner_id": practitioner.account_id,
            "visit_reason_id": reasons[0],
            "start": soon(24 * 60).isoformat(),
        },
        headers=bearer(token),
    )
    assert_problem(refused, 403, "insufficient_scope")
    assert_problem(
        await client.get("/api/v1/me/appointments", headers=bearer(token)),
        403,
        "insufficient_scope",
    )


async def test_public_routes_refuse_a_bad_token(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/api/v1/practitioners", headers={"Authorization": "Bearer erdv_at_forged"}
    )
    assert_problem(response, 401, "invalid_token")
    assert response.headers["www-authenticate"].startswith("Bearer")
