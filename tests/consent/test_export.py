"""The consent-log export: CSV (RFC 4180, formulas neutralised) and NDJSON, filtered, streamed."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.accounts.repository import account_table
from app.audit.repository import entry_table
from app.charter.registry import default_charter
from app.consent.export import COLUMNS, escape_formula
from app.consent.repository import decision_table
from app.consent.service import sync_registry
from app.core.db import transaction
from tests.factories import People, Person
from tests.helpers.backends import Backend
from tests.helpers.cli import cli_peak_rss_kib
from tests.helpers.problems import assert_problem


async def decide(person: Person, purpose: str, decision: str = "grant") -> None:
    response = await person.post(
        "/api/v1/me/consents",
        json={
            "purpose_id": purpose,
            "purpose_version": default_charter().purpose(purpose).version,
            "decision": decision,
        },
    )
    assert response.status_code == 201, response.text


def test_escape_formula() -> None:
    assert escape_formula("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    for start in ("+", "-", "@", "\t", "\r"):
        assert escape_formula(start + "x") == "'" + start + "x"
    assert escape_formula("grant") == "grant"


async def test_csv_and_ndjson_exports(people: People, engine: AsyncEngine) -> None:
    patient = await people.signed_in(role="patient")
    await decide(patient, "privacy-notice")
    await decide(patient, "reminders-email")
    await decide(patient, "reminders-email", "withdraw")
    admin = await people.signed_in(role="admin")
    assert_problem(await admin.get("/api/v1/admin/consent-log"), 403, "reauth_required")
    assert_problem(await patient.get("/api/v1/admin/consent-log"), 403, "forbidden")
    await admin.reauth()

    response = await admin.get("/api/v1/admin/consent-log", params={"format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert b"\r\n" in response.content
    rows = list(csv.reader(io.StringIO(response.text)))
    assert tuple(rows[0]) == COLUMNS
    assert [r[COLUMNS.index("decision")] for r in rows[1:]] == ["grant", "grant", "withdraw"]
    assert {r[COLUMNS.index("account_id")] for r in rows[1:]} == {patient.account_id}
    assert "@" not in response.text  # no email in the export

    ndjson = await admin.get(
        "/api/v1/admin/consent-log", params={"format": "ndjson", "purpose": "reminders-email"}
    )
    *lines, manifest = [json.loads(line) for line in ndjson.content.splitlines()]
    assert [line["decision"] for line in lines] == ["grant", "withdraw"]
    assert manifest["manifest"]["count"] == 2

    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    empty = await admin.get("/api/v1/admin/consent-log", params={"since": later})
    assert len(list(csv.reader(io.StringIO(empty.text)))) == 1  # the header only
    assert_problem(
        await admin.get("/api/v1/admin/consent-log", params={"purpose": "marketing"}),
        404,
        "unknown_purpose",
    )

    async with engine.connect() as connection:
        exports = (
            await connection.execute(
                sa.select(sa.func.count())
                .select_from(entry_table)
                .where(entry_table.c.action == "consent.log_exported")
            )
        ).scalar_one()
    assert exports == 3  # every successful export is audited, refused ones are not


async def test_formula_in_a_field_is_escaped_in_csv(people: People, engine: AsyncEngine) -> None:
    patient = await people.signed_in(role="patient")
    await decide(patient, "privacy-notice")
    async with engine.begin() as connection:
        await connection.execute(decision_table.update().values(channel="=1+2"))
    admin = await people.signed_in(role="admin")
    await admin.reauth()
    text = (await admin.get("/api/v1/admin/consent-log")).text
    row = list(csv.reader(io.StringIO(text)))[1]
    assert row[COLUMNS.index("channel")] == "'=1+2"


async def bulk_decisions(sessions: async_sessionmaker[AsyncSession], count: int) -> None:
    async with transaction(sessions) as session:
        await sync_registry(session, default_charter())
        account_id = uuid.uuid4()
        now = datetime(2027, 1, 1, tzinfo=UTC)
        await session.execute(
            sa.insert(account_table).values(
                id=account_id,
                email="bulk@example.test",
                role="patient",
                full_name="Bulk",
                password_hash="x",
                status="active",
                password_changed_at=now,
                created_at=now,
            )
        )
    batch = 10_000
    for start in range(0, count, batch):
        rows = [
            {
                "id": uuid.uuid4(),
                "account_id": account_id,
                "purpose_id": "reminders-email",
                "purpose_version": default_charter().purpose("reminders-email").version,
                "scope": "",
                "decision": "grant" if i % 2 == 0 else "withdraw",
                "decided_at": now + timedelta(seconds=i),
                "text_sha256": "a" * 64,
                "channel": "web",
                "receipt_sha256": "b" * 64,
            }
            for i in range(start, min(start + batch, count))
        ]
        async with transaction(sessions) as session:
            await session.execute(sa.insert(decision_table), rows)


@pytest.mark.slow
async def test_export_of_200000_decisions_streams_in_bounded_memory(
    backend: Backend, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    total = 200_000
    await bulk_decisions(sessions, total)
    small, full = tmp_path / "small.csv", tmp_path / "full.csv"
    baseline = await asyncio.to_thread(
        cli_peak_rss_kib,
        backend,
        "consents",
        "export",
        "-o",
        str(small),
        "--since",
        "2027-01-03T07:00:00+00:00",
    )
    peak = await asyncio.to_thread(cli_peak_rss_kib, backend, "consents", "export", "-o", str(full))
    with full.open(newline="") as handle:
        count = sum(1 for _ in csv.reader(handle)) - 1
    assert count == total
    growth_mib = (peak - baseline) / 1024
    size_mib = full.stat().st_size >> 20
    assert size_mib > 40
    assert growth_mib < 30, f"peak RSS grew by {growth_mib:.0f} MiB for a {size_mib} MiB export"
