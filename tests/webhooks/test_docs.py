"""The verification example of docs/integrate.md "Webhooks" works on a real delivery: the test
registers an endpoint on a local receiver, books, and runs the document's own snippet."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from tests.factories import People, Person
from tests.helpers.booking import book, patient, ready_practitioner, soon
from tests.oauth.conftest import get_tokens, oauth_client
from tests.webhooks.conftest import Receiver, hooked_client

DOC = Path(__file__).resolve().parents[2] / "docs" / "integrate.md"


def webhooks_snippet() -> str:
    section = DOC.read_text(encoding="utf-8").split("## Webhooks", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    assert len(blocks) == 1, "one Python example in the Webhooks section"
    return str(blocks[0])


async def test_the_documented_verification_accepts_a_delivery_and_refuses_a_forgery(
    app: FastAPI, people: People, admin: Person, receiver: Receiver
) -> None:
    hooked = await hooked_client(admin, receiver)
    practitioner, [reason] = await ready_practitioner(people)
    alice = await patient(people)
    async with oauth_client(app, hooked.client, scope="appointments:read") as platform:
        await get_tokens(platform, alice)  # alice authorizes the platform
    booked = await book(alice, practitioner.account_id, reason, soon(24 * 60))
    assert booked.status_code == 201, booked.text
    [received] = receiver.received

    namespace: dict[str, Any] = {}
    exec(compile(webhooks_snippet(), str(DOC), "exec"), namespace)  # noqa: S102 - our own doc
    verify_delivery = namespace["verify_delivery"]

    event = verify_delivery(received.body, received.headers, hooked.secret)
    assert event["type"] == "appointment.booked"
    assert event["data"]["appointment_id"] == booked.json()["id"]
    forged = received.body.replace(b'"booked"', b'"cancelled"')
    assert verify_delivery(forged, received.headers, hooked.secret) is None
    stale = received.headers | {"webhook-timestamp": "1700000000"}
    assert verify_delivery(received.body, stale, hooked.secret) is None
