"""Issue 20: instants at the edges of what Python can hold (year 1, year 9999) and sequence numbers
past 64 bits answered 500; they are clear 422s."""

from __future__ import annotations

import httpx

from tests.factories import People
from tests.helpers.booking import book, patient, ready_practitioner, soon
from tests.helpers.problems import assert_problem

EDGES = (
    "0001-01-01T00:00:00+05:00",
    "0001-01-01T00:00:00-05:00",
    "9999-12-31T23:59:59-05:00",
    "9999-12-31T23:59:59+14:00",
)


async def test_edge_instants_are_422_on_every_route(
    client: httpx.AsyncClient, people: People
) -> None:
    practitioner, reasons = await ready_practitioner(people)
    alice = await patient(people)
    booked = await book(alice, practitioner.account_id, reasons[0], soon(24 * 60))
    assert booked.status_code == 201, booked.text
    appointment = booked.json()["id"]
    for edge in EDGES:
        answers = [
            await client.get(
                f"/api/v1/practitioners/{practitioner.account_id}/slots", params={"from": edge}
            ),
            await client.get(
                f"/api/v1/practitioners/{practitioner.account_id}/slots", params={"to": edge}
            ),
            await book(alice, practitioner.account_id, reasons[0], edge),
            await alice.post(
                f"/api/v1/appointments/{appointment}/reschedule", json={"start": edge}
            ),
            await practitioner.get("/api/v1/me/agenda", params={"from": edge}),
            await practitioner.get("/api/v1/me/agenda", params={"to": edge}),
            await practitioner.post(
                "/api/v1/me/absences",
                json={"start": edge, "end": edge, "cancel_appointments": False},
            ),
        ]
        for answer in answers:
            assert_problem(answer, 422, "validation_error")


async def test_a_sequence_number_past_64_bits_is_422(people: People) -> None:
    alice = await people.signed_in()
    for before in (2**63, 2**64, 10**30):
        answer = await alice.get("/api/v1/me/access-log", params={"before": before})
        assert_problem(answer, 422, "validation_error")
    assert (
        await alice.get("/api/v1/me/access-log", params={"before": 2**63 - 1})
    ).status_code == 200
