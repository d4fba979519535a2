"""The account's own details (``GET/PATCH /api/v1/me``), the language of its mails, the session
probe, and validation errors a client can translate."""

from __future__ import annotations

import json

import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from app.audit.repository import entry_table
from tests.factories import People, mail_text, outbox, valid_rpps
from tests.helpers.problems import assert_problem


async def test_read_and_change_my_account(people: People, engine: AsyncEngine) -> None:
    person = await people.signed_in(full_name="Inès Morel")
    mine = await person.get("/api/v1/me")
    assert mine.status_code == 200, mine.text
    assert mine.json() == {
        "id": person.account_id,
        "email": person.email,
        "full_name": "Inès Morel",
        "phone": None,
        "language": "fr",
        "role": "patient",
    }
    # a French number as typed becomes E.164; only the fields sent change
    changed = await person.patch("/api/v1/me", json={"phone": "06 12 34 56 78", "language": "en"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["phone"] == "+33612345678"
    assert changed.json()["language"] == "en"
    assert changed.json()["full_name"] == "Inès Morel"
    renamed = await person.patch("/api/v1/me", json={"full_name": "  Inès Morel-Diallo "})
    assert renamed.json()["full_name"] == "Inès Morel-Diallo"
    assert renamed.json()["phone"] == "+33612345678"
    removed = await person.patch("/api/v1/me", json={"phone": None})
    assert removed.json()["phone"] is None
    # audited with the fields' names, never their values
    async with engine.connect() as connection:
        rows = (
            await connection.execute(
                sa.select(entry_table.c.details).where(
                    entry_table.c.action == "account.profile_updated",
                    entry_table.c.subject_id == person.account_id,
                )
            )
        ).all()
    assert [json.loads(r[0]) for r in rows] == [
        {"fields": "language,phone"},
        {"fields": "full_name"},
        {"fields": "phone"},
    ]
    assert "612345678" not in "".join(r[0] for r in rows)


async def test_bad_profile_changes_are_422_and_change_nothing(people: People) -> None:
    person = await people.signed_in()
    for body in (
        {"phone": "12"},
        {"phone": "+33 1"},
        {"language": "de"},
        {"full_name": "   "},
        {"full_name": None},
        {"email": "other@example.test"},
    ):
        response = await person.patch("/api/v1/me", json=body)
        assert_problem(response, 422, "validation_error")
    bad_phone = await person.patch("/api/v1/me", json={"phone": "12"})
    assert bad_phone.json()["errors"][0]["type"] == "invalid_phone"
    assert (await person.get("/api/v1/me")).json()["phone"] is None


async def test_my_account_needs_a_full_session_and_csrf(people: People) -> None:
    anonymous = await people.anonymous()
    assert_problem(await anonymous.get("/api/v1/me"), 401, "not_authenticated")
    person = await people.signed_in()
    forged = await person.client.patch("/api/v1/me", json={"language": "en"})
    assert_problem(forged, 403, "csrf_failed")


async def test_mails_are_in_the_language_chosen_at_sign_up(people: People) -> None:
    english = await people.anonymous()
    body = {
        "email": "rowan.hale@example.test",
        "password": "Quiet-Harbor-Lantern-77",
        "full_name": "Rowan Hale",
        "role": "patient",
        "language": "en",
    }
    assert (await english.client.post("/api/v1/auth/register", json=body)).status_code == 202
    french = await people.registered(verify=False)
    mails = {m["To"]: m for m in outbox(people.settings)}
    assert mails["rowan.hale@example.test"]["Subject"] == "Confirm your email address"
    assert "Welcome to erdv" in mail_text(mails["rowan.hale@example.test"])
    assert mails[french.email]["Subject"] == "Confirmez votre adresse e-mail"
    assert "Bienvenue sur erdv" in mail_text(mails[french.email])
    # a later mail follows the account's current choice
    again = await people.anonymous()
    body |= {"language": "fr"}
    assert (await again.client.post("/api/v1/auth/register", json=body)).status_code == 202
    taken = [m for m in outbox(people.settings) if m["To"] == "rowan.hale@example.test"][-1]
    assert taken["Subject"] == "Your erdv account"


async def test_password_reset_mail_follows_the_account_language(people: People) -> None:
    person = await people.signed_in()
    assert (await person.patch("/api/v1/me", json={"language": "en"})).status_code == 200
    other = await people.anonymous()
    response = await other.client.post("/api/v1/auth/password/forgot", json={"email": person.email})
    assert response.status_code == 202
    reset = [m for m in outbox(people.settings) if m["To"] == person.email][-1]
    assert reset["Subject"] == "Reset your erdv password"
    assert "/reset-password#token=" in mail_text(reset)


async def test_register_errors_name_their_field_and_a_translatable_type(people: People) -> None:
    visitor = await people.anonymous()
    base = {"email": "a.b@example.test", "password": "Quiet-Harbor-Lantern-77", "full_name": "A B"}
    cases = [
        ({"role": "practitioner", "rpps": "12345678901"}, "rpps", "invalid_rpps"),
        ({"role": "practitioner"}, "rpps", "rpps_required"),
        ({"role": "patient", "rpps": valid_rpps()}, "rpps", "rpps_not_allowed"),
        ({"role": "patient", "phone": "not a phone"}, "phone", "invalid_phone"),
        ({"role": "patient", "language": "de"}, "language", "literal_error"),
    ]
    for extra, field, kind in cases:
        response = await visitor.client.post("/api/v1/auth/register", json=base | extra)
        body = assert_problem(response, 422, "validation_error")
        assert body["errors"] == [
            {"field": field, "message": body["errors"][0]["message"], "type": kind}
        ], body
        assert not body["errors"][0]["message"].startswith("Value error")


async def test_session_probe_answers_200_for_everyone(app: FastAPI, people: People) -> None:
    anonymous = await people.anonymous()
    probe = await anonymous.get("/api/v1/auth/session/probe")
    assert probe.status_code == 200
    assert probe.json() == {"signed_in": False, "session": None, "pending": None}
    person = await people.registered()
    assert (await person.login()).status_code == 200
    partial = await person.get("/api/v1/auth/session/probe")
    assert partial.status_code == 200
    # a sign-in left half-way: the step it waits for and its CSRF token, so that a page can
    # offer to finish it, or to cancel it
    assert partial.json() == {
        "signed_in": False,
        "session": None,
        "pending": {"next": "mfa_setup", "csrf_token": person.csrf_token},
    }
    await person.enrol_totp()
    # cancelled with that token, the browser is a visitor again
    again = await people.registered()
    assert (await again.login()).status_code == 200
    await again.enrol_totp()
    assert (await again.client.post("/api/v1/auth/logout")).status_code == 403  # no token
    assert (await again.login()).status_code == 200
    pending = (await again.get("/api/v1/auth/session/probe")).json()["pending"]
    assert pending["next"] == "mfa"
    left = await again.client.post(
        "/api/v1/auth/logout", headers={"X-CSRF-Token": pending["csrf_token"]}
    )
    assert left.status_code == 204
    assert (await again.get("/api/v1/auth/session/probe")).json() == {
        "signed_in": False,
        "session": None,
        "pending": None,
    }
    full = (await person.get("/api/v1/auth/session/probe")).json()
    assert full["signed_in"] is True
    assert full["session"]["account"]["email"] == person.email
    assert full["session"]["csrf_token"] == person.csrf_token
    assert full["session"] == (await person.get("/api/v1/auth/session")).json()
