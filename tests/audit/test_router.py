"""The audit endpoints: a patient's access log, the admin export and verification."""

from __future__ import annotations

import hashlib
import json

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from app.audit.repository import entry_table
from tests.audit.tampering import tampering
from tests.factories import People
from tests.helpers.problems import assert_problem


async def test_access_log_shows_what_was_done_with_my_data_and_by_whom(people: People) -> None:
    patient = await people.signed_in(role="patient")
    other = await people.signed_in(role="patient")
    await patient.post(
        "/api/v1/me/consents",
        json={"purpose_id": "privacy-notice", "purpose_version": 2, "decision": "grant"},
    )
    response = await patient.get("/api/v1/me/access-log")
    assert response.status_code == 200
    entries = response.json()
    assert entries, entries
    first = entries[0]
    assert first["action"] == "consent.granted"
    assert first["actor_role"] == "patient"
    assert first["via"] == "web"
    assert first["actor_name"]  # resolved to the person's display name
    assert set(first) == {"seq", "at", "actor_role", "actor_name", "action", "outcome", "via"}
    # sign-ins on my account are in my log too; nothing about anyone else is
    actions = {e["action"] for e in entries}
    assert {"auth.login_succeeded", "auth.mfa_enrolled"} <= actions
    others = (await other.get("/api/v1/me/access-log")).json()
    assert "consent.granted" not in {e["action"] for e in others}
    assert {e["seq"] for e in others}.isdisjoint({e["seq"] for e in entries})
    older = await patient.get("/api/v1/me/access-log", params={"before": first["seq"]})
    assert all(e["seq"] < first["seq"] for e in older.json())


async def test_access_log_is_for_patients(people: People) -> None:
    practitioner = await people.signed_in(role="practitioner")
    assert_problem(await practitioner.get("/api/v1/me/access-log"), 403, "forbidden")
    assert_problem(await people.client().get("/api/v1/me/access-log"), 401, "not_authenticated")


async def test_verify_reports_the_chain_and_the_first_bad_entry(
    people: People, engine: AsyncEngine
) -> None:
    admin = await people.signed_in(role="admin")
    report = (await admin.get("/api/v1/admin/audit/verify")).json()
    assert report["ok"] is True
    assert report["first_bad"] is None
    assert report["entries"] > 0
    assert len(report["head"]) == 64

    async with tampering(engine) as connection:
        await connection.execute(
            entry_table.update().where(entry_table.c.seq == 2).values(object_id="tampered")
        )
    broken = (await admin.get("/api/v1/admin/audit/verify")).json()
    assert broken["ok"] is False
    assert broken["first_bad_seq"] == 2
    assert broken["first_bad"]


async def test_verify_is_for_admins(people: People) -> None:
    patient = await people.signed_in(role="patient")
    assert_problem(await patient.get("/api/v1/admin/audit/verify"), 403, "forbidden")


async def test_export_needs_a_recent_reauth_streams_and_is_audited(
    people: People, engine: AsyncEngine
) -> None:
    admin = await people.signed_in(role="admin")
    assert_problem(await admin.get("/api/v1/admin/audit"), 403, "reauth_required")
    assert (await admin.reauth()).status_code == 204

    response = await admin.get("/api/v1/admin/audit", params={"format": "ndjson"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    assert response.headers["cache-control"] == "no-store"
    lines = response.content.splitlines(keepends=True)
    manifest = json.loads(lines[-1])["manifest"]
    events = [json.loads(line) for line in lines[:-1]]
    assert manifest["count"] == len(events)
    assert manifest["lines_sha256"] == hashlib.sha256(b"".join(lines[:-1])).hexdigest()
    assert events[-1]["type"]["code"] == "audit.exported"  # the export records itself first
    for event in events:
        assert event["resourceType"] == "AuditEvent"
        assert "@" not in json.dumps(event)  # no email anywhere

    async with engine.connect() as connection:
        exported = (
            await connection.execute(
                sa.select(sa.func.count())
                .select_from(entry_table)
                .where(entry_table.c.action == "audit.exported")
            )
        ).scalar_one()
    assert exported == 1


async def test_export_rejects_bad_parameters(people: People) -> None:
    admin = await people.signed_in(role="admin")
    await admin.reauth()
    naive = await admin.get("/api/v1/admin/audit", params={"since": "2027-01-01T00:00:00"})
    assert_problem(naive, 422, "validation_error")
    wrong = await admin.get("/api/v1/admin/audit", params={"format": "csv"})
    assert_problem(wrong, 422, "validation_error")
    window = await admin.get(
        "/api/v1/admin/audit",
        params={"since": "2020-01-01T00:00:00+00:00", "until": "2020-01-02T00:00:00Z"},
    )
    assert window.status_code == 200
    assert json.loads(window.content.splitlines()[-1])["manifest"]["count"] == 0
