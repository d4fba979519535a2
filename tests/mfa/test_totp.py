"""TOTP: one use per code, atomically; seeds, tokens and codes never in clear (SECURITY.md "MFA")."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core import clock
from app.core.db import metadata
from app.mfa.service import current_step, totp_code
from tests.factories import People, mail_token
from tests.helpers.problems import assert_problem


async def test_same_code_twice_is_refused(people: People) -> None:
    with clock.frozen(clock.now()):
        patient = await people.signed_in()
        await patient.post("/api/v1/auth/logout")
        await patient.login()
        code = patient.code()
        assert (await patient.verify_mfa(code)).status_code == 200
        await patient.post("/api/v1/auth/logout")
        await patient.login()
        assert_problem(await patient.verify_mfa(code), 400, "invalid_code")
        # an older code of the window is refused too once a later step was used
        older = totp_code(patient.totp_secret, current_step() - 1)
        assert_problem(await patient.verify_mfa(older), 400, "invalid_code")


async def test_two_parallel_requests_with_one_code_exactly_one_succeeds(people: People) -> None:
    with clock.frozen(clock.now()):
        patient = await people.signed_in()
        await patient.post("/api/v1/auth/logout")
        tabs = []
        for _ in range(2):
            tab = people.client()
            login = await tab.post(
                "/api/v1/auth/login", json={"email": patient.email, "password": patient.password}
            )
            tabs.append((tab, login.json()["csrf_token"]))
        code = patient.code()
        responses = await asyncio.gather(
            *(
                tab.post(
                    "/api/v1/auth/mfa/verify", json={"code": code}, headers={"X-CSRF-Token": csrf}
                )
                for tab, csrf in tabs
            )
        )
        assert sorted(r.status_code for r in responses) == [200, 400]


async def test_parallel_recovery_code_use_exactly_one_succeeds(people: People) -> None:
    patient = await people.signed_in()
    await patient.post("/api/v1/auth/logout")
    tabs = []
    for _ in range(3):
        tab = people.client()
        login = await tab.post(
            "/api/v1/auth/login", json={"email": patient.email, "password": patient.password}
        )
        tabs.append((tab, login.json()["csrf_token"]))
    code = patient.recovery_codes[3].lower()  # case and dashes do not matter
    responses = await asyncio.gather(
        *(
            tab.post(
                "/api/v1/auth/mfa/verify",
                json={"recovery_code": code},
                headers={"X-CSRF-Token": csrf},
            )
            for tab, csrf in tabs
        )
    )
    assert sorted(r.status_code for r in responses) == [200, 400, 400]


async def test_activation_needs_a_valid_code(people: People) -> None:
    person = await people.registered()
    await person.login()
    setup = await person.post("/api/v1/auth/mfa/totp/setup")
    secret = setup.json()["secret"]
    assert_problem(
        await person.post("/api/v1/auth/mfa/totp/activate", json={"code": "123456"}),
        400,
        "invalid_code",
    )
    ok = await person.post(
        "/api/v1/auth/mfa/totp/activate", json={"code": totp_code(secret, current_step())}
    )
    assert ok.status_code == 200


async def test_no_table_holds_a_seed_token_or_code_in_clear(
    people: People, engine: AsyncEngine
) -> None:
    patient = await people.signed_in()
    verify_token = mail_token(people.settings, patient.email, "verify-email")
    await people.client().post("/api/v1/auth/password/forgot", json={"email": patient.email})
    reset_token = mail_token(people.settings, patient.email, "reset-password")
    secrets_in_clear = {
        "totp seed": patient.totp_secret,
        "session token": patient.session_cookie or "",
        "csrf token": patient.csrf_token,
        "verification token": verify_token,
        "reset token": reset_token,
        "password": patient.password,
    }
    for index, code in enumerate(patient.recovery_codes):
        secrets_in_clear[f"recovery code {index}"] = code
        secrets_in_clear[f"recovery code {index} bare"] = code.replace("-", "")
    assert all(len(v) >= 12 for v in secrets_in_clear.values())

    found: list[str] = []
    async with engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in (await connection.execute(sa.select(table))).all():
                for column, value in row._mapping.items():
                    text = str(value).lower()
                    for name, secret in secrets_in_clear.items():
                        if secret.lower() in text:
                            found.append(f"{table.name}.{column} holds the {name}")
    assert found == []
