"""The NDJSON export: FHIR AuditEvent lines, a manifest that matches them, bounded memory."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit.export import export_ndjson, fhir_action
from app.audit.models import AuditAction
from app.audit.service import Actor, AuditTrail, append, audit_key
from app.core import clock
from app.core.db import transaction
from tests.helpers.backends import TEST_SECRET, Backend
from tests.helpers.cli import cli_peak_rss_kib

KEY = audit_key(TEST_SECRET.encode())


async def collect(
    factory: async_sessionmaker[AsyncSession],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[bytes]:
    return [line async for line in export_ndjson(factory, since=since, until=until)]


def parse(lines: list[bytes]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The NDJSON lines decoded: the AuditEvents, and the last line's manifest."""
    *events, manifest = (json.loads(line) for line in lines)
    return events, manifest["manifest"]


async def test_lines_are_fhir_audit_events_and_manifest_matches(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with transaction(sessions) as session:
        trail = AuditTrail(session, KEY)
        await trail.record(
            AuditAction.APPOINTMENT_READ,
            actor=Actor.account("prac-1", "practitioner"),
            subject_id="pat-1",
            object_type="appointment",
            object_id="appt-1",
        )
        await trail.record(
            AuditAction.APPOINTMENT_BOOKED,
            actor=Actor.client("client-9", on_behalf_of="pat-1"),
            subject_id="pat-1",
            object_type="appointment",
            object_id="appt-2",
        )
    lines = await collect(sessions)
    events, manifest = parse(lines)
    assert len(events) == 2
    assert all(line.endswith(b"\n") for line in lines)
    first = events[0]
    assert first["resourceType"] == "AuditEvent"
    assert first["action"] == "R"
    assert first["outcome"] == "0"
    assert first["type"] == {"system": "urn:erdv:audit-action", "code": "appointment.read"}
    assert {"what": {"identifier": {"value": "pat-1"}}, "role": {"text": "patient"}} in first[
        "entity"
    ]
    second_agents = events[1]["agent"]
    assert any(a["type"]["text"] == "oauth-client" for a in second_agents)

    assert manifest["count"] == 2
    assert manifest["first_seq"] == 1
    assert manifest["last_seq"] == 2
    assert manifest["chain_head_seq"] == 2
    assert manifest["lines_sha256"] == hashlib.sha256(b"".join(lines[:-1])).hexdigest()
    assert manifest["last_hash"] == manifest["chain_head"]


async def test_time_window_filters_entries(sessions: async_sessionmaker[AsyncSession]) -> None:
    start = datetime(2027, 1, 1, tzinfo=UTC)
    with clock.frozen(start) as frozen:
        for _ in range(4):
            async with transaction(sessions) as session:
                await AuditTrail(session, KEY).record(AuditAction.AGENDA_READ, actor=Actor.system())
            frozen.advance(timedelta(days=1))
    events, manifest = parse(
        await collect(sessions, since=start + timedelta(days=1), until=start + timedelta(days=3))
    )
    assert [e["extension"][0]["valueInteger"] for e in events] == [2, 3]
    assert manifest["count"] == 2
    assert manifest["chain_head_seq"] == 4


def test_fhir_action_codes() -> None:
    assert fhir_action("appointment.read") == "R"
    assert fhir_action("appointment.booked") == "C"
    assert fhir_action("appointment.cancelled") == "U"
    assert fhir_action("retention.visit_reasons_purged") == "D"
    assert fhir_action("auth.login_succeeded") == "E"


async def bulk_entries(sessions: async_sessionmaker[AsyncSession], count: int) -> None:
    """Chain ``count`` entries through the real writer, in batches (fast, still verifiable)."""
    batch = 5000
    at = datetime(2027, 1, 1, tzinfo=UTC)
    for start in range(0, count, batch):
        rows: list[dict[str, object]] = []
        for i in range(start, min(start + batch, count)):
            rows.append(
                {
                    "id": uuid.uuid4(),
                    "at": at + timedelta(seconds=i),
                    "action": "appointment.read",
                    "outcome": "success",
                    "actor_type": "account",
                    "actor_id": f"practitioner-{i % 97}",
                    "actor_role": "practitioner",
                    "client_id": None,
                    "subject_id": f"patient-{i % 1009}",
                    "object_type": "appointment",
                    "object_id": f"appointment-{i}",
                    "ip": "192.0.2.10",
                    "request_id": f"request-{i:012d}",
                    "details": "{}",
                }
            )
        async with transaction(sessions) as session:
            await append(session, KEY, rows)


@pytest.mark.slow
async def test_export_of_200000_entries_streams_in_bounded_memory(
    backend: Backend, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    total = 200_000
    await bulk_entries(sessions, total)
    small, full = tmp_path / "small.ndjson", tmp_path / "full.ndjson"
    last_hour = "2027-01-03T07:00:00+00:00"  # the final ~1,900 entries
    baseline = await asyncio.to_thread(
        cli_peak_rss_kib, backend, "audit", "export", "-o", str(small), "--since", last_hour
    )
    peak = await asyncio.to_thread(cli_peak_rss_kib, backend, "audit", "export", "-o", str(full))

    size = full.stat().st_size
    assert size > 100 * 1024 * 1024  # over 100 MiB of NDJSON went through...
    growth_mib = (peak - baseline) / 1024
    assert growth_mib < 40, f"peak RSS grew by {growth_mib:.0f} MiB for a {size >> 20} MiB export"

    digest = hashlib.sha256()
    count = 0
    with full.open("rb") as handle:
        previous = None
        for line in handle:
            if previous is not None:
                digest.update(previous)
                count += 1
            previous = line
    assert previous is not None
    manifest = json.loads(previous)["manifest"]
    # each command-line export records itself before streaming: two more entries
    assert manifest["count"] == count == total + 2
    assert manifest["lines_sha256"] == digest.hexdigest()
    assert manifest["last_seq"] == total + 2
