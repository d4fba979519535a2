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
from tests.factories import People
from tests.helpers.booking import ready_practitioner, version
from tests.helpers.smtp import SmtpSink

(ANNOUNCE,) = [job for job in JOBS if job.name == JOB_NAME]
CONTRACT = "practitioner-contract"


async def accepted_an_earlier_version(engine: AsyncEngine, account_id: str) -> None:
    """As if the contract's version had gone up since this practitioner accepted it."""
    async with engine.begin() as connection:
        await connection.execute(
            sa.update(state_table)
            .where(
                state_table.c.account_id == uuid.UUID(account_id),
                state_table.c.purpose_id == CONTRACT,
            )
            .values(purpose_version=default_charter().purpose(CONTRACT).version - 1)
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
