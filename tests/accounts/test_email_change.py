"""A change of address (GDPR art. 16): confirmed from the new address, told to the old one, with no
oracle of who is registered. Each test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

from app.core.settings import Settings
from tests.factories import People, mail_token, outbox
from tests.helpers.problems import assert_problem, successes_before_429

CHANGE = "/api/v1/me/email"
CONFIRM = "/api/v1/auth/confirm-email"


def _new_address() -> str:
    return f"moved-{uuid.uuid4().hex[:10]}@example.test"


def _subjects(settings: Settings, to: str) -> list[str]:
    return [str(m["Subject"]) for m in outbox(settings) if m["To"] == to]


async def test_a_change_needs_a_fresh_reauth(people: People) -> None:
    alice = await people.signed_in()
    assert_problem(await alice.post(CHANGE, json={"email": _new_address()}), 403, "reauth_required")


async def test_the_new_address_confirms_and_the_old_one_is_told(
    people: People, settings: Settings
) -> None:
    alice = await people.signed_in()
    old, new = alice.email, _new_address()
    assert (await alice.reauth()).status_code == 204
    asked = await alice.post(CHANGE, json={"email": new.upper()})
    assert asked.status_code == 202, asked.text
    assert asked.json() == {"email": new}
    assert _subjects(settings, new) == ["Confirmez votre nouvelle adresse erdv"]
    assert "Un changement de votre adresse erdv a été demandé" in _subjects(settings, old)
    # nothing moves before the link is opened
    assert (await alice.get("/api/v1/me")).json()["email"] == old

    token = mail_token(settings, new, "confirm-email")
    anonymous = await people.anonymous()
    done = await anonymous.post(CONFIRM, json={"token": token})
    assert done.status_code == 200, done.text
    assert done.json() == {"status": "email_changed"}
    assert (await alice.get("/api/v1/me")).json()["email"] == new
    assert "Votre adresse erdv a changé" in _subjects(settings, old)
    # single use
    assert_problem(await anonymous.post(CONFIRM, json={"token": token}), 400, "invalid_token")
    # the new address signs in; the old one is nobody's
    login = await anonymous.post(
        "/api/v1/auth/login", json={"email": new, "password": alice.password}
    )
    assert login.status_code == 200, login.text
    stale = await anonymous.post(
        "/api/v1/auth/login", json={"email": old, "password": alice.password}
    )
    assert_problem(stale, 401, "invalid_credentials")
    actions = [e["action"] for e in (await alice.get("/api/v1/me/access-log")).json()]
    assert {"account.email_change_requested", "account.email_changed"} <= set(actions)


async def test_an_address_someone_holds_gets_the_same_answer_and_its_holder_a_notice(
    people: People, settings: Settings
) -> None:
    alice = await people.signed_in()
    bob = await people.signed_in()
    assert (await alice.reauth()).status_code == 204
    before = len(_subjects(settings, bob.email))
    asked = await alice.post(CHANGE, json={"email": bob.email})
    assert (asked.status_code, asked.json()) == (202, {"email": bob.email})
    assert _subjects(settings, bob.email)[before:] == ["Votre compte erdv"]
    # alice's own mailbox reads as for a free address: the same notice, nothing more
    assert "Un changement de votre adresse erdv a été demandé" in _subjects(settings, alice.email)
    # no link went anywhere, and the holder's mail says nothing of alice
    assert alice.email not in outbox(settings)[-1].as_string()
    assert (await alice.get("/api/v1/me")).json()["email"] == alice.email


async def test_my_own_address_and_nonsense_are_refused(people: People) -> None:
    alice = await people.signed_in()
    assert (await alice.reauth()).status_code == 204
    assert_problem(await alice.post(CHANGE, json={"email": alice.email}), 422, "validation_error")
    assert_problem(
        await alice.post(CHANGE, json={"email": "not an address"}), 422, "validation_error"
    )


async def test_a_later_request_or_a_taker_voids_the_link(
    people: People, settings: Settings
) -> None:
    alice = await people.signed_in()
    assert (await alice.reauth()).status_code == 204
    first, second = _new_address(), _new_address()
    assert (await alice.post(CHANGE, json={"email": first})).status_code == 202
    first_token = mail_token(settings, first, "confirm-email")
    assert (await alice.post(CHANGE, json={"email": second})).status_code == 202
    anonymous = await people.anonymous()
    assert_problem(await anonymous.post(CONFIRM, json={"token": first_token}), 400, "invalid_token")
    # someone registers the second address before alice opens its link
    await people.registered(email=second)
    taken = await anonymous.post(
        CONFIRM, json={"token": mail_token(settings, second, "confirm-email")}
    )
    assert_problem(taken, 409, "email_taken")
    assert (await alice.get("/api/v1/me")).json()["email"] == alice.email


async def test_changes_are_rate_limited_per_account(people: People, settings: Settings) -> None:
    """Each request mails addresses its caller chose: an allowance, then 429 (no spam relay)."""
    alice = await people.signed_in()
    assert (await alice.reauth()).status_code == 204
    allowed = await successes_before_429(
        lambda n: alice.post(
            CHANGE, json={"email": f"spam-{n}-{uuid.uuid4().hex[:6]}@example.test"}
        ),
        ok=202,
        tries=settings.export_rate_per_hour + 2,
    )
    assert allowed == settings.export_rate_per_hour
