"""Operator notices (the practitioner contract's clause 4): a change of sub-processors, or a data
breach, told to every practitioner with an active account, in their language, through the outbox;
nobody else. Each test runs on SQLite and PostgreSQL; the command itself runs in
tests/test_cli.py."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.db import transaction
from app.core.settings import Settings
from app.notifications.operator import notify_practitioners
from tests.factories import People, mail_text, outbox
from tests.helpers.booking import patient, ready_practitioner

SUBJECT = {"fr": "Changement de sous-traitant", "en": "A change of sub-processor"}
BODY = {"fr": "Nous changeons d'hébergeur le 1er mars.", "en": "We change hosts on 1 March."}


async def test_every_active_practitioner_is_told_in_their_language(
    app: FastAPI, people: People, settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    french, _ = await ready_practitioner(people)
    english, _ = await ready_practitioner(people)
    assert (await english.patch("/api/v1/me", json={"language": "en"})).status_code == 200
    away, _ = await ready_practitioner(people)
    admin = await people.signed_in(role="admin")
    suspended = await admin.post(f"/api/v1/admin/accounts/{away.account_id}/suspend")
    assert suspended.status_code == 200
    alice = await patient(people)

    async with transaction(sessions) as session:
        count = await notify_practitioners(session, settings, SUBJECT, BODY)
    await app.state.outbox.drain()

    told = {str(m["To"]): m for m in outbox(settings) if str(m["Subject"]) in SUBJECT.values()}
    assert french.email in told
    assert english.email in told
    assert away.email not in told
    assert alice.email not in told
    assert admin.email not in told
    assert count == len(told)
    assert str(told[french.email]["Subject"]) == SUBJECT["fr"]
    assert BODY["fr"] in mail_text(told[french.email], ("plain",))
    assert str(told[english.email]["Subject"]) == SUBJECT["en"]
    assert BODY["en"] in mail_text(told[english.email], ("plain",))
    # listed among the practitioner's messages, as every mail erdv sends them
    sent = (await french.get("/api/v1/me/notifications")).json()
    assert "operator-notice" in [n["kind"] for n in sent]
