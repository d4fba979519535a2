"""A patient's own data, whole: the right of access and to portability (GDPR art. 15 and 20).

``GET /api/v1/me/export`` gives the account, the relatives, every appointment (past, future and
cancelled, with the visit reason while it is kept: it is the patient's own), every consent
decision with its receipt, and the access log (charter C9). As JSON, or as a FHIR R4 ``Bundle``
(``collection``) of Patient, RelatedPerson, Appointment, Consent and AuditEvent resources, each
built and validated with ``fhir.resources`` (R4B models, the R4 structures for these), so
another system can take the data in without knowing erdv.

The FHIR form is built in ``app.compliance.fhir_export``, imported only when asked for.

The request needs a recent re-authentication (a stolen session must not leave with everything),
spends one of the account's exports (docs/security.md "Throttling") and is recorded in the
patient's own access log.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.principal import Principal
from app.accounts.relatives import RelativeRepository
from app.accounts.repository import AccountRepository
from app.audit import service as audit
from app.audit.models import AuditAction
from app.audit.service import AuditTrail
from app.booking.appointments import AppointmentService
from app.booking.waitlist import WaitlistService
from app.compliance.names import actor_names
from app.consent import service as consent
from app.core.errors import NotFound
from app.throttle.service import Throttle

#: access-log lines read per statement (the whole log is exported, a page at a time)
_LOG_PAGE = 500


@dataclass(frozen=True)
class PatientData:
    """Everything the export holds, in the JSON's order."""

    account: dict[str, Any]
    relatives: list[dict[str, Any]]
    appointments: list[dict[str, Any]]
    consents: list[dict[str, Any]]
    access_log: list[dict[str, Any]]
    #: the patient's requests for an earlier slot (``app.booking.waitlist``)
    waitlist: list[dict[str, Any]] = field(default_factory=list)

    def json_chunks(self) -> Iterator[bytes]:
        """The JSON document a section's item at a time: the response streams it."""
        yield b'{"account":' + _dumps(self.account)
        for name in ("relatives", "appointments", "waitlist", "consents", "access_log"):
            items: list[dict[str, Any]] = getattr(self, name)
            yield f',"{name}":['.encode()
            for n, item in enumerate(items):
                yield (b"," if n else b"") + _dumps(item)
            yield b"]"
        yield b"}"


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).encode()


async def gather(
    session: AsyncSession,
    principal: Principal,
    appointments: AppointmentService,
    trail: AuditTrail,
    throttle: Throttle,
) -> PatientData:
    """Read everything, count the export, and record it (the patient sees it in their log)."""
    await throttle.spend_export(principal.account_id)
    account = await AccountRepository(session).get(principal.account_id)
    if account is None:  # pragma: no cover - a principal's account exists
        raise NotFound("No such account.")
    relatives = await RelativeRepository(session).of(principal.account_id)
    views = await appointments.for_export(principal)
    waiting = await WaitlistService(session, appointments.settings, appointments.audit).mine(
        principal
    )
    receipts = await consent.history(session, principal.account_id)
    log: list[dict[str, Any]] = []
    before: int | None = None
    while True:
        lines = await audit.access_log(
            session, str(principal.account_id), actor_names, limit=_LOG_PAGE, before_seq=before
        )
        log += [asdict(line) for line in lines]
        if len(lines) < _LOG_PAGE:
            break
        before = lines[-1].seq
    await trail.record(
        AuditAction.ACCOUNT_EXPORTED,
        actor=principal.actor,
        subject_id=principal.account_id,
        object_type="account",
        object_id=principal.account_id,
        details={"appointments": len(views), "consents": len(receipts), "log": len(log)},
    )
    return PatientData(
        account={
            "id": str(account.id),
            "email": account.email,
            "full_name": account.full_name,
            "phone": account.phone,
            "language": account.language,
            "role": account.role,
            "created_at": account.created_at.isoformat(),
        },
        relatives=[
            {
                "id": str(r.id),
                "full_name": r.full_name,
                "birth_date": r.birth_date.isoformat() if r.birth_date else None,
            }
            for r in relatives
        ],
        appointments=[
            {
                "id": str(v.id),
                "practitioner_id": str(v.practitioner_id),
                "practitioner_name": v.practitioner_name,
                "address": v.address,
                "city": v.city,
                "start": v.start.isoformat(),
                "end": v.end.isoformat(),
                "timezone": v.timezone,
                "status": v.status,
                "channel": v.channel,
                "visit_reason": v.visit_reason,
                "created_at": v.created_at.isoformat(),
                "cancelled_at": v.cancelled_at.isoformat() if v.cancelled_at else None,
                "relative": {"id": str(v.relative_id), "full_name": v.relative_name or ""}
                if v.relative_id
                else None,
            }
            for v in views
        ],
        waitlist=[
            {
                "id": str(w.id),
                "practitioner_id": str(w.practitioner_id),
                "practitioner_name": w.practitioner_name,
                "visit_reason_id": str(w.visit_reason_id) if w.visit_reason_id else None,
                "before": w.before.isoformat(),
                "status": w.status,
                "created_at": w.created_at.isoformat(),
                "offer": {
                    "start": w.offer.start.isoformat(),
                    "end": w.offer.end.isoformat(),
                    "hold_until": w.offer.hold_until.isoformat(),
                }
                if w.offer
                else None,
            }
            for w in waiting
        ],
        consents=[
            {
                "id": str(r.id),
                "purpose_id": r.purpose_id,
                "purpose_version": r.purpose_version,
                "text_sha256": r.text_sha256,
                "decision": r.decision,
                "decided_at": r.decided_at.isoformat(),
                "receipt_sha256": r.receipt_sha256,
                "client_id": r.client_id,
            }
            for r in receipts
        ],
        access_log=[line | {"at": line["at"].isoformat()} for line in log],
    )
