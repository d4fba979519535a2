"""Helpers for booking tests: ready practitioners, consenting patients, many fast sessions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from fastapi import FastAPI

from app.accounts.models import Account, AuthSession, SessionState
from app.accounts.principal import SESSION_COOKIE, SESSION_TOKEN_PREFIX, keys_for
from app.audit.service import Actor, AuditTrail, audit_key
from app.charter.registry import default_charter
from app.consent.service import Decision, decide
from app.core import clock
from app.core.crypto import new_token
from app.core.db import transaction
from app.core.settings import Settings
from app.practice.models import PracticeStatus
from app.practice.service import PracticeService
from tests.factories import People, Person, new_client

LISTING = ("profile-publication", "practitioner-contract", "deontology")
ALL_WEEK = [{"weekday": d, "start": "00:00", "end": "23:55"} for d in range(7)]


def paris_at(days: int, hour: int, minute: int = 0) -> datetime:
    """Local Paris wall time ``days`` from today: on the lattice of blocks opening at 00:00."""
    paris = ZoneInfo("Europe/Paris")
    day = (clock.now() + timedelta(days=days)).astimezone(paris).date()
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=paris)


def version(purpose_id: str) -> int:
    return default_charter().purpose(purpose_id).version


async def grant(person: Person, *purpose_ids: str) -> None:
    """Grant each purpose's current text."""
    await _decide(person, "grant", purpose_ids)


async def withdraw(person: Person, *purpose_ids: str) -> None:
    """Withdraw each purpose (a decision on its current text)."""
    await _decide(person, "withdraw", purpose_ids)


async def _decide(person: Person, decision: str, purpose_ids: tuple[str, ...]) -> None:
    for purpose_id in purpose_ids:
        response = await person.post(
            "/api/v1/me/consents",
            json={
                "purpose_id": purpose_id,
                "purpose_version": version(purpose_id),
                "decision": decision,
            },
        )
        assert response.status_code == 201, response.text


async def approve(app: FastAPI, settings: Settings, practitioner_id: str) -> None:
    async with transaction(app.state.session_factory) as session:
        service = PracticeService(
            session, settings, AuditTrail(session, audit_key(settings.secret_key_bytes))
        )
        await service.set_status(
            Actor.system(), uuid.UUID(practitioner_id), PracticeStatus.APPROVED
        )


async def ready_practitioner(
    people: People,
    *,
    reasons: list[tuple[str, int]] | None = None,
    weekly: list[dict[str, Any]] | None = None,
    rules: dict[str, int] | None = None,
    profession: str = "medecin",
    specialty: str | None = "medecine-generale",
    city: str = "Paris",
    timezone: str = "Europe/Paris",
    name: str | None = None,
    listed: bool = True,
) -> tuple[Person, list[str]]:
    """A listed practitioner with visit reasons and opening hours (each block offers all reasons)."""
    person = await people.signed_in(role="practitioner", **({"full_name": name} if name else {}))
    body: dict[str, Any] = {
        "profession": profession,
        "specialty": specialty,
        "city": city,
        "address": "1 rue de la Paix",
        "timezone": timezone,
        "convention_sector": "1",
        "fees": "Consultation 30 €",
        "booking_rules": rules
        or {"min_notice_minutes": 0, "max_horizon_days": 366, "cancel_deadline_minutes": 60},
    }
    response = await person.put("/api/v1/me/practice", json=body)
    assert response.status_code == 200, response.text
    ids = []
    for label, minutes in reasons or [("Consultation", 15)]:
        created = await person.post(
            "/api/v1/me/visit-reasons",
            json={"label": label, "duration_minutes": minutes, "new_patients": True},
        )
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    blocks = [{**b, "visit_reason_ids": ids} for b in (weekly or ALL_WEEK)]
    response = await person.put(
        "/api/v1/me/availability", json={"timezone": timezone, "weekly": blocks}
    )
    assert response.status_code == 200, response.text
    if listed:
        await grant(person, *LISTING)
        await approve(people.app, people.settings, person.account_id)
    return person, ids


async def patient(people: People, **kwargs: Any) -> Person:
    """A signed-in patient who acknowledged the privacy notice; ``kwargs`` go to
    ``People.signed_in`` (``ip=``: a test signing many up stays under the per-address limit)."""
    person = await people.signed_in(role="patient", **kwargs)
    await grant(person, "privacy-notice")
    return person


async def fast_patients(app: FastAPI, settings: Settings, count: int) -> list[httpx.AsyncClient]:
    """``count`` patients with full sessions and the privacy notice acknowledged, made directly in
    the database (the HTTP sign-up is tested elsewhere; 50 of them through it would be slow)."""
    keys = keys_for(settings.secret_key_bytes)
    clients = []
    async with transaction(app.state.session_factory) as session:
        audit = AuditTrail(session, audit_key(settings.secret_key_bytes))
        now = clock.now()
        for i in range(count):
            account = Account(
                email=f"fast-{uuid.uuid4().hex[:10]}@example.test",
                role="patient",
                full_name=f"Patient {i}",
                phone="+33600000000",
                password_hash="unused",
                email_verified_at=now,
                password_changed_at=now,
                created_at=now,
            )
            session.add(account)
            await session.flush()
            token = new_token(SESSION_TOKEN_PREFIX)
            session.add(
                AuthSession(
                    account_id=account.id,
                    token_hash=keys.session_hash(token),
                    state=SessionState.FULL.value,
                    created_at=now,
                    last_seen_at=now,
                    authenticated_at=now,
                )
            )
            await decide(
                session,
                audit,
                account_id=account.id,
                audience="patient",
                actor=Actor.account(account.id, "patient"),
                purpose_id="privacy-notice",
                purpose_version=version("privacy-notice"),
                decision=Decision.GRANT,
            )
            client = new_client(app)
            client.cookies.set(SESSION_COOKIE, token)
            client.headers["X-CSRF-Token"] = keys.csrf_token(token)
            clients.append(client)
    return clients


async def slots(
    client: httpx.AsyncClient | Person,
    practitioner_id: str,
    start: datetime,
    end: datetime,
    **params: str,
) -> list[dict[str, Any]]:
    response = await client.get(
        f"/api/v1/practitioners/{practitioner_id}/slots",
        params={"from": start.isoformat(), "to": end.isoformat(), **params},
    )
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()
    return result


def soon(minutes: int = 0, zone: str = "Europe/Paris", *, span_hours: int = 0) -> datetime:
    """Now plus ``minutes``, rounded up to the next quarter hour (on the lattice of 15-minute
    visits in blocks opening on the hour, in any zone with whole-hour offsets).

    Opening hours end at 23:55 at the latest (a block stays within its day), so the last hour
    before midnight in the practice's ``zone`` is skipped: a visit there might not fit, and a test
    run at that time of day would fail for no reason of its own. A test that also books
    ``start + 1 h`` … ``start + span_hours h`` gets a start whose whole span skips that hour (a
    CI run at 20:xx UTC once put the third of three hourly bookings at 23:xx in Paris).
    """
    at = clock.now().astimezone(UTC) + timedelta(minutes=minutes)
    at = at.replace(second=0, microsecond=0) + timedelta(minutes=15 - at.minute % 15)
    tz = ZoneInfo(zone)
    while any((at + timedelta(hours=h)).astimezone(tz).hour == 23 for h in range(span_hours + 1)):
        at += timedelta(hours=1)
    return at


async def book(
    person: Person | httpx.AsyncClient,
    practitioner_id: str,
    reason_id: str,
    start: str | datetime,
    **kwargs: Any,
) -> httpx.Response:
    body = {
        "practitioner_id": practitioner_id,
        "visit_reason_id": reason_id,
        "start": start if isinstance(start, str) else start.isoformat(),
    }
    return await person.post("/api/v1/appointments", json=body, **kwargs)
