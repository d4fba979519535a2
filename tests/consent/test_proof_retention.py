"""Consent proofs outlive an erased account by 5 years, as the privacy notice says, then go; a
living account's proofs never do (GDPR art. 7(1)). Both databases."""

from __future__ import annotations

import uuid
from datetime import timedelta

import sqlalchemy as sa
from fastapi import FastAPI

from app.consent.repository import decision_table, state_table
from app.core import clock
from app.core.jobs import run_job
from app.core.settings import Settings
from app.jobs import JOBS
from tests.factories import People
from tests.helpers.booking import grant, patient


async def _proofs(app: FastAPI, account_id: str) -> tuple[int, int]:
    key = uuid.UUID(account_id)
    async with app.state.session_factory() as session:
        counts = []
        for table in (decision_table, state_table):
            found = await session.execute(
                sa.select(sa.func.count()).select_from(table).where(table.c.account_id == key)
            )
            counts.append(int(found.scalar_one()))
        return counts[0], counts[1]


async def test_proofs_of_an_erased_account_go_five_years_later(
    people: People, app: FastAPI, settings: Settings
) -> None:
    alice, bob = await patient(people), await patient(people)
    await grant(alice, "reminders-email")
    await grant(bob, "reminders-email")
    assert (await alice.reauth()).status_code == 204
    assert (await alice.delete("/api/v1/me")).status_code == 204
    job = next(j for j in JOBS if j.name == "consent-retention")
    kept = await _proofs(app, alice.account_id)
    assert kept[0] >= 2  # the privacy notice and the reminders, at least

    # kept through the five years
    with clock.frozen(clock.now() + timedelta(days=settings.consent_proof_retention_days - 1)):
        await run_job(app.state.session_factory, settings, job, force=True)
    assert await _proofs(app, alice.account_id) == kept

    # then gone, and only hers
    with clock.frozen(clock.now() + timedelta(days=settings.consent_proof_retention_days + 1)):
        await run_job(app.state.session_factory, settings, job, force=True)
    assert await _proofs(app, alice.account_id) == (0, 0)
    assert (await _proofs(app, bob.account_id))[0] >= 2
    async with app.state.session_factory() as session:
        recorded = await session.execute(
            sa.text(
                "SELECT count(*) FROM audit_entry WHERE action = 'retention.consent_proofs_purged'"
            )
        )
        assert recorded.scalar_one() == 2
