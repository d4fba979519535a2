"""The compliance report follows the running system: break what a clause checks, and it says so."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.accounts.repository import account_table
from app.audit.repository import entry_table
from app.booking.models import appointment_table
from app.core.jobs import run_job
from app.core.settings import Settings
from app.jobs import JOBS, RETENTION_JOBS
from app.models import metadata
from app.practice.models import practice_table
from tests.audit.tampering import tampering
from tests.factories import People
from tests.helpers.booking import book, patient, ready_practitioner, soon


async def statuses(client: httpx.AsyncClient) -> dict[str, str]:
    response = await client.get("/api/v1/charter/compliance")
    assert response.status_code == 200
    body = response.json()
    assert [c["id"] for c in body["clauses"]] == [f"C{n}" for n in range(1, 15)]
    assert all(c["evidence"] for c in body["clauses"])
    assert body["badge"] == (body["clauses"][-1]["status"] == "met")
    return {c["id"]: c["status"] for c in body["clauses"]}


async def verify_job(sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    job = next(j for j in JOBS if j.name == "audit-verify")
    await run_job(sessions, settings, job, force=True)


async def test_live_checks_pass_on_a_healthy_system(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    before = await statuses(client)
    assert before["C9"] == "not_met"  # never verified yet
    await verify_job(sessions, settings)
    after = await statuses(client)
    for clause in ("C2", "C4", "C5", "C6", "C8", "C9", "C10", "C11"):
        assert after[clause] == "met", clause
    assert after["C1"] == "manual"


async def test_a_third_party_script_in_static_breaks_c4(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    (tmp_path / "index.html").write_text(
        '<!doctype html><script src="https://cdn.example.com/analytics.js"></script>'
    )
    app.state.static_dir = tmp_path
    assert (await statuses(client))["C4"] == "not_met"
    (tmp_path / "index.html").write_text('<!doctype html><p onclick="go()">x</p>')
    assert (await statuses(client))["C4"] == "not_met"
    (tmp_path / "index.html").write_text('<!doctype html><script src="/static/app.js"></script>')
    (tmp_path / "app.js").write_text('import x from "//evil.example/x.js";')
    assert (await statuses(client))["C4"] == "not_met"
    (tmp_path / "app.js").write_text('import x from "./x.js";')
    assert (await statuses(client))["C4"] == "met"


@pytest.fixture
def review_table(client: httpx.AsyncClient) -> Iterator[None]:
    """A review table in the models (never created): set up after, and removed before, the
    database fixtures that truncate every known table."""
    table = sa.Table("practitioner_review", metadata, sa.Column("id", sa.Integer, primary_key=True))
    try:
        yield
    finally:
        metadata.remove(table)


@pytest.mark.usefixtures("review_table")
async def test_a_review_table_breaks_c5_and_the_badge(client: httpx.AsyncClient) -> None:
    found = await statuses(client)
    assert found["C5"] == "not_met"
    assert found["C14"] == "not_met"


async def test_a_tampered_audit_chain_breaks_c9(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    engine: AsyncEngine,
) -> None:
    await verify_job(sessions, settings)
    assert (await statuses(client))["C9"] == "met"
    async with tampering(engine) as connection:
        await connection.execute(
            entry_table.update().where(entry_table.c.seq == 1).values(object_id="forged")
        )
    await verify_job(sessions, settings)
    assert (await statuses(client))["C9"] == "not_met"


async def test_a_missing_financing_statement_breaks_c10(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    app.state.settings = settings.model_copy(update={"financing": "  "})
    assert (await statuses(client))["C10"] == "not_met"


@pytest.mark.parametrize(
    "change", [{"price": " "}, {"subprocessors": []}, {"subprocessors": ["  "]}]
)
async def test_no_price_or_no_sub_processors_breaks_c10(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, change: dict[str, object]
) -> None:
    assert (await statuses(client))["C10"] == "met"
    app.state.settings = settings.model_copy(update=change)
    assert (await statuses(client))["C10"] == "not_met"


async def test_booking_clauses_follow_the_data(
    client: httpx.AsyncClient,
    people: People,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    practitioner, reasons = await ready_practitioner(people)
    alice = await patient(people)
    start = soon(24 * 60)
    booked = await book(alice, practitioner.account_id, reasons[0], start)
    assert booked.status_code == 201, booked.text
    healthy = await statuses(client)
    for clause in ("C3", "C7", "C12", "C13"):
        assert healthy[clause] == "met", clause

    # a visit reason kept long after its appointment breaks C7 until the retention job runs
    async with engine.begin() as connection:
        await connection.execute(
            appointment_table.update().values(
                start_at=datetime.now(UTC) - timedelta(days=3, minutes=15),
                end_at=datetime.now(UTC) - timedelta(days=3),
            )
        )
    assert (await statuses(client))["C7"] == "not_met"
    job = next(j for j in JOBS if j.name == "visit-reason-retention")
    await run_job(sessions, settings, job, force=True)
    assert (await statuses(client))["C7"] == "met"

    # a profession off the fixed list breaks C13; a listed profile without RPPS breaks C3
    async with engine.begin() as connection:
        await connection.execute(practice_table.update().values(specialty="homeopathie-miracle"))
    assert (await statuses(client))["C13"] == "not_met"
    async with engine.begin() as connection:
        await connection.execute(practice_table.update().values(specialty="medecine-generale"))
        await connection.execute(
            account_table.update()
            .where(account_table.c.id == uuid.UUID(practitioner.account_id))
            .values(rpps=None)
        )
    after = await statuses(client)
    assert after["C3"] == "not_met"
    assert after["C13"] == "met"
    assert after["C14"] == "not_met"


async def test_the_evidence_is_said_in_the_readers_language(client: httpx.AsyncClient) -> None:
    """The admin page shows the report in French or English: every line has both."""
    english = (await client.get("/api/v1/charter/compliance")).json()["clauses"]
    french = (await client.get("/api/v1/charter/compliance", params={"lang": "fr"})).json()
    assert [c["status"] for c in french["clauses"]] == [c["status"] for c in english]
    for en, fr in zip(english, french["clauses"], strict=True):
        assert en["evidence"] != fr["evidence"], en["id"]
    by_id = {c["id"]: c["evidence"] for c in french["clauses"]}
    assert "n'a pas encore été vérifiée" in by_id["C9"]
    assert "Aucune table ni colonne d'avis" in by_id["C5"]


async def test_the_report_shows_each_retention_job_and_its_last_run(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    """The privacy notice's retention periods are kept by jobs; the report shows each one, never
    run or with its last run and what it did (issue 24)."""
    before = (await client.get("/api/v1/charter/compliance")).json()["retention"]
    assert [j["name"] for j in before] == [job.name for job in RETENTION_JOBS]
    assert {j["name"] for j in before} >= {
        "visit-reason-retention",
        "consent-retention",
        "appointment-retention",
    }
    assert all(j["finished_at"] is None and j["result"] is None for j in before)
    for job in RETENTION_JOBS:
        await run_job(app.state.session_factory, settings, job, force=True)
    after = {
        j["name"]: j for j in (await client.get("/api/v1/charter/compliance")).json()["retention"]
    }
    assert all(j["finished_at"] for j in after.values())
    assert after["appointment-retention"]["result"].startswith("anonymised 0 past appointments")
