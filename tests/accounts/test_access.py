"""Access rules over the whole route table (SECURITY.md "Access control", API.md).

- a partial session (MFA not done) gets 401 ``mfa_required`` on every endpoint but the login steps;
- every unsafe request authenticated by the cookie without ``X-CSRF-Token`` gets 403 ``csrf_failed``;
- the typed dependencies answer 401 / 403 ``forbidden`` / 403 ``reauth_required``.
"""

from __future__ import annotations

import json
import re
import uuid

import httpx
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from app.audit.repository import entry_table
from app.auth.authenticator import (
    CurrentAdmin,
    CurrentPatient,
    CurrentPractitioner,
    RecentlyAuthenticatedAdmin,
)
from app.auth.sessions import PARTIAL_SESSION_PATHS
from app.core.access import ACCESS_KEY
from app.core.settings import Settings
from tests.factories import People
from tests.helpers.problems import assert_problem, assert_refused

UNSAFE = {"post", "put", "patch", "delete"}


def endpoints(app: FastAPI, *, public: bool | None = None) -> list[tuple[str, str]]:
    """Every (method, concrete path) of the OpenAPI document: the contract's whole surface.

    ``public`` keeps only the routes that declare (True) or do not declare (False) ``PUBLIC``.
    """
    found = []
    for path, operations in app.openapi()["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)
        for method, operation in operations.items():
            is_public = operation.get(ACCESS_KEY) == "public"
            if public is None or public == is_public:
                found.append((method, concrete if "{" in path else path))
    return found


async def call(
    client: httpx.AsyncClient, method: str, path: str, *, headers: dict[str, str] | None = None
) -> httpx.Response:
    return await client.request(
        method.upper(), path, json={} if method in UNSAFE else None, headers=headers
    )


async def test_partial_session_reaches_only_the_login_steps(app: FastAPI, people: People) -> None:
    person = await people.registered()
    await person.login()
    checked = 0
    for method, path in endpoints(app):
        if path in PARTIAL_SESSION_PATHS:
            continue
        response = await call(person.client, method, path, headers=person.headers())
        assert_refused(response, 401, "mfa_required")
        checked += 1
    assert checked >= 7  # health probes, /me, admin... everything else
    assert (await person.get("/api/v1/auth/session")).json()["code"] == "not_authenticated"


async def test_every_unsafe_cookie_request_needs_the_csrf_token(
    app: FastAPI, people: People
) -> None:
    person = await people.signed_in(role="admin")
    checked = 0
    for method, path in endpoints(app, public=False):
        if method not in UNSAFE:
            continue
        response = await call(person.client, method, path)  # cookie, no header
        assert_refused(response, 403, "csrf_failed")
        wrong = await call(person.client, method, path, headers={"X-CSRF-Token": "forged"})
        assert_refused(wrong, 403, "csrf_failed")
        checked += 1
    assert checked >= 9
    # and the session is still fine
    assert (await person.get("/api/v1/auth/session")).status_code == 200


async def test_unauthenticated_callers_get_401(app: FastAPI, people: People) -> None:
    anonymous = people.client()
    protected = endpoints(app, public=False)
    assert len(protected) > 10
    for method, path in protected:
        if path == "/api/v1/auth/logout":
            continue  # a quiet 204 without a session (below)
        response = await call(anonymous, method, path)
        assert_refused(response, 401, "not_authenticated")


async def test_public_routes_answer_without_a_session(app: FastAPI, people: People) -> None:
    anonymous = people.client()
    public = endpoints(app, public=True)
    assert ("get", "/api/v1/charter") in public
    for method, path in public:
        response = await call(anonymous, method, path)
        assert response.status_code != 401, (method, path, response.text)


async def test_logout_without_a_session_is_a_quiet_204(people: People) -> None:
    assert (await people.client().post("/api/v1/auth/logout")).status_code == 204


async def test_role_dependencies(app: FastAPI, people: People) -> None:
    @app.get("/api/v1/_test/patient")
    async def only_patients(who: CurrentPatient) -> dict[str, str]:
        return {"role": who.role.value, "name": who.display_name}

    @app.get("/api/v1/_test/practitioner")
    async def only_practitioners(who: CurrentPractitioner) -> dict[str, str]:
        return {"role": who.role.value}

    @app.get("/api/v1/_test/admin")
    async def only_admins(who: CurrentAdmin) -> dict[str, str]:
        return {"role": who.role.value}

    @app.post("/api/v1/_test/sensitive")
    async def sensitive(who: RecentlyAuthenticatedAdmin) -> dict[str, str]:
        return {"actor": str(who.actor.id)}

    patient = await people.signed_in(role="patient")
    practitioner = await people.signed_in(role="practitioner")
    admin = await people.signed_in(role="admin")
    assert (await patient.get("/api/v1/_test/patient")).json()["role"] == "patient"
    assert_problem(await practitioner.get("/api/v1/_test/patient"), 403, "forbidden")
    assert_problem(await patient.get("/api/v1/_test/practitioner"), 403, "forbidden")
    assert (await practitioner.get("/api/v1/_test/practitioner")).status_code == 200
    assert_problem(await patient.get("/api/v1/_test/admin"), 403, "forbidden")
    assert (await admin.get("/api/v1/_test/admin")).status_code == 200
    assert_problem(await people.client().get("/api/v1/_test/admin"), 401, "not_authenticated")

    assert_problem(await admin.post("/api/v1/_test/sensitive"), 403, "reauth_required")
    assert_problem(await patient.post("/api/v1/_test/sensitive"), 403, "forbidden")
    before = admin.session_cookie
    assert (await admin.reauth()).status_code == 204
    assert admin.session_cookie != before  # re-authentication rotates the session
    assert (await admin.post("/api/v1/_test/sensitive")).json()["actor"] == admin.account_id


async def test_denied_accesses_are_audited_although_the_request_fails(
    people: People, engine: AsyncEngine
) -> None:
    """SECURITY.md: every denied access is in the audit trail (and survives the 403's rollback)."""
    patient = await people.signed_in(role="patient")
    admin = await people.signed_in(role="admin")
    assert_problem(await patient.get("/api/v1/admin/audit/verify"), 403, "forbidden")
    assert_problem(await admin.get("/api/v1/admin/audit"), 403, "reauth_required")
    forged = await patient.client.post(
        "/api/v1/me/consents",
        json={"purpose_id": "privacy-notice", "purpose_version": 2, "decision": "grant"},
    )
    assert_problem(forged, 403, "csrf_failed")
    async with engine.connect() as connection:
        rows = (
            await connection.execute(
                sa.select(entry_table.c.actor_id, entry_table.c.outcome, entry_table.c.details)
                .where(entry_table.c.action == "access.denied")
                .order_by(entry_table.c.seq)
            )
        ).all()
    reasons = [(actor, outcome, json.loads(details)["reason"]) for actor, outcome, details in rows]
    assert reasons == [
        (patient.account_id, "denied", "wrong_role"),
        (admin.account_id, "denied", "reauth_required"),
        (patient.account_id, "denied", "csrf_failed"),
    ]
    # and nothing else of the refused consent request was kept
    assert (await patient.get("/api/v1/me/consents/history")).json() == []


async def test_a_burst_of_404s_on_objects_is_audited(
    people: People, engine: AsyncEngine, settings: Settings
) -> None:
    """SECURITY.md: bursts of 404s on object ids from one account are recorded (the 2020
    enumeration of appointments)."""
    patient = await people.signed_in(role="patient")
    threshold = settings.not_found_burst_threshold
    for _ in range(threshold + 3):
        response = await patient.get(f"/api/v1/appointments/{uuid.uuid4()}")
        assert_problem(response, 404, "not_found")
    assert_problem(await people.client().get("/api/v1/nope"), 404, "not_found")  # not counted
    async with engine.connect() as connection:
        bursts = (
            await connection.execute(
                sa.select(entry_table.c.actor_id, entry_table.c.details).where(
                    entry_table.c.action == "access.not_found_burst"
                )
            )
        ).all()
    assert len(bursts) == 1
    assert bursts[0].actor_id == patient.account_id
    assert json.loads(bursts[0].details)["not_found"] == threshold
