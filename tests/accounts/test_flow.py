"""The whole browser flow through HTTP, with cookies and CSRF (issue 4, "Done when")."""

from __future__ import annotations

import httpx

from tests.factories import People, outbox


async def test_whole_flow(people: People) -> None:
    patient = await people.signed_in(role="patient")
    info = (await patient.get("/api/v1/auth/session")).json()
    assert info["account"]["email"] == patient.email
    assert info["mfa"] is True
    assert info["csrf_token"] == patient.csrf_token
    assert len(patient.recovery_codes) == 10

    # a later login: password, then code
    await patient.post("/api/v1/auth/logout")
    await patient.sign_in()
    assert (await patient.get("/api/v1/me/sessions")).status_code == 200
