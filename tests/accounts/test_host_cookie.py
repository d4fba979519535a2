"""Issue 20: over HTTPS the session cookie carries the ``__Host-`` prefix (Secure, Path=/, no
Domain), and only that cookie is read; plain http (development, tests) keeps ``erdv_session``."""

from __future__ import annotations

from fastapi import FastAPI

from tests.factories import People, new_client

SESSION_COOKIE = "erdv_session"
SECURE_SESSION_COOKIE = "__Host-erdv_session"


async def test_over_https_the_session_cookie_is_a_host_cookie(app: FastAPI, people: People) -> None:
    person = await people.signed_in()
    person.client = new_client(app, base_url="https://testserver")
    people.clients.append(person.client)
    login = await person.login()
    assert login.status_code == 200, login.text
    header = next(
        v for v in login.headers.get_list("set-cookie") if v.startswith(SECURE_SESSION_COOKIE)
    )
    attributes = [part.strip() for part in header.split(";")]
    assert "Secure" in attributes
    assert "Path=/" in attributes
    assert "HttpOnly" in attributes
    assert not any(a.lower().startswith("domain=") for a in attributes)
    verified = await person.verify_mfa()
    assert verified.status_code == 200, verified.text
    assert (await person.get("/api/v1/auth/session")).status_code == 200
    assert person.client.cookies.get(SESSION_COOKIE) is None

    # a plain-named cookie (one planted over http, say) is not a session over HTTPS
    token = person.client.cookies.get(SECURE_SESSION_COOKIE)
    planted = new_client(app, base_url="https://testserver")
    people.clients.append(planted)
    planted.cookies.set(SESSION_COOKIE, token or "", domain="testserver.local")
    assert (await planted.get("/api/v1/auth/session")).status_code == 401

    logout = await person.post("/api/v1/auth/logout")
    assert logout.status_code == 204
    assert any(
        v.startswith(f"{SECURE_SESSION_COOKIE}=") for v in logout.headers.get_list("set-cookie")
    )


async def test_plain_http_keeps_the_plain_name(people: People) -> None:
    person = await people.signed_in()
    assert person.client.cookies.get(SESSION_COOKIE)
    assert person.client.cookies.get(SECURE_SESSION_COOKIE) is None
