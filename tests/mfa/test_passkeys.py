"""Passkeys (WebAuthn) as second factor and as a whole sign-in (docs/security.md "MFA").

The authenticator is ``tests/helpers/webauthn.py``'s ``SoftPasskey`` (``soft-webauthn``'s device,
answering in WebAuthn's JSON forms with user verification). The relying party is the test app's
``ERDV_PUBLIC_URL``, ``http://testserver``: RP id ``testserver``, that origin only.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from app.audit.models import AuditEntry
from app.core import clock
from app.core.repository import table_of
from app.mfa.models import Passkey, TotpCredential, WebauthnChallenge
from tests.factories import People, Person, outbox
from tests.helpers.problems import assert_problem
from tests.helpers.webauthn import SoftPasskey, b64url

entry_table = table_of(AuditEntry)


@pytest.fixture
def frozen() -> Iterator[clock.FrozenClock]:
    """A frozen clock moved 30 s before each TOTP code (``Person.code`` needs a new step)."""
    with clock.frozen(clock.now()) as at:
        yield at


async def audit_rows(engine: AsyncEngine, action: str) -> list[dict[str, Any]]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            sa.select(entry_table).where(entry_table.c.action == action).order_by(entry_table.c.seq)
        )
        found = [dict(r._mapping) for r in rows]
    for row in found:  # details are stored as canonical JSON text
        if isinstance(row["details"], str):
            row["details"] = json.loads(row["details"])
    return found


async def reauth(person: Person, frozen: clock.FrozenClock) -> None:
    frozen.advance(timedelta(seconds=30))
    assert (await person.reauth()).status_code == 204


async def add_passkey(
    person: Person, frozen: clock.FrozenClock, name: str | None = "Phone"
) -> tuple[SoftPasskey, dict[str, Any]]:
    """Re-authenticate, then register a new software passkey: the device and its row."""
    await reauth(person, frozen)
    options = await person.post("/api/v1/auth/passkeys/options")
    assert options.status_code == 200, options.text
    device = SoftPasskey()
    body: dict[str, Any] = {"credential": device.create_json(options.json())}
    if name is not None:
        body["name"] = name
    created = await person.post("/api/v1/auth/passkeys", json=body)
    assert created.status_code == 201, created.text
    return device, created.json()


async def passkey_second_factor(person: Person, device: SoftPasskey, **kw: Any) -> httpx.Response:
    """From a partial session: options, then the device's answer."""
    options = await person.post("/api/v1/auth/mfa/passkey/options")
    assert options.status_code == 200, options.text
    answer = await person.post(
        "/api/v1/auth/mfa/passkey", json={"credential": device.get_json(options.json(), **kw)}
    )
    if answer.status_code == 200:
        person.csrf_token = answer.json()["csrf_token"]
    return answer


async def sign_in_options(client: httpx.AsyncClient) -> dict[str, Any]:
    options = await client.post("/api/v1/auth/passkey/options")
    assert options.status_code == 200, options.text
    assert options.json()["allowCredentials"] == []
    return dict(options.json())


def subjects(people: People, person: Person) -> list[str]:
    return [str(m["Subject"]) for m in outbox(people.settings) if m["To"] == person.email]


async def test_register_needs_a_recent_reauth_and_lists_the_passkey(
    people: People, engine: AsyncEngine, frozen: clock.FrozenClock
) -> None:
    patient = await people.signed_in()
    frozen.advance(timedelta(minutes=11))
    assert_problem(await patient.post("/api/v1/auth/passkeys/options"), 403, "reauth_required")

    await reauth(patient, frozen)
    options = (await patient.post("/api/v1/auth/passkeys/options")).json()
    # WebAuthn's JSON form; the RP is ERDV_PUBLIC_URL's host; UV required, attestation none
    assert options["rp"] == {"id": "testserver", "name": "erdv"}
    assert options["user"]["id"] == b64url(uuid.UUID(patient.account_id).bytes)
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["attestation"] == "none"
    assert options["excludeCredentials"] == []
    device = SoftPasskey()
    created = await patient.post(
        "/api/v1/auth/passkeys",
        json={"credential": device.create_json(options), "name": "  Phone   of Camille "},
    )
    assert created.status_code == 201, created.text
    passkey = created.json()
    assert passkey["name"] == "Phone of Camille"
    assert passkey["transports"] == ["internal"]
    assert passkey["last_used_at"] is None

    listed = await patient.get("/api/v1/me/passkeys")
    assert listed.status_code == 200
    assert [p["id"] for p in listed.json()] == [passkey["id"]]
    # the next registration excludes it, so one authenticator is not registered twice
    again = (await patient.post("/api/v1/auth/passkeys/options")).json()
    assert [c["id"] for c in again["excludeCredentials"]] == [b64url(device.credential_id)]

    (added,) = await audit_rows(engine, "auth.passkey_added")
    assert added["object_id"] == passkey["id"]
    assert "Une clé d'accès a été ajoutée à votre compte erdv" in subjects(people, patient)
    async with engine.connect() as connection:
        row = (await connection.execute(sa.select(table_of(Passkey)))).one()
    assert row.credential_id == b64url(device.credential_id)
    assert row.sign_count == 0


async def test_a_registration_answer_is_checked(
    people: People, engine: AsyncEngine, frozen: clock.FrozenClock
) -> None:
    patient = await people.signed_in()
    await reauth(patient, frozen)
    options = (await patient.post("/api/v1/auth/passkeys/options")).json()
    cases = {
        "another origin": SoftPasskey().create_json(options, origin="https://evil.test"),
        "another rp id": SoftPasskey().create_json(options, rp_id="evil.test"),
        "no user verification": SoftPasskey(user_verified=False).create_json(options),
    }
    for case, credential in cases.items():
        response = await patient.post("/api/v1/auth/passkeys", json={"credential": credential})
        assert response.status_code == 400, case
    # each bad answer spent the challenge: even a good answer to it is now refused
    late = SoftPasskey().create_json(options)
    assert_problem(
        await patient.post("/api/v1/auth/passkeys", json={"credential": late}),
        400,
        "invalid_passkey",
    )
    assert (await patient.get("/api/v1/me/passkeys")).json() == []
    failed = await audit_rows(engine, "auth.mfa_failed")
    assert [r["details"]["step"] for r in failed] == ["passkey_registration"] * 4


async def test_a_passkey_is_the_second_factor_after_the_password(
    people: People, engine: AsyncEngine, frozen: clock.FrozenClock
) -> None:
    patient = await people.signed_in()
    device, passkey = await add_passkey(patient, frozen)
    await patient.post("/api/v1/auth/logout")
    step = await patient.login()
    assert step.json()["next"] == "mfa"
    before = patient.session_cookie
    # a partial session reaches the passkey step but nothing else
    assert_problem(await patient.get("/api/v1/me/passkeys"), 401, "mfa_required")
    options = (await patient.post("/api/v1/auth/mfa/passkey/options")).json()
    assert options["rpId"] == "testserver"
    assert options["userVerification"] == "required"
    assert [c["id"] for c in options["allowCredentials"]] == [b64url(device.credential_id)]
    done = await patient.post(
        "/api/v1/auth/mfa/passkey", json={"credential": device.get_json(options)}
    )
    assert done.status_code == 200, done.text
    assert done.json()["account"]["email"] == patient.email
    patient.csrf_token = done.json()["csrf_token"]
    assert patient.session_cookie != before  # the session id rotated
    session = await patient.get("/api/v1/auth/session")
    assert session.status_code == 200
    assert session.json()["mfa"] is True
    (listed,) = (await patient.get("/api/v1/me/passkeys")).json()
    assert listed["last_used_at"] is not None
    factors = [r["details"]["factor"] for r in await audit_rows(engine, "auth.mfa_succeeded")]
    assert factors[-1] == "passkey"
    assert listed["id"] == passkey["id"]


async def test_a_discoverable_passkey_signs_in_without_the_password(
    people: People, engine: AsyncEngine, frozen: clock.FrozenClock
) -> None:
    patient = await people.signed_in()
    device, _ = await add_passkey(patient, frozen)
    browser = people.client()
    options = await sign_in_options(browser)
    assert browser.cookies.get("erdv_passkey")
    done = await browser.post("/api/v1/auth/passkey", json={"credential": device.get_json(options)})
    assert done.status_code == 200, done.text
    assert done.json()["account"]["id"] == patient.account_id
    session = await browser.get("/api/v1/auth/session")
    assert session.status_code == 200, session.text
    assert session.json()["mfa"] is True
    # a full session: an unsafe request with its CSRF token works
    renamed = await browser.patch(
        f"/api/v1/me/passkeys/{(await browser.get('/api/v1/me/passkeys')).json()[0]['id']}",
        json={"name": "Laptop"},
        headers={"X-CSRF-Token": done.json()["csrf_token"]},
    )
    assert renamed.status_code == 200, renamed.text
    (login,) = [
        r
        for r in await audit_rows(engine, "auth.login_succeeded")
        if r["details"].get("factor") == "passkey"
    ]
    assert login["subject_id"] == patient.account_id


async def test_a_replayed_assertion_is_refused(people: People, frozen: clock.FrozenClock) -> None:
    patient = await people.signed_in()
    device, _ = await add_passkey(patient, frozen)
    browser = people.client()
    answer = device.get_json(await sign_in_options(browser))
    assert (
        await browser.post("/api/v1/auth/passkey", json={"credential": answer})
    ).status_code == 200
    # the same answer again, from the same browser (its cookie is gone) or another one
    again = people.client()
    await sign_in_options(again)
    for client in (browser, again):
        assert_problem(
            await client.post("/api/v1/auth/passkey", json={"credential": answer}),
            400,
            "invalid_passkey",
        )
    # an answer made for another browser's challenge is refused too (bound to its cookie)
    other = people.client()
    stolen = device.get_json(await sign_in_options(other))
    thief = people.client()
    await sign_in_options(thief)
    assert_problem(
        await thief.post("/api/v1/auth/passkey", json={"credential": stolen}),
        400,
        "invalid_passkey",
    )
    # and a second factor's challenge serves no sign-in without password
    await patient.post("/api/v1/auth/logout")
    await patient.login()
    second = device.get_json((await patient.post("/api/v1/auth/mfa/passkey/options")).json())
    assert_problem(
        await patient.client.post("/api/v1/auth/passkey", json={"credential": second}),
        400,
        "invalid_passkey",
    )


async def test_another_origin_or_relying_party_is_refused(
    people: People, frozen: clock.FrozenClock
) -> None:
    patient = await people.signed_in()
    device, _ = await add_passkey(patient, frozen)
    for origin, rp_id in (
        ("https://evil.test", None),
        ("http://testserver:8443", None),
        (None, "evil.test"),
    ):
        browser = people.client()
        answer = device.get_json(await sign_in_options(browser), origin=origin, rp_id=rp_id)
        assert_problem(
            await browser.post("/api/v1/auth/passkey", json={"credential": answer}),
            400,
            "invalid_passkey",
        )
    await patient.post("/api/v1/auth/logout")
    await patient.login()
    assert_problem(
        await passkey_second_factor(patient, device, origin="https://evil.test"),
        400,
        "invalid_passkey",
    )


async def test_user_verification_is_required(people: People, frozen: clock.FrozenClock) -> None:
    patient = await people.signed_in()
    device, _ = await add_passkey(patient, frozen)
    device.user_verified = False
    browser = people.client()
    answer = device.get_json(await sign_in_options(browser))
    assert_problem(
        await browser.post("/api/v1/auth/passkey", json={"credential": answer}),
        400,
        "invalid_passkey",
    )


async def test_a_counter_that_goes_back_is_refused_and_audited(
    people: People, engine: AsyncEngine, frozen: clock.FrozenClock
) -> None:
    patient = await people.signed_in()
    device, _ = await add_passkey(patient, frozen)
    browser = people.client()
    answer = device.get_json(await sign_in_options(browser), counter=5)
    assert (
        await browser.post("/api/v1/auth/passkey", json={"credential": answer})
    ).status_code == 200
    for counter in (5, 3):  # the same counter, then a lower one: a copy of the key signs
        clone = people.client()
        answer = device.get_json(await sign_in_options(clone), counter=counter)
        assert_problem(
            await clone.post("/api/v1/auth/passkey", json={"credential": answer}),
            400,
            "invalid_passkey",
        )
    detected = await audit_rows(engine, "auth.passkey_clone_detected")
    assert [(r["details"]["stored_count"], r["details"]["seen_count"]) for r in detected] == [
        (5, 5),
        (5, 3),
    ]
    assert all(r["outcome"] == "denied" for r in detected)
    # as a second factor too
    await patient.post("/api/v1/auth/logout")
    await patient.login()
    assert_problem(await passkey_second_factor(patient, device, counter=4), 400, "invalid_passkey")
    assert len(await audit_rows(engine, "auth.passkey_clone_detected")) == 3
    # the holder is told of each refused copy, naming the passkey, although each request failed
    # (NIST SP 800-63B §6.1.2.1)
    refused = [
        m
        for m in outbox(people.settings)
        if m["To"] == patient.email and "copie de votre clé" in str(m["Subject"])
    ]
    assert len(refused) == 3
    body = refused[0].get_body(preferencelist=("plain",))
    assert body is not None
    assert "« Phone »" in body.get_content()
    # the real authenticator, further on, still works
    assert (await passkey_second_factor(patient, device, counter=6)).status_code == 200


async def test_counters_of_zero_on_both_sides_are_allowed(
    people: People, frozen: clock.FrozenClock
) -> None:
    """WebAuthn L2 §6.1.1: an authenticator that keeps no counter always says 0."""
    patient = await people.signed_in()
    device, _ = await add_passkey(patient, frozen)
    for _ in range(2):
        browser = people.client()
        answer = device.get_json(await sign_in_options(browser), counter=0)
        assert (
            await browser.post("/api/v1/auth/passkey", json={"credential": answer})
        ).status_code == 200


async def test_bad_input_is_a_clear_4xx(people: People, frozen: clock.FrozenClock) -> None:
    patient = await people.signed_in()
    device, _ = await add_passkey(patient, frozen)
    browser = people.client()
    options = await sign_in_options(browser)
    for credential in ({}, {"id": "x", "rawId": "x", "type": "public-key", "response": {}}):
        assert_problem(
            await browser.post("/api/v1/auth/passkey", json={"credential": credential}),
            400,
            "invalid_passkey",
        )
    assert_problem(
        await browser.post("/api/v1/auth/passkey", json={"credential": "not an object"}),
        422,
        "validation_error",
    )
    # a well-formed answer from a credential erdv does not know
    stranger = SoftPasskey()
    stranger.cred_init("testserver", b"someone")
    options = await sign_in_options(browser)
    assert_problem(
        await browser.post("/api/v1/auth/passkey", json={"credential": stranger.get_json(options)}),
        400,
        "unknown_passkey",
    )
    # another account's passkey is unknown to this account's second factor
    other = await people.signed_in()
    await patient.post("/api/v1/auth/logout")
    await patient.login()
    options = (await patient.post("/api/v1/auth/mfa/passkey/options")).json()
    other_device, _ = await add_passkey(other, frozen)
    options["allowCredentials"] = []
    assert_problem(
        await patient.post(
            "/api/v1/auth/mfa/passkey", json={"credential": other_device.get_json(options)}
        ),
        400,
        "unknown_passkey",
    )
    # an account with no passkey is told so at the second factor
    await other.post("/api/v1/auth/logout")
    newcomer = await people.signed_in()
    await newcomer.post("/api/v1/auth/logout")
    await newcomer.login()
    assert_problem(await newcomer.post("/api/v1/auth/mfa/passkey/options"), 409, "no_passkey")
    assert device.credential_id  # the patient's own passkey still signs in
    assert (await passkey_second_factor(patient, device)).status_code == 200


async def test_wrong_answers_are_throttled_like_codes(
    people: People, engine: AsyncEngine, frozen: clock.FrozenClock
) -> None:
    patient = await people.signed_in()
    device, _ = await add_passkey(patient, frozen)
    await patient.post("/api/v1/auth/logout")
    await patient.login()
    for _ in range(5):
        assert_problem(
            await passkey_second_factor(patient, device, origin="https://evil.test"),
            400,
            "invalid_passkey",
        )
    blocked = await passkey_second_factor(patient, device)
    assert_problem(blocked, 429, "rate_limited")
    assert "Retry-After" in blocked.headers
    failed = await audit_rows(engine, "auth.mfa_failed")
    assert [r["details"]["step"] for r in failed] == ["passkey"] * 5


async def passkey_reauth(person: Person, device: SoftPasskey, **kw: Any) -> httpx.Response:
    """``/reauth`` with a passkey: options for this session, then the device's answer."""
    options = await person.post("/api/v1/auth/reauth/passkey/options")
    assert options.status_code == 200, options.text
    answer = await person.post(
        "/api/v1/auth/reauth/passkey",
        json={"credential": device.get_json(options.json(), **kw)},
        headers={"Prefer": "return=representation"},
    )
    if answer.status_code == 200:
        person.csrf_token = answer.json()["csrf_token"]
    return answer


async def test_a_passkey_re_authenticates_instead_of_password_and_code(
    people: People, engine: AsyncEngine, frozen: clock.FrozenClock
) -> None:
    """One passkey with user verification is two factors (NIST SP 800-63B §5.1.8): it unlocks
    the sensitive operations as the password and a code do, rotating the session, audited."""
    patient = await people.signed_in()
    device, _ = await add_passkey(patient, frozen)
    frozen.advance(timedelta(minutes=11))
    assert_problem(await patient.post("/api/v1/auth/passkeys/options"), 403, "reauth_required")
    old_cookie = patient.client.cookies.get("erdv_session")
    done = await passkey_reauth(patient, device)
    assert done.status_code == 200, done.text
    assert done.headers["X-CSRF-Token"] == done.json()["csrf_token"]
    assert patient.client.cookies.get("erdv_session") != old_cookie  # rotated
    assert (await patient.post("/api/v1/auth/passkeys/options")).status_code == 200
    (entry,) = [r for r in await audit_rows(engine, "auth.reauthenticated") if r["details"]][-1:]
    assert entry["details"] == {"factor": "passkey"}
    # without Prefer: the contract's 204, the token in the header
    frozen.advance(timedelta(minutes=11))
    options = await patient.post("/api/v1/auth/reauth/passkey/options")
    plain = await patient.post(
        "/api/v1/auth/reauth/passkey", json={"credential": device.get_json(options.json())}
    )
    assert plain.status_code == 204, plain.text
    patient.csrf_token = plain.headers["X-CSRF-Token"]
    assert (await patient.post("/api/v1/auth/passkeys/options")).status_code == 200


async def test_a_passkey_re_authentication_is_checked_and_throttled_like_a_code(
    people: People, engine: AsyncEngine, frozen: clock.FrozenClock
) -> None:
    patient = await people.signed_in()
    # no passkey: nothing to ask for
    assert_problem(await patient.post("/api/v1/auth/reauth/passkey/options"), 409, "no_passkey")
    device, _ = await add_passkey(patient, frozen)
    # a challenge issued for another ceremony (the sign-in without password) does not serve
    browser_options = await sign_in_options(patient.client)
    assert_problem(
        await patient.post(
            "/api/v1/auth/reauth/passkey",
            json={"credential": device.get_json(browser_options)},
        ),
        400,
        "invalid_passkey",
    )
    # another origin, four more times: five failures, then the second factor's delay
    for _ in range(4):
        assert_problem(
            await passkey_reauth(patient, device, origin="https://evil.test"),
            400,
            "invalid_passkey",
        )
    blocked = await passkey_reauth(patient, device)
    assert_problem(blocked, 429, "rate_limited")
    failed = await audit_rows(engine, "auth.reauth_failed")
    assert [r["details"]["reason"] for r in failed] == ["passkey"] * 5
    # a partial session cannot use it: a full session is what re-authentication refreshes
    await patient.post("/api/v1/auth/logout")
    await patient.login()
    assert_problem(await patient.post("/api/v1/auth/reauth/passkey/options"), 401, "mfa_required")


async def test_removal_needs_reauth_and_leaves_a_second_factor(
    people: People, engine: AsyncEngine, frozen: clock.FrozenClock
) -> None:
    patient = await people.signed_in()
    _, first = await add_passkey(patient, frozen)
    _, second = await add_passkey(patient, frozen, name=None)
    assert second["name"] == "Clé d'accès 2"
    frozen.advance(timedelta(minutes=11))
    assert_problem(
        await patient.delete(f"/api/v1/me/passkeys/{first['id']}"), 403, "reauth_required"
    )
    await reauth(patient, frozen)
    # one passkey is read as the list shows it (API.md: GET /me/passkeys[/{id}])
    read = await patient.get(f"/api/v1/me/passkeys/{first['id']}")
    assert read.status_code == 200, read.text
    assert read.json() == (await patient.get("/api/v1/me/passkeys")).json()[0]
    # someone else's passkey is not found
    other = await people.signed_in()
    await reauth(other, frozen)
    assert_problem(await other.get(f"/api/v1/me/passkeys/{first['id']}"), 404, "not_found")
    assert_problem(await other.delete(f"/api/v1/me/passkeys/{first['id']}"), 404, "not_found")
    assert_problem(
        await other.patch(f"/api/v1/me/passkeys/{first['id']}", json={"name": "Mine"}),
        404,
        "not_found",
    )
    # without TOTP, the last passkey is the last second factor
    async with engine.begin() as connection:
        await connection.execute(
            sa.delete(table_of(TotpCredential)).where(
                table_of(TotpCredential).c.account_id == uuid.UUID(patient.account_id)
            )
        )
    assert (await patient.delete(f"/api/v1/me/passkeys/{first['id']}")).status_code == 204
    assert_problem(await patient.delete(f"/api/v1/me/passkeys/{second['id']}"), 409, "last_factor")
    assert [p["id"] for p in (await patient.get("/api/v1/me/passkeys")).json()] == [second["id"]]
    (removed,) = await audit_rows(engine, "auth.passkey_removed")
    assert removed["object_id"] == first["id"]
    assert "Une clé d'accès a été retirée de votre compte erdv" in subjects(people, patient)


async def test_with_totp_the_last_passkey_can_go(people: People, frozen: clock.FrozenClock) -> None:
    patient = await people.signed_in()
    _, passkey = await add_passkey(patient, frozen)
    assert (await patient.delete(f"/api/v1/me/passkeys/{passkey['id']}")).status_code == 204
    assert (await patient.get("/api/v1/me/passkeys")).json() == []


async def test_rename_is_audited_and_mailed(
    people: People, engine: AsyncEngine, frozen: clock.FrozenClock
) -> None:
    patient = await people.signed_in(email=f"en-{uuid.uuid4().hex[:8]}@example.test")
    assert (
        await patient.client.patch("/api/v1/me", json={"language": "en"}, headers=patient.headers())
    ).status_code == 200
    _, passkey = await add_passkey(patient, frozen)
    for blank in ("", "   ", "x" * 65):
        assert_problem(
            await patient.patch(f"/api/v1/me/passkeys/{passkey['id']}", json={"name": blank}),
            422,
            "validation_error",
        )
    renamed = await patient.patch(f"/api/v1/me/passkeys/{passkey['id']}", json={"name": "Key"})
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "Key"
    assert len(await audit_rows(engine, "auth.passkey_renamed")) == 1
    assert {
        "A passkey was added to your erdv account",
        "A passkey of your erdv account was renamed",
    } <= set(subjects(people, patient))


async def test_recovery_codes_keep_working(people: People, frozen: clock.FrozenClock) -> None:
    patient = await people.signed_in()
    await add_passkey(patient, frozen)
    await patient.post("/api/v1/auth/logout")
    await patient.login()
    done = await patient.post(
        "/api/v1/auth/mfa/verify", json={"recovery_code": patient.recovery_codes[0]}
    )
    assert done.status_code == 200, done.text
    # and so does TOTP
    await patient.post("/api/v1/auth/logout")
    await patient.login()
    frozen.advance(timedelta(seconds=30))
    assert (await patient.verify_mfa()).status_code == 200


async def test_challenges_expire_and_are_cleared(
    people: People, engine: AsyncEngine, frozen: clock.FrozenClock
) -> None:
    patient = await people.signed_in()
    device, _ = await add_passkey(patient, frozen)
    browser = people.client()
    answer = device.get_json(await sign_in_options(browser))
    frozen.advance(timedelta(minutes=6))
    assert_problem(
        await browser.post("/api/v1/auth/passkey", json={"credential": answer}),
        400,
        "invalid_passkey",
    )
    await sign_in_options(people.client())  # clears the expired ones
    async with engine.connect() as connection:
        rows = (await connection.execute(sa.select(table_of(WebauthnChallenge)))).all()
    assert len(rows) == 1


async def test_erasure_forgets_the_passkeys(
    people: People, engine: AsyncEngine, frozen: clock.FrozenClock
) -> None:
    patient = await people.signed_in()
    await add_passkey(patient, frozen)
    await reauth(patient, frozen)
    assert (await patient.delete("/api/v1/me")).status_code == 204
    async with engine.connect() as connection:
        assert (await connection.execute(sa.select(table_of(Passkey)))).all() == []
