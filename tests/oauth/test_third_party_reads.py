"""Issue 20, items 1 and 2: what an application reads with a patient's token is in the patient's
access log (charter C9), and never includes a visit reason (charter C6, C7)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from app.booking.appointments import AppointmentService
from app.core.settings import Settings
from tests.factories import People, Person
from tests.helpers.booking import book, patient, ready_practitioner, soon
from tests.oauth.conftest import bearer, delegated_token


def _no_reason_anywhere(value: Any) -> None:
    """No visit reason in any field of a JSON answer, however nested."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("visit_reason", "visit_reason_id"):
                assert item is None, value
            _no_reason_anywhere(item)
    elif isinstance(value, list):
        for item in value:
            _no_reason_anywhere(item)


async def test_token_reads_are_in_the_access_log_and_carry_no_visit_reason(
    app: FastAPI, client: httpx.AsyncClient, people: People, admin: Person
) -> None:
    practitioner, reasons = await ready_practitioner(people)
    alice = await patient(people)
    booked = await book(alice, practitioner.account_id, reasons[0], soon(24 * 60))
    assert booked.status_code == 201, booked.text
    appointment_id = booked.json()["id"]
    token = await delegated_token(app, admin, alice)

    mine = await client.get("/api/v1/me/appointments", headers=bearer(token))
    assert mine.status_code == 200, mine.text
    assert [a["id"] for a in mine.json()] == [appointment_id]
    one = await client.get(f"/api/v1/appointments/{appointment_id}", headers=bearer(token))
    assert one.status_code == 200, one.text
    _no_reason_anywhere(mine.json())
    _no_reason_anywhere(one.json())
    assert reasons[0] not in mine.text + one.text

    # the patient herself still sees it
    own = await alice.get(f"/api/v1/appointments/{appointment_id}")
    assert own.json()["visit_reason_id"] == reasons[0]
    assert own.json()["visit_reason"]

    log = (await alice.get("/api/v1/me/access-log")).json()
    by_api = [line for line in log if line["via"] == "api"]
    assert {line["action"] for line in by_api} >= {"appointment.read", "appointment.listed"}
    assert {line["actor_name"] for line in by_api} == {"Agenda Plus"}
    assert {line["actor_role"] for line in by_api} == {"third_party"}


async def test_an_application_booking_moving_and_cancelling_never_gets_the_reason(
    app: FastAPI, client: httpx.AsyncClient, people: People, admin: Person
) -> None:
    practitioner, reasons = await ready_practitioner(people)
    alice = await patient(people)
    token = await delegated_token(app, admin, alice)
    start = soon(24 * 60, span_hours=1)
    headers = {**bearer(token), "Idempotency-Key": "once"}
    booked = await book(client, practitioner.account_id, reasons[0], start, headers=headers)
    assert booked.status_code == 201, booked.text
    replayed = await book(client, practitioner.account_id, reasons[0], start, headers=headers)
    assert replayed.status_code == 201, replayed.text
    appointment_id = booked.json()["id"]
    moved = await client.post(
        f"/api/v1/appointments/{appointment_id}/reschedule",
        json={"start": (start + timedelta(hours=1)).isoformat()},
        headers=bearer(token),
    )
    assert moved.status_code == 200, moved.text
    cancelled = await client.post(
        f"/api/v1/appointments/{appointment_id}/cancel", headers=bearer(token)
    )
    assert cancelled.status_code == 200, cancelled.text
    for answer in (booked, replayed, moved, cancelled):
        _no_reason_anywhere(answer.json())
        assert reasons[0] not in answer.text


async def test_the_booking_service_cannot_be_built_without_a_recorder(
    settings: Settings, sessions: Any
) -> None:
    session: AsyncSession
    async with sessions() as session:
        with pytest.raises(TypeError):
            AppointmentService(session, settings)  # type: ignore[call-arg]
