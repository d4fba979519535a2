"""Login hardening: throttling, durable failure records, no enumeration, argon2id (issue 4)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from app.accounts.repository import account_table
from app.audit.repository import entry_table
from app.core import clock
from app.core.settings import Settings
from app.main import create_app
from app.throttle.models import ThrottleState
from tests.factories import People
from tests.helpers.lifespan import lifespan
from tests.helpers.problems import assert_problem

throttle_table = ThrottleState.__table__  # type: ignore[attr-defined]


async def audit_rows(engine: AsyncEngine, action: str) -> list[dict[str, object]]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            sa.select(entry_table).where(entry_table.c.action == action).order_by(entry_table.c.seq)
        )
        return [dict(r._mapping) for r in rows]


async def test_sixth_wrong_password_is_throttled_and_another_ip_gets_in_after_the_delay(
    people: People, engine: AsyncEngine
) -> None:
    with clock.frozen(clock.now()) as frozen:
        victim = await people.signed_in()
        attacker = people.client(ip="203.0.113.9")
        wrong = {"email": victim.email, "password": "not-the-password-at-all"}
        for _ in range(5):
            assert_problem(
                await attacker.post("/api/v1/auth/login", json=wrong), 401, "invalid_credentials"
            )
        sixth = await attacker.post("/api/v1/auth/login", json=wrong)
        assert_problem(sixth, 429, "rate_limited")
        retry_after = int(sixth.headers["Retry-After"])
        assert retry_after > 0
        # even the right password waits while the account is held: a delay, not a verdict
        held = await attacker.post(
            "/api/v1/auth/login", json={"email": victim.email, "password": victim.password}
        )
        assert_problem(held, 429, "rate_limited")

        frozen.advance(timedelta(seconds=retry_after + 1))
        home = people.client(ip="198.51.100.7")
        ok = await home.post(
            "/api/v1/auth/login", json={"email": victim.email, "password": victim.password}
        )
        assert ok.status_code == 200, ok.text

    failed = await audit_rows(engine, "auth.login_failed")
    assert len(failed) == 5
    assert {row["subject_id"] for row in failed} == {victim.account_id}
    assert {row["outcome"] for row in failed} == {"failure"}
    assert all(victim.email not in str(row) for row in failed)
    throttled = await audit_rows(engine, "auth.throttled")
    assert len(throttled) == 2


async def test_delays_grow_and_never_lock_for_good(people: People) -> None:
    with clock.frozen(clock.now()) as frozen:
        victim = await people.registered()
        attacker = people.client(ip="203.0.113.10")
        wrong = {"email": victim.email, "password": "still-not-the-password"}
        delays = []
        for _ in range(5):
            await attacker.post("/api/v1/auth/login", json=wrong)
        for _ in range(8):
            blocked = await attacker.post("/api/v1/auth/login", json=wrong)
            assert blocked.status_code == 429
            delays.append(int(blocked.headers["Retry-After"]))
            frozen.advance(timedelta(seconds=delays[-1]))
            assert (await attacker.post("/api/v1/auth/login", json=wrong)).status_code == 401
        assert delays == sorted(delays)
        assert delays[0] < delays[-1] <= 900  # capped at 15 minutes
        frozen.advance(timedelta(seconds=901))
        ok = await people.client().post(
            "/api/v1/auth/login", json={"email": victim.email, "password": victim.password}
        )
        assert ok.status_code == 200


async def test_failed_logins_are_committed_although_the_request_failed(
    people: People, engine: AsyncEngine
) -> None:
    """The classic bug: a 401 rolls the request back, and the counter and audit entry with it."""
    stranger = people.client(ip="192.0.2.44")
    response = await stranger.post(
        "/api/v1/auth/login", json={"email": "nobody@example.test", "password": "whatever-it-is"}
    )
    assert_problem(response, 401, "invalid_credentials")
    async with engine.connect() as connection:
        states = (await connection.execute(sa.select(throttle_table))).all()
    assert {s.key.split(":")[0] + ":" + s.key.split(":")[1] for s in states} == {
        "password:email",
        "login:ip",
    }
    assert all(s.failures == 1 for s in states)
    assert all("nobody" not in s.key for s in states)
    failed = await audit_rows(engine, "auth.login_failed")
    assert len(failed) == 1
    assert failed[0]["ip"] == "192.0.2.44"
    assert failed[0]["subject_id"] is None


async def test_wrong_code_failures_are_recorded_and_throttled(
    people: People, engine: AsyncEngine
) -> None:
    with clock.frozen(clock.now()):
        patient = await people.signed_in()
        await patient.post("/api/v1/auth/logout")
        await patient.login()
        for _ in range(5):
            assert_problem(
                await patient.post("/api/v1/auth/mfa/verify", json={"code": "000000"}),
                400,
                "invalid_code",
            )
        blocked = await patient.post("/api/v1/auth/mfa/verify", json={"code": patient.code()})
        assert_problem(blocked, 429, "rate_limited")
        assert "Retry-After" in blocked.headers
    assert len(await audit_rows(engine, "auth.mfa_failed")) == 5


async def test_hashes_are_argon2id_and_old_parameters_are_upgraded_at_login(
    full_cost_settings: Settings, engine: AsyncEngine
) -> None:
    cheap = full_cost_settings.model_copy(update={"argon2_memory_kib": 1024, "argon2_time_cost": 1})
    app = create_app(cheap)
    async with lifespan(app):
        people = People(app, cheap)
        person = await people.registered()
        await people.aclose()

    async def stored() -> str:
        async with engine.connect() as connection:
            return str(
                (
                    await connection.execute(
                        sa.select(account_table.c.password_hash).where(
                            account_table.c.email == person.email
                        )
                    )
                ).scalar_one()
            )

    before = await stored()
    assert before.startswith("$argon2id$v=19$m=1024,t=1,p=1$")

    app = create_app(full_cost_settings)
    async with lifespan(app):
        people = People(app, full_cost_settings)
        person.client = people.client()
        assert (await person.login()).status_code == 200
        await people.aclose()
    after = await stored()
    assert after.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert after != before
