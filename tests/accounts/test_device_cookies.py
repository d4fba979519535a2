"""Issue 20, item 4: a known email cannot be kept locked out. Device cookies (OWASP, "Slow Down
Online Guessing Attacks with Device Cookies"): a browser that completed a login for the account
keeps its own allowance; untrusted browsers are throttled as before; a device cookie that fails
too often is locked out itself."""

from __future__ import annotations

from datetime import timedelta

import httpx

from app.accounts.devices import DEVICE_COOKIE, DEVICE_COOKIE_PATH
from app.core import clock
from tests.factories import People, Person
from tests.helpers.problems import assert_problem

WRONG = "not-the-password-at-all"


async def _hold_the_account(people: People, victim: Person, *, path: str = "login") -> None:
    """What an attacker who knows only the email does: enough attempts to get it held."""
    attacker = people.client(ip="203.0.113.9")
    for _ in range(6):
        if path == "login":
            await attacker.post(
                "/api/v1/auth/login", json={"email": victim.email, "password": WRONG}
            )
        else:
            await attacker.post("/api/v1/auth/password/forgot", json={"email": victim.email})
    if path == "login":
        right = {"email": victim.email, "password": victim.password}
        held = await people.client(ip="198.51.100.30").post("/api/v1/auth/login", json=right)
    else:
        held = await people.client(ip="198.51.100.30").post(
            "/api/v1/auth/password/forgot", json={"email": victim.email}
        )
    assert_problem(held, 429, "rate_limited")  # an untrusted browser is held, as before


def _device_cookie(person: Person) -> str:
    value = person.client.cookies.get(DEVICE_COOKIE, path=DEVICE_COOKIE_PATH)
    assert value, "a completed login leaves a device cookie"
    return value


async def test_a_trusted_browser_logs_in_while_the_account_is_held(people: People) -> None:
    with clock.frozen(clock.now()) as frozen:
        victim = await people.signed_in()
        _device_cookie(victim)
        await victim.post("/api/v1/auth/logout")
        await _hold_the_account(people, victim)
        frozen.advance(timedelta(seconds=31))
        again = await victim.login()
        assert again.status_code == 200, again.text
        # and a wrong password from it is counted on the device, not answered 429
        wrong = await victim.client.post(
            "/api/v1/auth/login", json={"email": victim.email, "password": WRONG}
        )
        assert_problem(wrong, 401, "invalid_credentials")


async def test_the_cookie_is_bound_to_its_account_and_cannot_be_forged(people: People) -> None:
    with clock.frozen(clock.now()):
        alice = await people.signed_in()
        bob = await people.signed_in()
        alices_cookie = _device_cookie(alice)
        await _hold_the_account(people, bob)
        right = {"email": bob.email, "password": bob.password}
        for cookie in (
            alices_cookie,  # another account's device
            alices_cookie[:-2] + ("AA" if not alices_cookie.endswith("AA") else "BB"),  # altered
            "x" * 2000,  # garbage
            "no.token~..~" * 10,  # malformed
        ):
            browser = people.client(ip="198.51.100.40")
            browser.cookies.set(DEVICE_COOKIE, cookie, path=DEVICE_COOKIE_PATH)
            assert_problem(
                await browser.post("/api/v1/auth/login", json=right), 429, "rate_limited"
            )


async def test_a_device_cookie_that_fails_too_often_is_locked_out(people: People) -> None:
    with clock.frozen(clock.now()):
        victim = await people.signed_in()
        await victim.post("/api/v1/auth/logout")
        await _hold_the_account(people, victim)
        for _ in range(5):  # the device's own free failures
            wrong = await victim.client.post(
                "/api/v1/auth/login", json={"email": victim.email, "password": WRONG}
            )
            assert_problem(wrong, 401, "invalid_credentials")
        # locked out: the cookie counts as none, and the untrusted path is held
        assert_problem(await victim.login(), 429, "rate_limited")


async def test_a_trusted_browser_may_ask_for_a_reset_link_while_the_email_is_held(
    people: People,
) -> None:
    with clock.frozen(clock.now()):
        victim = await people.signed_in()
        await _hold_the_account(people, victim, path="forgot")
        answer = await victim.client.post(
            "/api/v1/auth/password/forgot", json={"email": victim.email}
        )
        assert answer.status_code == 202, answer.text


async def test_a_signed_in_person_can_reauthenticate_while_the_account_is_held(
    people: People,
) -> None:
    with clock.frozen(clock.now()):
        admin = await people.signed_in(role="admin")
        await _hold_the_account(people, admin)
        assert (await admin.reauth()).status_code == 204


async def test_the_device_cookie_is_http_only_and_only_sent_to_the_login_steps(
    people: People, client: httpx.AsyncClient
) -> None:
    person = await people.signed_in()
    login = await person.login()
    verified = await person.verify_mfa()
    assert login.status_code == verified.status_code == 200
    header = next(
        value
        for value in verified.headers.get_list("set-cookie")
        if value.startswith(DEVICE_COOKIE + "=")
    )
    attributes = {part.strip().split("=")[0].lower() for part in header.split(";")}
    assert {"httponly", "path", "max-age"} <= attributes
    assert f"Path={DEVICE_COOKIE_PATH}" in header
