"""``POST /auth/reauth``: the contract's 204 with the CSRF token in a header, and on request
(``Prefer: return=representation``, RFC 7240) a 200 with the token in the body; and the session's
``reauth_seconds_left``, which the front end reads before a download it cannot retry."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx

from app.core import clock
from tests.factories import People, Person
from tests.helpers.problems import assert_problem


async def _reauth(person: Person, prefer: str | None = None) -> httpx.Response:
    headers = {"Prefer": prefer} if prefer else {}
    return await person.post(
        "/api/v1/auth/reauth",
        json={"password": person.password, "code": person.code()},
        headers=headers,
    )


async def test_without_preference_the_answer_is_still_204_with_the_header(people: People) -> None:
    admin = await people.signed_in(role="admin")
    answer = await admin.post(
        "/api/v1/auth/reauth", json={"password": admin.password, "code": admin.code()}
    )
    assert answer.status_code == 204
    assert answer.content == b""
    assert answer.headers["X-CSRF-Token"]
    assert "Preference-Applied" not in answer.headers


async def test_return_representation_gives_the_token_in_the_body(people: People) -> None:
    admin = await people.signed_in(role="admin")
    old_token = admin.csrf_token
    with clock.frozen(clock.now()):
        answer = await admin.post(
            "/api/v1/auth/reauth",
            json={"password": admin.password, "code": admin.code()},
            headers={"Prefer": "respond-async, return=representation"},
        )
        now = clock.now()
    assert answer.status_code == 200, answer.text
    assert answer.headers["Preference-Applied"] == "return=representation"
    assert "Prefer" in answer.headers["Vary"]
    assert answer.headers["Cache-Control"] == "no-store"
    body = answer.json()
    assert set(body) == {"csrf_token", "reauthenticated_at", "valid_until"}
    assert body["csrf_token"] == answer.headers["X-CSRF-Token"]
    assert body["csrf_token"] != old_token
    at = datetime.fromisoformat(body["reauthenticated_at"])
    assert at == now
    assert datetime.fromisoformat(body["valid_until"]) - at == timedelta(minutes=10)

    # the session rotated: the old token is refused, the one from the body works
    admin.csrf_token = old_token
    assert_problem(await admin.post("/api/v1/auth/logout"), 403, "csrf_failed")
    admin.csrf_token = body["csrf_token"]
    assert (await admin.get("/api/v1/admin/audit?format=ndjson")).status_code == 200
    assert (await admin.post("/api/v1/auth/logout")).status_code == 204


async def test_return_minimal_and_unknown_preferences_keep_the_204(people: People) -> None:
    patient = await people.signed_in()
    start = clock.now()
    for step, prefer in enumerate(("return=minimal", "handling=lenient", "return=representationx")):
        # each reauthentication spends a TOTP code: the clock moves on one 30-second step, as a
        # person would wait for the next code in their app (a real wait made this test take 20 s)
        with clock.frozen(start + timedelta(seconds=30 * step)):
            answer = await patient.post(
                "/api/v1/auth/reauth",
                json={"password": patient.password, "code": patient.code()},
                headers={"Prefer": prefer},
            )
        assert answer.status_code == 204, prefer
        patient.csrf_token = answer.headers["X-CSRF-Token"]


async def test_failures_are_the_same_problems_with_the_preference(people: People) -> None:
    patient = await people.signed_in()
    prefer = {"Prefer": "return=representation"}
    wrong_password = await patient.post(
        "/api/v1/auth/reauth",
        json={"password": "Not-The-Password-0", "code": patient.code()},
        headers=prefer,
    )
    assert_problem(wrong_password, 401, "invalid_credentials")
    wrong_code = await patient.post(
        "/api/v1/auth/reauth", json={"password": patient.password, "code": "000000"}, headers=prefer
    )
    assert_problem(wrong_code, 400, "invalid_code")
    anonymous = await people.client().post(
        "/api/v1/auth/reauth", json={"password": "x", "code": "1"}, headers=prefer
    )
    assert_problem(anonymous, 401, "not_authenticated")


async def test_session_says_how_long_the_reauthentication_lasts(people: People) -> None:
    admin = await people.signed_in(role="admin")
    with clock.frozen(clock.now()) as frozen:
        assert (await admin.get("/api/v1/auth/session")).json()["reauth_seconds_left"] == 0
        answer = await _reauth(admin, "return=representation")
        admin.csrf_token = answer.json()["csrf_token"]
        info = (await admin.get("/api/v1/auth/session")).json()
        assert info["reauth_seconds_left"] == 600
        assert info["csrf_token"] == admin.csrf_token
        frozen.advance(timedelta(minutes=9))
        assert (await admin.get("/api/v1/auth/session")).json()["reauth_seconds_left"] == 60
        frozen.advance(timedelta(seconds=61))
        assert (await admin.get("/api/v1/auth/session")).json()["reauth_seconds_left"] == 0
        # and the server agrees: the export needs a new re-authentication
        assert_problem(await admin.get("/api/v1/admin/audit"), 403, "reauth_required")
