"""Consent: the registry synced into the database, decisions, and the gates built on them."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditAction
from app.audit.service import Actor, AuditTrail
from app.charter.model import Charter, CharterError, Gate, PurposeId
from app.charter.registry import default_charter
from app.consent.errors import (
    ConsentRequired,
    GrantedPerApplication,
    StaleVersion,
    UnknownPurpose,
)
from app.consent.models import ConsentDecision, ConsentPurposeVersion, ConsentState
from app.consent.repository import ConsentRepository
from app.core import clock
from app.core.db import new_id


async def sync_registry(session: AsyncSession, charter: Charter) -> int:
    """Record every current (purpose, version) not yet in the database; return how many were new.

    A version already recorded with another text hash means a text was edited without raising its
    version: erdv refuses to start rather than let earlier consents point at a text nobody saw.
    """
    repository = ConsentRepository(session)
    known = {(row.purpose_id, row.version): row for row in await repository.purpose_versions()}
    new: list[ConsentPurposeVersion] = []
    for purpose in charter.purposes:
        existing = known.get((purpose.id.value, purpose.version))
        if existing is not None:
            if (existing.text_sha256, existing.text_en_sha256) != (
                purpose.text_sha256,
                purpose.text_en_sha256,
            ):
                raise CharterError(
                    f"purposes/{purpose.id.value}.toml",
                    "text",
                    f"version {purpose.version} was recorded with another text; raise its version",
                )
            continue
        new.append(
            ConsentPurposeVersion(
                purpose_id=purpose.id.value,
                version=purpose.version,
                audience=purpose.audience.value,
                kind=purpose.kind.value,
                required_for=purpose.required_for.value if purpose.required_for else None,
                clause_ids=",".join(purpose.clause_ids),
                text_sha256=purpose.text_sha256,
                text_en_sha256=purpose.text_en_sha256,
                registered_at=clock.now(),
            )
        )
    if new:
        await repository.add_purpose_versions(new)
    return len(new)


# ---------------------------------------------------------------------------------------------------
# Decisions


class Decision(StrEnum):
    GRANT = "grant"
    WITHDRAW = "withdraw"


@dataclass(frozen=True)
class ConsentStatus:
    purpose_id: str
    purpose_version: int
    status: str  # granted | withdrawn | none
    decided_at: datetime | None
    #: a grant of an earlier version: it no longer counts for what the purpose gates
    granted_version: int | None = None
    scope: str | None = None


@dataclass(frozen=True)
class Receipt:
    id: uuid.UUID
    purpose_id: str
    purpose_version: int
    text_sha256: str
    decision: str
    decided_at: datetime
    receipt_sha256: str
    client_id: str | None = None


def _receipt_hash(decision: ConsentDecision) -> str:
    """SHA-256 of the canonical receipt: who, which text (version and hash), what, when."""
    body = {
        "id": str(decision.id),
        "account_id": str(decision.account_id),
        "purpose_id": decision.purpose_id,
        "purpose_version": decision.purpose_version,
        "scope": decision.scope,
        "text_sha256": decision.text_sha256,
        "decision": decision.decision,
        "decided_at": decision.decided_at.astimezone(UTC).isoformat(),
        "channel": decision.channel,
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def to_receipt(decision: ConsentDecision) -> Receipt:
    return Receipt(
        id=decision.id,
        purpose_id=decision.purpose_id,
        purpose_version=decision.purpose_version,
        text_sha256=decision.text_sha256,
        decision=decision.decision,
        decided_at=decision.decided_at,
        receipt_sha256=decision.receipt_sha256,
        client_id=decision.scope or None,
    )


_synced_charters: set[int] = set()


async def _ensure_synced(session: AsyncSession, charter: Charter) -> None:
    """The start-up sync may have missed a database that was down: sync once before recording."""
    if id(charter) not in _synced_charters:
        await sync_registry(session, charter)
        _synced_charters.add(id(charter))


async def decide(
    session: AsyncSession,
    audit: AuditTrail,
    *,
    account_id: uuid.UUID,
    audience: str,
    actor: Actor,
    purpose_id: str,
    purpose_version: int,
    decision: Decision,
    scope: str = "",
    channel: str = "web",
    charter: Charter | None = None,
) -> Receipt:
    """Record a grant or a withdrawal of the *current* version of a purpose (GDPR Art. 7).

    Withdrawing is exactly as easy as granting (one call, same shape). Only the current version can be
    decided on, so a receipt always names the text that was on screen; ``third-party-sharing`` is
    decided per OAuth client (``scope``), on that client's consent screen.
    """
    charter = charter or default_charter()
    try:
        purpose = charter.purpose(purpose_id)
    except KeyError as error:
        raise UnknownPurpose(f"No purpose {purpose_id!r} exists.") from error
    if purpose.audience.value != audience:
        raise UnknownPurpose(f"No purpose {purpose_id!r} applies to this account.")
    if purpose.id is PurposeId.THIRD_PARTY_SHARING and not scope:
        raise GrantedPerApplication(
            "Third-party sharing is decided per application: authorize or revoke the application."
        )
    if purpose_version != purpose.version:
        raise StaleVersion(
            f"The current version of {purpose_id!r} is {purpose.version}; "
            f"reload the text and decide on it."
        )
    await _ensure_synced(session, charter)
    record = ConsentDecision(
        id=new_id(),
        account_id=account_id,
        purpose_id=purpose.id.value,
        purpose_version=purpose.version,
        scope=scope,
        decision=decision.value,
        decided_at=clock.now(),
        text_sha256=purpose.text_sha256,
        channel=channel,
        receipt_sha256="",
    )
    record.receipt_sha256 = _receipt_hash(record)
    await ConsentRepository(session).record(
        record, "granted" if decision is Decision.GRANT else "withdrawn"
    )
    await audit.record(
        AuditAction.CONSENT_GRANTED
        if decision is Decision.GRANT
        else AuditAction.CONSENT_WITHDRAWN,
        actor=actor,
        subject_id=account_id if audience == "patient" else None,
        object_type="consent",
        object_id=record.id,
        details={"purpose": purpose.id.value, "version": purpose.version, "scope": scope or None},
    )
    return to_receipt(record)


async def current_consents(
    session: AsyncSession, account_id: uuid.UUID, audience: str, charter: Charter | None = None
) -> list[ConsentStatus]:
    """One line per purpose of the account's audience (and per application for third-party
    sharing), at the purpose's current version."""
    charter = charter or default_charter()
    states = await ConsentRepository(session).states(account_id)
    by_key = {(s.purpose_id, s.scope): s for s in states}
    lines: list[ConsentStatus] = []
    for purpose in charter.purposes:
        if purpose.audience.value != audience:
            continue
        scopes = sorted(scope for (pid, scope) in by_key if pid == purpose.id.value and scope)
        for scope in scopes or [""]:
            state = by_key.get((purpose.id.value, scope))
            lines.append(_status(purpose.id.value, purpose.version, state, scope))
    return lines


def _status(purpose_id: str, version: int, state: ConsentState | None, scope: str) -> ConsentStatus:
    if state is None:
        return ConsentStatus(purpose_id, version, "none", None, scope=scope or None)
    if state.status == "withdrawn":
        return ConsentStatus(
            purpose_id, version, "withdrawn", state.decided_at, scope=scope or None
        )
    if state.purpose_version == version:
        return ConsentStatus(purpose_id, version, "granted", state.decided_at, scope=scope or None)
    return ConsentStatus(
        purpose_id, version, "none", state.decided_at, state.purpose_version, scope=scope or None
    )


async def history(session: AsyncSession, account_id: uuid.UUID) -> list[Receipt]:
    return [to_receipt(d) for d in await ConsentRepository(session).history(account_id)]


async def missing_purposes(
    session: AsyncSession, account_id: uuid.UUID, gate: Gate, charter: Charter | None = None
) -> list[str]:
    """The purposes ``gate`` needs that the account has not granted at their current version.

    When a text changes its version goes up, and the earlier grant stops counting here.
    """
    charter = charter or default_charter()
    required = charter.purposes_required_for(gate)
    if not required:
        return []
    granted = await ConsentRepository(session).granted_versions(
        account_id, [p.id.value for p in required]
    )
    return [p.id.value for p in required if (p.id.value, p.version) not in granted]


async def require(
    session: AsyncSession, account_id: uuid.UUID, gate: Gate, charter: Charter | None = None
) -> None:
    """Raise ``ConsentRequired`` (409, with ``missing``) unless ``gate``'s purposes are granted."""
    missing = await missing_purposes(session, account_id, gate, charter)
    if missing:
        raise ConsentRequired(missing)
