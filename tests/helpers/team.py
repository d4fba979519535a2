"""Secretaries for the practice-team tests: invited by a practitioner, registered with the mailed
invitation, signed in with TOTP like everyone."""

from __future__ import annotations

import re
import uuid

from tests.factories import PASSWORD, People, Person, outbox

_LINK = re.compile(r"/invitations/([A-Za-z0-9_\-]+)")


def invitation_token(people: People, to: str) -> str:
    """The token in the latest invitation mailed to ``to``."""
    for message in reversed(outbox(people.settings)):
        if message["To"] != to:
            continue
        body = message.get_body(preferencelist=("plain",))
        assert body is not None
        found = _LINK.search(body.get_content())
        if found:
            return found.group(1)
    raise AssertionError(f"no invitation mailed to {to}")


async def invite(doctor: Person, email: str) -> dict[str, object]:
    response = await doctor.post(
        "/api/v1/me/practice/team", json={"email": email, "role": "secretary"}
    )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


async def secretary_of(
    people: People, doctor: Person, *, full_name: str = "Claire Secrétaire"
) -> Person:
    """Invited by ``doctor``, registered with the invitation, TOTP enrolled: a full session."""
    email = f"secretary-{uuid.uuid4().hex[:10]}@example.test"
    await invite(doctor, email)
    token = invitation_token(people, email)
    person = Person(people.client(), email, PASSWORD, full_name, "secretary")
    registered = await person.client.post(
        "/api/v1/auth/register",
        json={
            "email": email,
            "password": PASSWORD,
            "full_name": full_name,
            "role": "secretary",
            "invitation": token,
        },
    )
    assert registered.status_code == 202, registered.text
    step = await person.login()
    assert step.status_code == 200, step.text
    assert step.json()["next"] == "mfa_setup"
    await person.enrol_totp()
    session = await person.get("/api/v1/auth/session")
    person.account_id = session.json()["account"]["id"]
    return person
