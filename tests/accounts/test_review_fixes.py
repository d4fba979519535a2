"""Regressions from the security review of the authentication code (each a bypass or a leak)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core import clock
from app.core.settings import Settings
from app.throttle.service import Policies
from tests.factories import People
from tests.helpers.problems import assert_problem


async def test_a_stale_setup_session_cannot_replace_the_authenticator(people: People) -> None:
    """An attacker who logged in with the password before the owner enrolled must not be able to
    enrol their own authenticator afterwards (that would bypass the second factor)."""
    owner = await people.registered()
    attacker = dataclasses.replace(owner, client=people.client(), csrf_token="")
    assert (await attacker.login()).json()["next"] == "mfa_setup"
    await owner.login()
    await owner.enrol_totp()  # the owner's authenticator is now the one

    assert_problem(await attacker.post("/api/v1/auth/mfa/totp/setup"), 401, "not_authenticated")
    activate = await attacker.post("/api/v1/auth/mfa/totp/activate", json={"code": "123456"})
    assert activate.status_code == 401
    # the owner's authenticator still works
    assert (await owner.get("/api/v1/auth/session")).status_code == 200


async def test_enrolment_in_a_half_open_session_is_refused(people: People) -> None:
    """Both sessions were opened before enrolment; once one enrols, the other cannot."""
    owner = await people.registered()
    other = dataclasses.replace(owner, client=people.client(), csrf_token="")
    await owner.login()
    await other.login()
    await owner.enrol_totp()
    response = await other.post("/api/v1/auth/mfa/totp/setup")
    assert response.status_code == 401
    assert response.json()["code"] in {"mfa_required", "not_authenticated"}


async def test_parallel_wrong_passwords_are_all_counted(people: People, settings: Settings) -> None:
    """A burst of parallel guesses cannot all pass the check before any failure is counted."""
    person = await people.signed_in(role="patient")
    free = settings.throttle_account_free_failures
    clients = [people.client(ip=f"198.51.100.{i}") for i in range(1, 21)]

    async def guess(client: httpx.AsyncClient) -> int:
        response = await client.post(
            "/api/v1/auth/login", json={"email": person.email, "password": "wrong-" * 3}
        )
        return response.status_code

    statuses = await asyncio.gather(*(guess(c) for c in clients))
    assert statuses.count(401) <= free + 1, statuses
    assert statuses.count(429) >= len(clients) - free - 1


def test_the_mfa_policy_has_a_hard_stop(settings: Settings) -> None:
    policy = Policies.from_settings(settings).mfa
    assert policy.hard_limit is not None
    assert policy.hard_limit < 100
    assert policy.delay(policy.hard_limit) == policy.window  # blocked for the whole window
    assert policy.delay(policy.hard_limit - 1) <= policy.max_delay


async def _evaluated_until_the_hard_stop(
    call: Callable[[], Awaitable[httpx.Response]], settings: Settings, frozen: Any
) -> int:
    """How many wrong codes ``call`` gets evaluated (400) before a 429 longer than any growing
    delay, waiting out each shorter one on the frozen clock."""
    tried = 0
    for _ in range(4 * settings.throttle_mfa_hard_limit):
        response = await call()
        if response.status_code == 429:
            wait = int(response.headers["Retry-After"])
            if wait > settings.throttle_max_delay_seconds:
                return tried  # the hard stop
            frozen.advance(timedelta(seconds=wait + 1))
            continue
        assert response.status_code == 400, response.text
        tried += 1
    pytest.fail("no hard stop reached")


async def test_wrong_codes_stop_at_the_hard_limit(people: People, settings: Settings) -> None:
    person = await people.registered()
    await person.login()
    await person.enrol_totp()
    await person.client.post("/api/v1/auth/logout", headers=person.headers())
    await person.login()
    with clock.frozen(datetime.now(UTC)) as frozen:

        async def wrong_code() -> httpx.Response:
            return await person.post("/api/v1/auth/mfa/verify", json={"code": "000000"})

        tried = await _evaluated_until_the_hard_stop(wrong_code, settings, frozen)
    assert tried == settings.throttle_mfa_hard_limit


async def test_wrong_codes_at_reauth_stop_at_the_hard_limit(
    people: People, settings: Settings
) -> None:
    """Issue 20: /reauth evaluated 40 wrong codes where /mfa/verify stops at 20."""
    with clock.frozen(datetime.now(UTC)) as frozen:
        person = await people.signed_in()  # a patient: 30 min idle, longer than any delay

        async def wrong_code() -> httpx.Response:
            wrong = {"password": person.password, "code": "000000"}
            return await person.post("/api/v1/auth/reauth", json=wrong)

        tried = await _evaluated_until_the_hard_stop(wrong_code, settings, frozen)
    assert tried == settings.throttle_mfa_hard_limit


def test_sql_parameters_never_reach_error_messages(engine: AsyncEngine) -> None:
    assert engine.sync_engine.hide_parameters is True


async def test_registration_is_rate_limited_per_address(people: People, settings: Settings) -> None:
    client = people.client(ip="203.0.113.7")
    statuses = []
    for i in range(settings.throttle_ip_free_failures + 2):
        response = await client.post(
            "/api/v1/auth/register",
            json={
                "email": f"someone-{i}@example.test",
                "password": "Velvet-Otter-Quarry-91",
                "full_name": "Some One",
                "role": "patient",
            },
        )
        statuses.append(response.status_code)
    assert (
        statuses[: settings.throttle_ip_free_failures] == [202] * settings.throttle_ip_free_failures
    )
    assert statuses[-1] == 429
    other = people.client(ip="203.0.113.8")
    fresh = await other.post(
        "/api/v1/auth/register",
        json={
            "email": "another@example.test",
            "password": "Velvet-Otter-Quarry-91",
            "full_name": "An Other",
            "role": "patient",
        },
    )
    assert fresh.status_code == 202


def test_ipv6_clients_are_throttled_by_their_64() -> None:
    from app.accounts.views import network_of

    assert network_of("2001:db8:1:2:aaaa::1") == network_of("2001:db8:1:2:bbbb::2")
    assert network_of("2001:db8:1:3::1") != network_of("2001:db8:1:2::1")
    assert network_of("192.0.2.1") == "192.0.2.1"
    assert network_of(None) == network_of("not an ip") == "unknown"
