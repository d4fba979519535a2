"""The resource-server mechanism (``caller`` / ``public_caller``) on test-only routes: scopes,
invalid tokens, client-credentials tokens and object checks (issue 7, "Done when")."""

import uuid
from typing import Annotated

import httpx
from fastapi import Depends, FastAPI

from app.accounts.models import Role
from app.accounts.principal import Principal
from app.auth.authenticator import Authenticator, CurrentPatient, PublicCaller
from app.auth.callers import Caller
from app.core.errors import NotFound
from tests.factories import People, Person
from tests.helpers.problems import assert_problem
from tests.oauth.conftest import Registered, get_tokens, oauth_client, register_client

#: appointment id -> owner (a stand-in for the booking tables being built elsewhere)
OWNERS: dict[str, str] = {}


def install_test_routes(app: FastAPI) -> None:
    reader = Authenticator(Role.PATIENT, scope="appointments:read")
    booker = Authenticator(Role.PATIENT, scope="appointments:write")
    agenda = Authenticator(Role.PRACTITIONER, scope="agenda:read")
    slots = PublicCaller("slots:read")

    @app.get("/api/v1/_test/appointments/{appointment_id}")
    async def read_appointment(
        appointment_id: str, who: Annotated[Principal, Depends(reader)]
    ) -> dict[str, str | None]:
        if OWNERS.get(appointment_id) != str(who.account_id):
            raise NotFound("No such appointment.")
        return {"id": appointment_id, "client": who.client_id, "actor": who.actor.client_id}

    @app.post("/api/v1/_test/appointments")
    async def book(who: Annotated[Principal, Depends(booker)]) -> dict[str, str]:
        appointment_id = str(uuid.uuid4())
        OWNERS[appointment_id] = str(who.account_id)
        return {"id": appointment_id}

    @app.get("/api/v1/_test/agenda")
    async def read_agenda(who: Annotated[Principal, Depends(agenda)]) -> dict[str, str]:
        return {"practitioner": str(who.account_id)}

    @app.get("/api/v1/_test/slots")
    async def read_slots(who: Annotated[Caller, Depends(slots)]) -> dict[str, str | None]:
        return {"client": who.token.client_id if who.token else None}

    @app.get("/api/v1/_test/session-only")
    async def session_only(who: CurrentPatient) -> dict[str, str]:
        return {"id": str(who.account_id)}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_patient_token_acts_only_as_that_patient(
    app: FastAPI, people: People, admin: Person, registered: Registered
) -> None:
    install_test_routes(app)
    alice = await people.signed_in(role="patient")
    bob = await people.signed_in(role="patient")
    async with oauth_client(app, registered, scope="appointments:read appointments:write") as p:
        token = (await get_tokens(p, alice))["access_token"]
    anonymous = people.client()
    booked = await anonymous.post("/api/v1/_test/appointments", headers=bearer(token))
    assert booked.status_code == 200, booked.text  # no CSRF for Bearer requests
    mine = booked.json()["id"]
    bobs = (await bob.post("/api/v1/_test/appointments")).json()["id"]

    seen = await anonymous.get(f"/api/v1/_test/appointments/{mine}", headers=bearer(token))
    assert seen.json() == {
        "id": mine,
        "client": registered.client_id,
        "actor": registered.client_id,
    }
    assert_problem(
        await anonymous.get(f"/api/v1/_test/appointments/{bobs}", headers=bearer(token)),
        404,
        "not_found",
    )
    # the agenda is for practitioners: a patient token has neither the scope nor the role
    agenda = await anonymous.get("/api/v1/_test/agenda", headers=bearer(token))
    assert_problem(agenda, 403, "insufficient_scope")
    # session-only routes refuse tokens, even valid ones
    for path in ("/api/v1/_test/session-only", "/api/v1/me/consents", "/api/v1/me/apps"):
        assert_problem(await anonymous.get(path, headers=bearer(token)), 403, "insufficient_scope")


async def test_scope_is_checked(app: FastAPI, people: People, registered: Registered) -> None:
    install_test_routes(app)
    alice = await people.signed_in(role="patient")
    async with oauth_client(app, registered, scope="appointments:read") as p:
        token = (await get_tokens(p, alice))["access_token"]
    http = people.client()
    response = await http.post("/api/v1/_test/appointments", headers=bearer(token))
    assert_problem(response, 403, "insufficient_scope")
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
    assert 'scope="appointments:write"' in response.headers["www-authenticate"]
    slots = await http.get("/api/v1/_test/slots", headers=bearer(token))
    assert_problem(slots, 403, "insufficient_scope")


async def test_invalid_tokens_get_401_invalid_token(app: FastAPI, people: People) -> None:
    install_test_routes(app)
    http = people.client()
    for value in ("erdv_at_forged", "", "x" * 500):
        response = await http.get(
            "/api/v1/_test/appointments/x", headers={"Authorization": f"Bearer {value}"}
        )
        assert_problem(response, 401, "invalid_token")
        assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    # a bad token is refused even on a public route
    assert_problem(
        await http.get("/api/v1/_test/slots", headers=bearer("nope")), 401, "invalid_token"
    )
    assert (await http.get("/api/v1/_test/slots")).json() == {"client": None}


async def test_client_credentials_token_cannot_act_as_a_patient(
    app: FastAPI, people: People, admin: Person
) -> None:
    install_test_routes(app)
    registered = await register_client(
        admin, grants=["client_credentials"], scopes=["practitioners:read", "slots:read"]
    )
    async with oauth_client(app, registered, scope="slots:read") as platform:
        token = (await platform.fetch_token("/oauth/token", grant_type="client_credentials"))[
            "access_token"
        ]
    http = people.client()
    assert (await http.get("/api/v1/_test/slots", headers=bearer(token))).json() == {
        "client": registered.client_id
    }
    assert_problem(
        await http.post("/api/v1/_test/appointments", headers=bearer(token)),
        403,
        "insufficient_scope",
    )
    assert_problem(
        await http.get("/api/v1/_test/appointments/x", headers=bearer(token)),
        403,
        "insufficient_scope",
    )
    assert_problem(
        await http.get("/api/v1/_test/agenda", headers=bearer(token)), 403, "insufficient_scope"
    )


async def test_sessions_still_work_and_keep_csrf(app: FastAPI, people: People) -> None:
    install_test_routes(app)
    alice = await people.signed_in(role="patient")
    assert (await alice.post("/api/v1/_test/appointments")).status_code == 200
    no_csrf = await alice.client.post("/api/v1/_test/appointments")
    assert_problem(no_csrf, 403, "csrf_failed")


async def test_per_client_rate_limit(
    app: FastAPI, people: People, admin: Person, settings: object
) -> None:
    install_test_routes(app)
    registered = await register_client(admin, grants=["client_credentials"], scopes=["slots:read"])
    app.state.settings = app.state.settings.model_copy(
        update={"oauth_client_requests_per_minute": 3}
    )
    async with oauth_client(app, registered, scope="slots:read") as platform:
        token = (await platform.fetch_token("/oauth/token", grant_type="client_credentials"))[
            "access_token"
        ]
    http: httpx.AsyncClient = people.client()
    statuses = [
        (await http.get("/api/v1/_test/slots", headers=bearer(token))).status_code for _ in range(6)
    ]
    assert 429 in statuses
    assert statuses[0] == 200


async def test_admin_client_endpoints(
    people: People, admin: Person, client: httpx.AsyncClient
) -> None:
    fresh_admin = await people.signed_in(role="admin")
    needs_reauth = await fresh_admin.post(
        "/api/v1/admin/oauth/clients",
        json={
            "name": "X",
            "redirect_uris": [],
            "grant_types": ["client_credentials"],
            "scopes": ["slots:read"],
        },
    )
    assert_problem(needs_reauth, 403, "reauth_required")
    bad = await admin.post(
        "/api/v1/admin/oauth/clients",
        json={
            "name": "X",
            "redirect_uris": ["http://evil.example/cb"],
            "grant_types": ["authorization_code"],
            "scopes": ["appointments:read"],
        },
    )
    assert_problem(bad, 422, "validation_error")
    cc_wide = await admin.post(
        "/api/v1/admin/oauth/clients",
        json={
            "name": "X",
            "redirect_uris": [],
            "grant_types": ["client_credentials"],
            "scopes": ["appointments:read"],
        },
    )
    assert_problem(cc_wide, 422, "validation_error")
    created = await register_client(admin, enable=False)
    listed = (await admin.get("/api/v1/admin/oauth/clients")).json()
    assert [c["client_id"] for c in listed] == [created.client_id]
    assert "client_secret" not in listed[0]
    assert listed[0]["enabled"] is False
    patient = await people.signed_in(role="patient")
    assert_problem(await patient.get("/api/v1/admin/oauth/clients"), 403, "forbidden")
    assert_problem(
        await admin.post("/api/v1/admin/oauth/clients/erdv_client_none/enable"), 404, "not_found"
    )
