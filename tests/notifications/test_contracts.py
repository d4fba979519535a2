"""A new version of the practitioner contract is mailed once to each practitioner who accepted an
earlier one, and not at all to one who accepts it before the mail is written (charter C11)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from app.charter.registry import default_charter
from app.consent.repository import state_table
from app.core.jobs import run_job
from app.core.settings import Settings
from app.jobs import JOBS
from app.notifications.contracts import JOB_NAME
from tests.factories import People, mail_text
from tests.helpers.booking import grant, patient, ready_practitioner, version, withdraw
from tests.helpers.smtp import SmtpSink

(ANNOUNCE,) = [job for job in JOBS if job.name == JOB_NAME]
CONTRACT = "practitioner-contract"


async def accepted_an_earlier_version(
    engine: AsyncEngine, account_id: str, purpose: str = CONTRACT
) -> None:
    """As if the purpose's text had a new version since this account accepted it."""
    async with engine.begin() as connection:
        await connection.execute(
            sa.update(state_table)
            .where(
                state_table.c.account_id == uuid.UUID(account_id),
                state_table.c.purpose_id == purpose,
            )
            .values(purpose_version=default_charter().purpose(purpose).version - 1)
        )


def contract_mails(smtp: SmtpSink, address: str) -> list[str]:
    return [str(m["Subject"]) for m in smtp.to(address) if "contrat" in str(m["Subject"])]


async def test_each_practitioner_behind_is_told_once(
    app: FastAPI, engine: AsyncEngine, people: People, settings: Settings, smtp: SmtpSink
) -> None:
    behind, _ = await ready_practitioner(people)
    current, _ = await ready_practitioner(people)
    quick, _ = await ready_practitioner(people)
    await accepted_an_earlier_version(engine, behind.account_id)
    await accepted_an_earlier_version(engine, quick.account_id)
    assert (await behind.get("/api/v1/me/practice")).json()["listing_missing"] == [CONTRACT]

    await run_job(app.state.session_factory, settings, ANNOUNCE, force=True)
    # before the mails go: one practitioner accepts the new version
    accepted = await quick.post(
        "/api/v1/me/consents",
        json={"purpose_id": CONTRACT, "purpose_version": version(CONTRACT), "decision": "grant"},
    )
    assert accepted.status_code == 201, accepted.text
    await app.state.outbox.drain()
    await run_job(app.state.session_factory, settings, ANNOUNCE, force=True)
    await app.state.outbox.drain()

    assert contract_mails(smtp, behind.email) == ["Nouvelle version du contrat praticien"]
    assert contract_mails(smtp, quick.email) == []
    assert contract_mails(smtp, current.email) == []
    (mail,) = [m for m in smtp.to(behind.email) if "contrat" in str(m["Subject"])]
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    assert "http://testserver/pro" in body.get_content()
    kinds = [n["kind"] for n in (await behind.get("/api/v1/me/notifications")).json()]
    assert "contract-update" in kinds


def paused_mails(smtp: SmtpSink, address: str) -> list[str]:
    return [str(m["Subject"]) for m in smtp.to(address) if "en pause" in str(m["Subject"])]


async def test_a_new_reminders_text_pauses_them_and_each_holder_is_told_once(
    app: FastAPI, engine: AsyncEngine, people: People, settings: Settings, smtp: SmtpSink
) -> None:
    """A reminder goes only to a grant of the consent's current text, so a new version pauses
    them: each patient who granted an earlier one is told once, with the way back; one who
    accepts the new text or withdraws before the mail is written gets none."""
    behind, quick, gone, current = [await patient(people) for _ in range(4)]
    for person in (behind, quick, gone, current):
        await grant(person, "reminders-email")
    for person in (behind, quick, gone):
        await accepted_an_earlier_version(engine, person.account_id, "reminders-email")
    await grant(gone, "reminders-email")  # then withdrawn below, before the mail
    await withdraw(gone, "reminders-email")
    await accepted_an_earlier_version(engine, gone.account_id, "reminders-email")

    result = await run_job(app.state.session_factory, settings, ANNOUNCE, force=True)
    assert result is not None
    assert "patients told" in result
    await grant(quick, "reminders-email")  # accepted the new text before the mail went
    await app.state.outbox.drain()
    assert paused_mails(smtp, behind.email) == [
        "Vos rappels sont en pause : nouveau texte à accepter"
    ]
    (mail,) = [m for m in smtp.to(behind.email) if "en pause" in str(m["Subject"])]
    assert "/account/privacy" in mail_text(mail, ("plain",))
    for person in (quick, gone, current):
        assert paused_mails(smtp, person.email) == [], person.email
    # once only
    await run_job(app.state.session_factory, settings, ANNOUNCE, force=True)
    await app.state.outbox.drain()
    assert len(paused_mails(smtp, behind.email)) == 1
