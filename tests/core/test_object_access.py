"""Someone else's object is a 404 on every route that names one (OWASP API Security Top 10,
API1:2023 broken object level authorization; docs/security.md "Access control").

The routes come from the OpenAPI document, not from a list written here: a route added later with
an id in its path fails ``test_every_route_naming_an_object_is_walked`` until it has a case below
or a reason to be left out. Each case sends the request as people of the owner's own role (the id
is theirs to guess; the role is not what stops them), and at the end every object is checked to
be as its owner left it. Each test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from tests.factories import People, Person
from tests.helpers.booking import book, patient, ready_practitioner, soon
from tests.helpers.team import secretary_of
from tests.helpers.webauthn import SoftPasskey
from tests.oauth.conftest import get_tokens, oauth_client, register_client

#: routes with an id in the path that name no one's object, and why
LEFT_OUT = {
    ("DELETE", "/api/v1/me/overrides/{day}"): "a date of the caller's own calendar",
    ("POST", "/api/v1/team/invitations/{token}/accept"): "a secret mailed to one address",
    ("POST", "/api/v1/practitioners/{practitioner_id}/waitlist"): "joins the caller's own list",
}
#: every admin may act on every object: these routes are the admin role's (tests/accounts)
ADMIN_PREFIX = "/api/v1/admin/"

_WHEN = soon(24 * 60)


@dataclass
class World:
    """Alice's and Dr A's objects, and the people who must not reach them."""

    ids: dict[str, str]
    callers: dict[str, Person]
    fhir_token: str


@dataclass(frozen=True)
class Case:
    callers: tuple[str, ...]
    body: dict[str, Any] | None = None
    query: dict[str, str] | None = None


_APPOINTMENT = ("mallory", "dr_b", "secretary_b")
_PRACTICE = ("dr_b", "secretary_b")
_SITE = {"label": "Ailleurs", "address": "1 rue X", "city": "Lyon", "postcode": "69001"}
_SITE |= {"timezone": "Europe/Paris"}

CASES: dict[tuple[str, str], Case] = {
    ("GET", "/api/v1/appointments/{appointment_id}"): Case(_APPOINTMENT),
    ("GET", "/api/v1/appointments/{appointment_id}.ics"): Case(_APPOINTMENT),
    ("POST", "/api/v1/appointments/{appointment_id}/cancel"): Case(_APPOINTMENT),
    ("POST", "/api/v1/appointments/{appointment_id}/reschedule"): Case(
        _APPOINTMENT, {"start": (_WHEN + timedelta(days=1)).isoformat()}
    ),
    # the practice side only: a patient's role is refused before any id is read (403)
    ("POST", "/api/v1/appointments/{appointment_id}/status"): Case(
        _PRACTICE, {"status": "no_show"}
    ),
    ("PATCH", "/api/v1/me/relatives/{relative_id}"): Case(("mallory",), {"full_name": "X Y"}),
    ("DELETE", "/api/v1/me/relatives/{relative_id}"): Case(("mallory",)),
    ("DELETE", "/api/v1/me/visit-reasons/{visit_reason_id}"): Case(("dr_b",)),
    ("DELETE", "/api/v1/me/absences/{absence_id}"): Case(("dr_b",)),
    ("PUT", "/api/v1/me/sites/{site_id}"): Case(("dr_b",), _SITE),
    ("DELETE", "/api/v1/me/sites/{site_id}"): Case(("dr_b",)),
    ("DELETE", "/api/v1/me/sessions/{session_id}"): Case(("mallory",)),
    ("GET", "/api/v1/me/passkeys/{passkey_id}"): Case(("mallory",)),
    ("PATCH", "/api/v1/me/passkeys/{passkey_id}"): Case(("mallory",), {"name": "Mine now"}),
    ("DELETE", "/api/v1/me/passkeys/{passkey_id}"): Case(("mallory",)),
    ("DELETE", "/api/v1/me/practice/team/{member_id}"): Case(("dr_b",)),
    ("GET", "/api/v1/practices/{practice_id}/agenda"): Case(_PRACTICE),
    ("GET", "/api/v1/practices/{practice_id}/holds"): Case(_PRACTICE),
    ("GET", "/api/v1/practices/{practice_id}/hours"): Case(_PRACTICE),
    ("GET", "/api/v1/practices/{practice_id}/slots"): Case(_PRACTICE),
    ("GET", "/api/v1/practices/{practice_id}/patients"): Case(_PRACTICE, query={"q": "al"}),
    ("POST", "/api/v1/practices/{practice_id}/appointments"): Case(
        _PRACTICE,
        {
            "visit_reason_id": "{visit_reason_id}",
            "start": (_WHEN + timedelta(days=2)).isoformat(),
            "patient": {"full_name": "Marc Petit", "phone": "0612345678"},
        },
    ),
    ("GET", "/api/v1/me/waitlist/{entry_id}"): Case(("mallory",)),
    ("DELETE", "/api/v1/me/waitlist/{entry_id}"): Case(("mallory",)),
    ("POST", "/api/v1/waitlist/{entry_id}/claim"): Case(("mallory",)),
    ("DELETE", "/api/v1/me/apps/{client_id}"): Case(("mallory",)),
    # an application acting for Mallory, with her token (scopes as the JSON API's)
    ("GET", "/fhir/r4/Appointment/{appointment_id}"): Case(("mallory_app",)),
}


def _walked(app: FastAPI) -> set[tuple[str, str]]:
    """Every operation with a path parameter that is neither public nor the admins'."""
    found = set()
    for path, operations in app.openapi()["paths"].items():
        if "{" not in path or path.startswith(ADMIN_PREFIX):
            continue
        for method, operation in operations.items():
            if operation.get("x-erdv-access") != "public":
                found.add((method.upper(), path))
    return found


def test_every_route_naming_an_object_is_walked(app: FastAPI) -> None:
    walked = _walked(app)
    assert walked - CASES.keys() - LEFT_OUT.keys() == set(), "give each new route a case"
    assert CASES.keys() - walked == set(), "a case for a route that is gone"
    assert LEFT_OUT.keys() - walked == set(), "a reason for a route that is gone"


async def _world(app: FastAPI, people: People) -> World:
    dr_a, (reason,) = await ready_practitioner(people, name="Dr Anne Alpha")
    dr_b, _ = await ready_practitioner(people, name="Dr Bruno Beta")
    alice, mallory = await patient(people), await patient(people)
    appointment = await book(alice, dr_a.account_id, reason, _WHEN)
    assert appointment.status_code == 201, appointment.text

    def created(response: httpx.Response) -> str:
        assert response.status_code in (200, 201), response.text
        return str(response.json()["id"])

    relative = created(
        await alice.post(
            "/api/v1/me/relatives", json={"full_name": "Léo Alpha", "birth_date": "2019-04-02"}
        )
    )
    absence = created(
        await dr_a.post(
            "/api/v1/me/absences",
            json={
                "start": (_WHEN + timedelta(days=20)).isoformat(),
                "end": (_WHEN + timedelta(days=21)).isoformat(),
            },
        )
    )
    site = created(await dr_a.post("/api/v1/me/sites", json=_SITE | {"label": "Annexe"}))
    entry = created(
        await alice.post(
            f"/api/v1/practitioners/{dr_a.account_id}/waitlist",
            json={"visit_reason_id": reason, "before": (_WHEN + timedelta(days=30)).isoformat()},
        )
    )
    (session,) = [s["id"] for s in (await alice.get("/api/v1/me/sessions")).json()]
    assert (await alice.reauth()).status_code == 204
    options = await alice.post("/api/v1/auth/passkeys/options")
    passkey = created(
        await alice.post(
            "/api/v1/auth/passkeys",
            json={"credential": SoftPasskey().create_json(options.json()), "name": "Phone"},
        )
    )
    await secretary_of(people, dr_a, full_name="Claire Alpha")
    (member,) = [m["id"] for m in (await dr_a.get("/api/v1/me/practice/team")).json()]
    secretary_b = await secretary_of(people, dr_b, full_name="Sam Beta")

    admin = await people.signed_in(role="admin")
    assert (await admin.reauth()).status_code == 204
    scope = "appointments:read appointments:write slots:read"
    registered = await register_client(admin)
    async with oauth_client(app, registered, scope=scope) as platform:
        await get_tokens(platform, alice)  # Alice authorized this application
    theirs = await register_client(admin)
    async with oauth_client(app, theirs, scope=scope) as platform:
        mallory_token = await get_tokens(platform, mallory)  # and Mallory another one
    # sensitive changes need a recent re-authentication: Mallory has one, so what stops her
    # below is whose object it is
    assert (await mallory.reauth()).status_code == 204
    ids = {
        "appointment_id": str(appointment.json()["id"]),
        "relative_id": relative,
        "visit_reason_id": reason,
        "absence_id": absence,
        "site_id": site,
        "session_id": session,
        "passkey_id": passkey,
        "member_id": member,
        "practice_id": str(dr_a.account_id),
        "entry_id": entry,
        "client_id": registered.client_id,
    }
    callers = {
        "alice": alice,
        "dr_a": dr_a,
        "mallory": mallory,
        "dr_b": dr_b,
        "secretary_b": secretary_b,
    }
    return World(ids, callers, mallory_token["access_token"])


def _filled(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids) if "{" in value else value
    if isinstance(value, dict):
        return {k: _filled(v, ids) for k, v in value.items()}
    return value


async def _send(world: World, who: str, method: str, path: str, case: Case) -> httpx.Response:
    url = path.format(**world.ids)
    body = _filled(case.body, world.ids) if case.body is not None else None
    if who == "mallory_app":
        client = world.callers["mallory"].client
        return await client.request(
            method, url, headers={"Authorization": f"Bearer {world.fhir_token}"}
        )
    person = world.callers[who]
    headers = {"X-CSRF-Token": person.csrf_token} if method != "GET" else {}
    return await person.client.request(method, url, json=body, params=case.query, headers=headers)


async def _as_left(world: World) -> None:
    """Every object still as its owner left it."""
    alice, dr_a, ids = world.callers["alice"], world.callers["dr_a"], world.ids
    mine = await alice.get(f"/api/v1/appointments/{ids['appointment_id']}")
    assert mine.status_code == 200, mine.text
    assert mine.json()["status"] == "booked"
    assert mine.json()["start"] == (await alice.get("/api/v1/me/appointments")).json()[0]["start"]
    relatives = (await alice.get("/api/v1/me/relatives")).json()
    assert [r["id"] for r in relatives] == [ids["relative_id"]]
    assert [r["full_name"] for r in relatives] == ["Léo Alpha"]
    reasons = (await dr_a.get("/api/v1/me/visit-reasons")).json()
    assert ids["visit_reason_id"] in [r["id"] for r in reasons if r.get("active", True)]
    assert ids["absence_id"] in [a["id"] for a in (await dr_a.get("/api/v1/me/absences")).json()]
    sites = {s["id"]: s for s in (await dr_a.get("/api/v1/me/sites")).json()}
    assert sites[ids["site_id"]]["label"] == "Annexe"
    assert ids["session_id"] in [s["id"] for s in (await alice.get("/api/v1/me/sessions")).json()]
    passkeys = (await alice.get("/api/v1/me/passkeys")).json()
    assert [(p["id"], p["name"]) for p in passkeys] == [(ids["passkey_id"], "Phone")]
    team = (await dr_a.get("/api/v1/me/practice/team")).json()
    assert [m["id"] for m in team] == [ids["member_id"]]
    waiting = await alice.get(f"/api/v1/me/waitlist/{ids['entry_id']}")
    assert waiting.status_code == 200, waiting.text
    apps = (await alice.get("/api/v1/me/apps")).json()
    assert [a["client_id"] for a in apps] == [ids["client_id"]]


async def test_someone_elses_object_is_a_404_everywhere(app: FastAPI, people: People) -> None:
    """One world, every case, every failure reported at once; then every object as it was."""
    world = await _world(app, people)
    answered = {}
    for (method, path), case in sorted(CASES.items()):
        for who in case.callers:
            response = await _send(world, who, method, path, case)
            answered[(method, path, who)] = response.status_code
    assert {k: v for k, v in answered.items() if v != 404} == {}
    await _as_left(world)
