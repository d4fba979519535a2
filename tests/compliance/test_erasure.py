"""A patient deletes their account (GDPR art. 17): what the law lets go goes at once, what must stay
names nobody, and the audit chain still verifies. Each test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import timedelta

import sqlalchemy as sa
from fastapi import FastAPI

from app.accounts.repository import account_table, session_table, token_table
from app.audit.service import audit_key, verify
from app.booking.models import appointment_table, idempotency_table
from app.consent.repository import decision_table
from app.core import clock
from app.core.settings import Settings
from app.mfa.repository import recovery_table, totp_table
from tests.factories import People, outbox
from tests.helpers.booking import book, grant, patient, ready_practitioner, soon
from tests.helpers.problems import assert_problem

REASON = "Suivi-tension-kz4"


async def test_deleting_needs_a_fresh_reauth_and_is_not_an_admins(people: People) -> None:
    """A practitioner's deletion is the closing (tests/compliance/test_closing.py); an admin's
    account is not deleted from its own session (another admin suspends it)."""
    alice = await patient(people)
    assert_problem(await alice.delete("/api/v1/me"), 403, "reauth_required")
    admin = await people.signed_in(role="admin")
    assert (await admin.reauth()).status_code == 204
    assert_problem(await admin.delete("/api/v1/me"), 403, "forbidden")
    # both accounts as they were
    assert (await alice.get("/api/v1/me")).json()["email"] == alice.email
    assert (await admin.get("/api/v1/me")).json()["email"] == admin.email


async def test_erasure_keeps_only_what_names_nobody(
    people: People, app: FastAPI, settings: Settings
) -> None:
    doctor, (reason,) = await ready_practitioner(
        people, reasons=[(REASON, 15)], name="Dr Noé Bernard"
    )
    alice = await patient(people)
    await grant(alice, "reminders-email")
    assert (await alice.patch("/api/v1/me", json={"phone": "+33612345678"})).status_code == 200
    ahead = (
        await book(
            alice,
            doctor.account_id,
            reason,
            soon(24 * 60),
            headers={"Idempotency-Key": "erasure-test-key-1"},
        )
    ).json()["id"]
    past = (await book(alice, doctor.account_id, reason, soon(26 * 60))).json()["id"]
    factory = app.state.session_factory
    async with factory() as session, session.begin():
        # a visit she already had (moved to yesterday: booking refuses the past)
        yesterday = clock.now() - timedelta(days=1)
        await session.execute(
            sa.update(appointment_table)
            .where(appointment_table.c.id == uuid.UUID(past))
            .values(start_at=yesterday, end_at=yesterday + timedelta(minutes=15))
        )

    assert (await alice.reauth()).status_code == 204
    response = await alice.delete("/api/v1/me")
    assert response.status_code == 204, response.text
    assert 'erdv_session=""' in response.headers["set-cookie"]
    # her session ended with the request
    assert_problem(await alice.get("/api/v1/me"), 401, "not_authenticated")

    # the appointment ahead is cancelled and both sides told, in words; the last mail says so
    subjects = [(str(m["To"]), str(m["Subject"])) for m in outbox(settings)]
    assert (alice.email, "Rendez-vous annulé") in subjects
    assert (alice.email, "Votre compte erdv est supprimé") in subjects
    assert sum(to == doctor.email and "annul" in s.lower() for to, s in subjects) == 1
    window = {
        "from": (clock.now() - timedelta(days=2)).isoformat(),
        "to": soon(3 * 24 * 60).isoformat(),
    }
    agenda = {a["id"]: a for a in (await doctor.get("/api/v1/me/agenda", params=window)).json()}
    assert agenda[ahead]["status"] == "cancelled"
    # the past visit stays in the practice's agenda, without her name or phone
    assert agenda[past]["status"] == "booked"
    assert agenda[past]["patient"]["full_name"] == ""
    assert agenda[past]["patient"]["phone"] is None
    # the freed slot can be booked again
    bob = await patient(people)
    assert (await book(bob, doctor.account_id, reason, soon(24 * 60))).status_code == 201

    # sign-in fails as for an address nobody holds, and the address registers again
    anonymous = await people.anonymous()
    login = await anonymous.post(
        "/api/v1/auth/login", json={"email": alice.email, "password": alice.password}
    )
    assert_problem(login, 401, "invalid_credentials")
    again = await people.registered(email=alice.email)
    assert again.email == alice.email

    async with factory() as session:
        alice_id = uuid.UUID(alice.account_id)
        account = (
            await session.execute(
                sa.select(
                    account_table.c.email,
                    account_table.c.full_name,
                    account_table.c.phone,
                    account_table.c.status,
                ).where(account_table.c.id == alice_id)
            )
        ).one()
        assert account.email.endswith("@erdv.invalid")
        assert (account.full_name, account.phone, account.status) == ("", None, "deleted")
        for table in (session_table, totp_table, recovery_table, token_table, idempotency_table):
            left = await session.execute(
                sa.select(sa.func.count()).select_from(table).where(table.c.account_id == alice_id)
            )
            assert left.scalar_one() == 0, table.name
        reasons = await session.execute(
            sa.select(sa.func.count())
            .select_from(appointment_table)
            .where(
                appointment_table.c.patient_id == alice_id,
                appointment_table.c.visit_reason_ct.is_not(None),
            )
        )
        assert reasons.scalar_one() == 0
        # the consent proofs stay (the notice says how long), naming nobody but an id
        kept = await session.execute(
            sa.select(sa.func.count())
            .select_from(decision_table)
            .where(decision_table.c.account_id == alice_id)
        )
        assert kept.scalar_one() >= 2
        everything = " ".join(
            str(row) for row in (await session.execute(sa.text("SELECT * FROM account"))).all()
        )
        assert "+33612345678" not in everything
        # the audit trail is untouched, and its chain verifies
        result = await verify(session, audit_key(settings.secret_key_bytes))
        assert result.ok, result
        trail = " ".join(
            str(row) for row in (await session.execute(sa.text("SELECT * FROM audit_entry"))).all()
        )
        assert alice.email not in trail
        assert alice.full_name not in trail


async def test_an_erasure_leaves_a_visit_under_way_alone(people: People, app: FastAPI) -> None:
    """The patient is at the practice: deleting the account on the way in cancels nothing that has
    started (the practice's agenda keeps the visit, without the name)."""
    doctor, (reason,) = await ready_practitioner(people)
    alice = await patient(people)
    under_way = (await book(alice, doctor.account_id, reason, soon(24 * 60))).json()["id"]
    ahead = (await book(alice, doctor.account_id, reason, soon(26 * 60))).json()["id"]
    async with app.state.session_factory() as session, session.begin():
        started = clock.now() - timedelta(minutes=5)
        await session.execute(
            sa.update(appointment_table)
            .where(appointment_table.c.id == uuid.UUID(under_way))
            .values(start_at=started, end_at=started + timedelta(minutes=15))
        )
    assert (await alice.reauth()).status_code == 204
    assert (await alice.delete("/api/v1/me")).status_code == 204
    window = {
        "from": (clock.now() - timedelta(hours=1)).isoformat(),
        "to": soon(3 * 24 * 60).isoformat(),
    }
    agenda = {a["id"]: a for a in (await doctor.get("/api/v1/me/agenda", params=window)).json()}
    assert agenda[under_way]["status"] == "booked"
    assert agenda[under_way]["patient"]["full_name"] == ""
    assert agenda[ahead]["status"] == "cancelled"
