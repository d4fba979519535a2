"""Consent decisions through HTTP: grant, withdraw, history, receipts, stale versions, gates."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit.repository import entry_table
from app.charter.model import Gate
from app.charter.registry import default_charter
from app.consent import service
from app.consent.errors import ConsentRequired
from tests.factories import People, Person
from tests.helpers.problems import assert_problem

NOTICE = "privacy-notice"


async def decide(
    person: Person, purpose: str, decision: str, version: int | None = None
) -> dict[str, object]:
    """A decision on the purpose's text at ``version``, its current one by default."""
    response = await person.post(
        "/api/v1/me/consents",
        json={
            "purpose_id": purpose,
            "purpose_version": version or default_charter().purpose(purpose).version,
            "decision": decision,
        },
    )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def statuses(rows: list[dict[str, object]]) -> dict[str, str]:
    return {str(r["purpose_id"]): str(r["status"]) for r in rows if not r.get("client_id")}


async def test_patient_sees_patient_purposes_all_none_at_first(people: People) -> None:
    patient = await people.signed_in(role="patient")
    rows = (await patient.get("/api/v1/me/consents")).json()
    assert statuses(rows) == {
        "privacy-notice": "none",
        "reminders-email": "none",
        "reminders-sms": "none",
        "third-party-sharing": "none",
    }
    practitioner = await people.signed_in(role="practitioner")
    assert set(statuses((await practitioner.get("/api/v1/me/consents")).json())) == {
        "profile-publication",
        "practitioner-contract",
        "deontology",
    }


async def test_grant_then_withdraw_with_receipts_and_history(
    people: People, sessions: async_sessionmaker[AsyncSession]
) -> None:
    patient = await people.signed_in(role="patient")
    granted = await decide(patient, "reminders-email", "grant")
    assert granted["purpose_id"] == "reminders-email"
    assert granted["text_sha256"] == default_charter().purpose("reminders-email").text_sha256
    assert len(str(granted["receipt_sha256"])) == 64
    assert statuses((await patient.get("/api/v1/me/consents")).json())["reminders-email"] == (
        "granted"
    )

    withdrawn = await decide(patient, "reminders-email", "withdraw")
    assert withdrawn["decision"] == "withdraw"
    assert withdrawn["receipt_sha256"] != granted["receipt_sha256"]
    assert statuses((await patient.get("/api/v1/me/consents")).json())["reminders-email"] == (
        "withdrawn"
    )

    history = (await patient.get("/api/v1/me/consents/history")).json()
    assert [h["decision"] for h in history] == ["grant", "withdraw"]
    assert history[0]["id"] == granted["id"]

    # every decision is in the audit trail, about this patient, without the text
    async with sessions() as session:
        actions = (
            await session.execute(
                sa.select(entry_table.c.action, entry_table.c.subject_id).where(
                    entry_table.c.action.like("consent.%")
                )
            )
        ).all()
    assert [a for a, _ in actions] == ["consent.granted", "consent.withdrawn"]
    assert {s for _, s in actions} == {patient.account_id}


async def test_receipt_hash_covers_who_what_which_text_and_when(
    people: People, sessions: async_sessionmaker[AsyncSession]
) -> None:
    patient = await people.signed_in(role="patient")
    receipt = await decide(patient, NOTICE, "grant")
    async with sessions() as session:
        history = await service.history(session, uuid.UUID(patient.account_id))
    assert history[0].receipt_sha256 == receipt["receipt_sha256"]
    body = {
        "id": receipt["id"],
        "account_id": patient.account_id,
        "purpose_id": NOTICE,
        "purpose_version": 2,
        "scope": "",
        "text_sha256": receipt["text_sha256"],
        "decision": "grant",
        "decided_at": history[0].decided_at.isoformat(),
        "channel": "web",
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    assert hashlib.sha256(canonical).hexdigest() == receipt["receipt_sha256"]


async def test_errors(people: People) -> None:
    patient = await people.signed_in(role="patient")
    unknown = await patient.post(
        "/api/v1/me/consents",
        json={"purpose_id": "marketing", "purpose_version": 1, "decision": "grant"},
    )
    assert_problem(unknown, 404, "unknown_purpose")
    other_audience = await patient.post(
        "/api/v1/me/consents",
        json={"purpose_id": "deontology", "purpose_version": 1, "decision": "grant"},
    )
    assert_problem(other_audience, 404, "unknown_purpose")
    stale = await patient.post(
        "/api/v1/me/consents",
        json={"purpose_id": NOTICE, "purpose_version": 3, "decision": "grant"},
    )
    assert_problem(stale, 409, "stale_version")
    per_app = await patient.post(
        "/api/v1/me/consents",
        json={"purpose_id": "third-party-sharing", "purpose_version": 1, "decision": "grant"},
    )
    assert_problem(per_app, 422, "granted_per_application")
    bad = await patient.post(
        "/api/v1/me/consents",
        json={"purpose_id": NOTICE, "purpose_version": 2, "decision": "maybe", "extra": 1},
    )
    assert_problem(bad, 422, "validation_error")
    assert (await patient.get("/api/v1/me/consents/history")).json() == []  # nothing recorded


async def test_gates_and_reconsent_after_a_version_bump(
    people: People, sessions: async_sessionmaker[AsyncSession]
) -> None:
    patient = await people.signed_in(role="patient")
    practitioner = await people.signed_in(role="practitioner")
    patient_id, practitioner_id = uuid.UUID(patient.account_id), uuid.UUID(practitioner.account_id)
    async with sessions() as session:
        assert await service.missing_purposes(session, patient_id, Gate.BOOKING) == [NOTICE]
        assert set(await service.missing_purposes(session, practitioner_id, Gate.LISTING)) == {
            "profile-publication",
            "practitioner-contract",
            "deontology",
        }
    await decide(patient, NOTICE, "grant")
    for purpose in ("profile-publication", "practitioner-contract", "deontology"):
        await decide(practitioner, purpose, "grant")
    async with sessions() as session:
        assert await service.missing_purposes(session, patient_id, Gate.BOOKING) == []
        assert await service.missing_purposes(session, practitioner_id, Gate.LISTING) == []
        await service.require(session, patient_id, Gate.BOOKING)  # no error

    # a new version of the notice: the old acknowledgement no longer counts
    charter = default_charter()
    bumped = dataclasses.replace(
        charter,
        purposes=tuple(
            dataclasses.replace(p, version=3) if p.id.value == NOTICE else p
            for p in charter.purposes
        ),
    )
    async with sessions() as session:
        assert await service.missing_purposes(session, patient_id, Gate.BOOKING, bumped) == [NOTICE]
        with pytest.raises(ConsentRequired) as refused:
            await service.require(session, patient_id, Gate.BOOKING, bumped)
        assert refused.value.missing == [NOTICE]
        assert refused.value.status == 409
        lines = await service.current_consents(session, patient_id, "patient", bumped)
    notice = next(line for line in lines if line.purpose_id == NOTICE)
    assert (notice.status, notice.purpose_version, notice.granted_version) == ("none", 3, 2)

    # withdrawing the contract unlists the practitioner
    await decide(practitioner, "practitioner-contract", "withdraw")
    async with sessions() as session:
        missing = await service.missing_purposes(session, practitioner_id, Gate.LISTING)
    assert missing == ["practitioner-contract"]
