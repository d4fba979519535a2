"""FHIR answers are never stored by a cache, as the JSON API's are not (API.md "Conventions":
``Cache-Control: no-store``; the v1.1 additions keep the conventions): a patient's appointments
read through a platform's token would otherwise sit in a shared or browser cache. Before, only
``/api/``, ``/oauth/`` and ``/.well-known/`` answers said so."""

from __future__ import annotations

import httpx
from authlib.integrations.httpx_client import AsyncOAuth2Client

from tests.factories import People
from tests.fhir.conftest import FHIR, acting_for, resource
from tests.helpers.booking import book, patient, ready_practitioner, soon


async def test_every_fhir_answer_says_no_store(
    client: httpx.AsyncClient, people: People, platform: AsyncOAuth2Client
) -> None:
    doctor, (reason,) = await ready_practitioner(people)
    alice = await patient(people)
    booked = await book(alice, doctor.account_id, reason, soon(24 * 60))
    assert booked.status_code == 201, booked.text
    agent = await acting_for(platform, alice)

    answers = [
        await client.get(f"{FHIR}/metadata"),
        await client.get(f"{FHIR}/Practitioner/{doctor.account_id}"),
        await client.get(f"{FHIR}/Practitioner/00000000-0000-4000-8000-000000000000"),  # 404
        await agent.get(f"{FHIR}/Appointment/{booked.json()['id']}"),
        await agent.get(f"{FHIR}/Appointment", params={"patient": alice.account_id}),
    ]
    assert [a.status_code for a in answers] == [200, 200, 404, 200, 200]
    resource(answers[3], "Appointment")
    for answer in answers:
        assert answer.headers["cache-control"] == "no-store", answer.request.url
