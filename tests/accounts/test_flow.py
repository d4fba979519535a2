"""The whole browser flow through HTTP, with cookies and CSRF (issue 4, "Done when")."""

from __future__ import annotations

from xml.etree import ElementTree

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from app.accounts.repository import session_table
from tests.factories import People, mail_token, outbox
from tests.helpers.problems import assert_problem


async def test_whole_flow_register_verify_login_enrol_logout_login(people: People) -> None:
    patient = await people.registered(role="patient")
    login = await patient.login()
    assert login.status_code == 200
    assert login.json()["next"] == "mfa_setup"
    # partial session: the session endpoint says not authenticated
    assert_problem(await patient.get("/api/v1/auth/session"), 401, "not_authenticated")

    setup = await patient.post("/api/v1/auth/mfa/totp/setup")
    assert setup.status_code == 200
    body = setup.json()
    assert body["otpauth_uri"].startswith("otpauth://totp/erdv:")
    assert f"secret={body['secret']}" in body["otpauth_uri"]
    assert body["qr_svg"].startswith("<svg")
    # a standalone SVG document: a browser draws it as an <img> only in the SVG namespace (the
    # browser test decodes the picture chromium drew)
    svg = ElementTree.fromstring(body["qr_svg"])  # noqa: S314 - our own server's answer
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    patient.totp_secret = body["secret"]
    activated = await patient.post("/api/v1/auth/mfa/totp/activate", json={"code": patient.code()})
    assert activated.status_code == 200, activated.text
    codes = activated.json()["recovery_codes"]
    assert len(codes) == 10
    assert len(set(codes)) == 10
    assert all(len(c.replace("-", "")) * 5 >= 80 for c in codes)
    patient.csrf_token = activated.json()["csrf_token"]

    info = await patient.get("/api/v1/auth/session")
    assert info.status_code == 200
    assert info.json()["account"]["email"] == patient.email
    assert info.json()["mfa"] is True
    assert info.json()["csrf_token"] == patient.csrf_token

    assert (await patient.post("/api/v1/auth/logout")).status_code == 204
    assert_problem(await patient.get("/api/v1/auth/session"), 401, "not_authenticated")

    # a later login: password, then a code
    login = await patient.login()
    assert login.json()["next"] == "mfa"
    verified = await patient.verify_mfa()
    assert verified.status_code == 200, verified.text
    assert verified.json()["account"]["role"] == "patient"
    sessions = await patient.get("/api/v1/me/sessions")
    assert sessions.status_code == 200
    assert [s["current"] for s in sessions.json()] == [True]


async def test_login_with_a_recovery_code(people: People) -> None:
    patient = await people.signed_in()
    await patient.post("/api/v1/auth/logout")
    await patient.login()
    code = patient.recovery_codes[0]
    ok = await patient.post("/api/v1/auth/mfa/verify", json={"recovery_code": code})
    assert ok.status_code == 200, ok.text
    patient.csrf_token = ok.json()["csrf_token"]
    await patient.post("/api/v1/auth/logout")
    await patient.login()
    again = await patient.post("/api/v1/auth/mfa/verify", json={"recovery_code": code})
    assert_problem(again, 400, "invalid_code")


async def test_registration_answers_alike_for_a_taken_email(people: People) -> None:
    first = await people.registered()
    other = await people.anonymous()
    response = await other.client.post(
        "/api/v1/auth/register",
        json={
            "email": first.email,
            "password": "Another-Quiet-Harbor-77",
            "full_name": "X Y",
            "role": "patient",
        },
    )
    assert response.status_code == 202
    assert response.json() == {"status": "check_email"}
    subjects = [m["Subject"] for m in outbox(people.settings) if m["To"] == first.email]
    # French, the default language, for the first mail and for the account's holder after it
    assert subjects == ["Confirmez votre adresse e-mail", "Votre compte erdv"]


async def test_verification_token_is_single_use(people: People) -> None:
    person = await people.registered(verify=False)
    assert_problem(await person.login(), 403, "email_not_verified")
    token = mail_token(people.settings, person.email, "verify-email")
    assert (
        await person.client.post("/api/v1/auth/verify-email", json={"token": token})
    ).status_code == 200
    again = await person.client.post("/api/v1/auth/verify-email", json={"token": token})
    assert_problem(again, 400, "invalid_token")
    assert (await person.login()).status_code == 200


async def test_cookie_flags(people: People) -> None:
    person = await people.registered()
    response = await person.login()
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("erdv_session=")
    lowered = cookie.lower()
    assert "httponly" in lowered
    assert "samesite=lax" in lowered
    assert "path=/" in lowered
    assert "secure" not in lowered  # plain HTTP in development

    https = people.client()
    https.base_url = "https://testserver"
    secure = await https.post(
        "/api/v1/auth/login", json={"email": person.email, "password": person.password}
    )
    assert "secure" in secure.headers["set-cookie"].lower()


async def test_session_id_changes_at_login_and_mfa_and_logout_kills_it(
    people: People, engine: AsyncEngine
) -> None:
    patient = await people.signed_in()
    await patient.post("/api/v1/auth/logout")
    await patient.login()
    partial = patient.session_cookie
    assert partial
    await patient.verify_mfa()
    full = patient.session_cookie
    assert full
    assert full != partial
    # the partial token no longer works
    stale = people.client()
    stale.cookies.set("erdv_session", partial, domain="testserver.local")
    assert_problem(await stale.get("/api/v1/auth/session"), 401, "not_authenticated")

    # a new login replaces the session (and its id) again
    again = people.client()
    again.cookies.set("erdv_session", full, domain="testserver.local")
    relog = await again.post(
        "/api/v1/auth/login", json={"email": patient.email, "password": patient.password}
    )
    assert relog.status_code == 200
    assert again.cookies.get("erdv_session") != full
    assert_problem(await patient.get("/api/v1/auth/session"), 401, "not_authenticated")

    await patient.login()
    await patient.verify_mfa()
    assert (await patient.get("/api/v1/auth/session")).status_code == 200
    kept = patient.session_cookie
    assert (await patient.post("/api/v1/auth/logout")).status_code == 204
    # server-side: replaying the cookie after logout fails, and the row is gone
    replay = people.client()
    replay.cookies.set("erdv_session", kept or "", domain="testserver.local")
    assert_problem(await replay.get("/api/v1/me/sessions"), 401, "not_authenticated")
    async with engine.connect() as connection:
        rows = (
            await connection.execute(sa.select(sa.func.count()).select_from(session_table))
        ).scalar_one()
    assert rows == 1  # only the `again` client's partial session remains


async def test_sessions_list_and_end_one(people: People) -> None:
    patient = await people.signed_in()
    other_device = people.client()
    login = await other_device.post(
        "/api/v1/auth/login", json={"email": patient.email, "password": patient.password}
    )
    csrf = login.json()["csrf_token"]
    done = await other_device.post(
        "/api/v1/auth/mfa/verify", json={"code": patient.code()}, headers={"X-CSRF-Token": csrf}
    )
    assert done.status_code == 200
    sessions = (await patient.get("/api/v1/me/sessions")).json()
    assert len(sessions) == 2
    other = next(s for s in sessions if not s["current"])
    stranger = await people.signed_in()
    assert_problem(await stranger.delete(f"/api/v1/me/sessions/{other['id']}"), 404, "not_found")
    assert (await patient.delete(f"/api/v1/me/sessions/{other['id']}")).status_code == 204
    assert_problem(await other_device.get("/api/v1/auth/session"), 401, "not_authenticated")


async def test_idle_and_absolute_timeouts(people: People) -> None:
    from datetime import timedelta

    from app.core import clock

    with clock.frozen(clock.now()) as frozen:
        patient = await people.signed_in()
        frozen.advance(timedelta(minutes=29))
        assert (await patient.get("/api/v1/auth/session")).status_code == 200
        frozen.advance(timedelta(minutes=31))
        assert_problem(await patient.get("/api/v1/auth/session"), 401, "not_authenticated")

        practitioner = await people.signed_in(role="practitioner")
        frozen.advance(timedelta(minutes=16))
        assert_problem(await practitioner.get("/api/v1/auth/session"), 401, "not_authenticated")

        patient.last_step = 0
        await patient.sign_in()
        alive = 0
        for _ in range(12 * 3 + 2):  # active every 20 minutes, never idle
            frozen.advance(timedelta(minutes=20))
            if (await patient.get("/api/v1/auth/session")).status_code != 200:
                break
            alive += 1
        assert alive == 36  # 12 hours, not one step more
