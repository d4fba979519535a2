"""A patient's own data, whole: the right of access and to portability (GDPR art. 15 and 20).

``GET /api/v1/me/export`` gives the account, the relatives, every appointment (past, future and
cancelled, with the visit reason while it is kept: it is the patient's own), every consent
decision with its receipt, and the access log (charter C9). As JSON, or as a FHIR R4 ``Bundle``
(``collection``) of Patient, RelatedPerson, Appointment, Consent and AuditEvent resources, each
built and validated with ``fhir.resources`` (R4B models, the R4 structures for these), so
another system can take the data in without knowing erdv.

The request needs a recent re-authentication (a stolen session must not leave with everything),
spends one of the account's exports (docs/security.md "Throttling") and is recorded in the
patient's own access log.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.auditevent import AuditEvent
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.consent import Consent
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.relatedperson import RelatedPerson
from fhir.resources.R4B.resource import Resource
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.principal import Principal
from app.accounts.relatives import RelativeRepository
from app.accounts.repository import AccountRepository
from app.audit import service as audit
from app.audit.models import AuditAction
from app.audit.service import AuditTrail
from app.booking.appointments import AppointmentService
from app.compliance.names import actor_names
from app.consent import service as consent
from app.consent.service import Decision
from app.core.errors import NotFound
from app.throttle.service import Throttle

#: access-log lines read per statement (the whole log is exported, a page at a time)
_LOG_PAGE = 500

#: FHIR's code systems for the resources below (R4: terminology.hl7.org)
_LANGUAGE = "urn:ietf:bcp:47"
_CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
_CONSENT_CATEGORY = "http://loinc.org"
_AUDIT_TYPE = "http://terminology.hl7.org/CodeSystem/audit-event-type"
_ERDV = "urn:erdv"

#: our appointment statuses as FHIR's (R4 AppointmentStatus)
_STATUS = {
    "booked": "booked",
    "cancelled": "cancelled",
    "completed": "fulfilled",
    "no_show": "noshow",
}


@dataclass(frozen=True)
class PatientData:
    """Everything the export holds, in the JSON's order."""

    account: dict[str, Any]
    relatives: list[dict[str, Any]]
    appointments: list[dict[str, Any]]
    consents: list[dict[str, Any]]
    access_log: list[dict[str, Any]]

    def json_chunks(self) -> Iterator[bytes]:
        """The JSON document a section's item at a time: the response streams it."""
        yield b'{"account":' + _dumps(self.account)
        for name in ("relatives", "appointments", "consents", "access_log"):
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


# FHIR R4 ------------------------------------------------------------------------------------


def fhir_bundle(data: PatientData, now: datetime) -> dict[str, Any]:
    """The export as a FHIR R4 ``collection`` Bundle; every resource validated on the way."""
    account = data.account
    # references resolve inside the bundle by its entries' fullUrl (R4 Bundle, "Resolving
    # references in Bundles"): urn:uuid, as the entries are named
    patient_ref = f"urn:uuid:{account['id']}"
    resources: list[Resource] = [_patient(account)]
    resources += [_related_person(r, patient_ref) for r in data.relatives]
    resources += [_appointment(a, patient_ref) for a in data.appointments]
    latest: dict[tuple[str, str | None], str] = {}
    for c in data.consents:  # oldest first: the last one per purpose and scope is in force
        latest[(c["purpose_id"], c["client_id"])] = c["id"]
    resources += [
        _consent(c, patient_ref, in_force=latest[(c["purpose_id"], c["client_id"])] == c["id"])
        for c in data.consents
    ]
    resources += [_audit_event(line, patient_ref) for line in data.access_log]
    bundle = Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "type": "collection",
            "timestamp": now.isoformat(),
            "entry": [
                {"fullUrl": f"urn:uuid:{_uuid_of(r)}", "resource": r.model_dump(mode="json")}
                for r in resources
            ],
        }
    )
    exported: dict[str, Any] = bundle.model_dump(mode="json", exclude_none=True)
    return exported


def _uuid_of(resource: Resource) -> str:
    return str(uuid.UUID(str(resource.id)))


def _patient(account: dict[str, Any]) -> Patient:
    telecom = [{"system": "email", "value": account["email"]}]
    if account["phone"]:
        telecom.append({"system": "phone", "value": account["phone"]})
    return Patient.model_validate(
        {
            "id": account["id"],
            "name": [{"text": account["full_name"]}],
            "telecom": telecom,
            "communication": [
                {"language": {"coding": [{"system": _LANGUAGE, "code": account["language"]}]}}
            ],
        }
    )


def _related_person(relative: dict[str, Any], patient_ref: str) -> RelatedPerson:
    """A relative the patient books for: linked to the patient, a name and a birth date."""
    resource: dict[str, Any] = {
        "id": relative["id"],
        "patient": {"reference": patient_ref},
        "name": [{"text": relative["full_name"]}],
    }
    if relative["birth_date"]:
        resource["birthDate"] = relative["birth_date"]
    return RelatedPerson.model_validate(resource)


def _appointment(appointment: dict[str, Any], patient_ref: str) -> Appointment:
    resource: dict[str, Any] = {
        "id": appointment["id"],
        "status": _STATUS.get(appointment["status"], "booked"),
        "start": appointment["start"],
        "end": appointment["end"],
        "created": appointment["created_at"],
        "participant": [
            {"actor": {"reference": patient_ref}, "status": "accepted"},
            {
                "actor": {
                    "reference": f"Practitioner/{appointment['practitioner_id']}",
                    "display": appointment["practitioner_name"] or None,
                },
                "status": "accepted",
            },
        ],
    }
    relative = appointment["relative"]
    if relative and relative["full_name"]:  # a removed relative names nobody and is not here
        resource["participant"].append(
            {
                "actor": {
                    "reference": f"urn:uuid:{relative['id']}",
                    "display": relative["full_name"],
                },
                "status": "accepted",
            }
        )
    if appointment["visit_reason"]:
        resource["reasonCode"] = [{"text": appointment["visit_reason"]}]
    return Appointment.model_validate(resource)


def _consent(receipt: dict[str, Any], patient_ref: str, *, in_force: bool) -> Consent:
    """One decision: ``active`` only if it granted the purpose and is the last decision on it (a
    grant withdrawn since, or given again, is ``inactive``); the purpose and its text's version as
    the policy, the receipt's hash as an identifier."""
    return Consent.model_validate(
        {
            "id": receipt["id"],
            "status": "active"
            if in_force and receipt["decision"] == Decision.GRANT.value
            else "inactive",
            "scope": {"coding": [{"system": _CONSENT_SCOPE, "code": "patient-privacy"}]},
            "category": [{"coding": [{"system": _CONSENT_CATEGORY, "code": "59284-0"}]}],
            "patient": {"reference": patient_ref},
            "dateTime": receipt["decided_at"],
            "identifier": [
                {"system": f"{_ERDV}:consent-receipt", "value": receipt["receipt_sha256"]}
            ],
            "policy": [
                {
                    "uri": (
                        f"{_ERDV}:purpose:{receipt['purpose_id']}:v{receipt['purpose_version']}"
                        f":sha256:{receipt['text_sha256']}"
                    )
                }
            ],
        }
    )


def _audit_event(line: dict[str, Any], patient_ref: str) -> AuditEvent:
    """One line of the access log: who (by name and role), what, when, and whether it worked
    (R4's outcome codes: 0 success, 4 a refusal)."""
    return AuditEvent.model_validate(
        {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{_ERDV}:audit:{line['seq']}")),
            "type": {"system": _AUDIT_TYPE, "code": "rest"},
            "subtype": [{"system": f"{_ERDV}:audit-action", "code": line["action"]}],
            "recorded": line["at"],
            "outcome": "0" if line["outcome"] == "success" else "4",
            "agent": [
                {
                    "type": {"text": line["actor_role"]},
                    "who": {"display": line["actor_name"]},
                    "requestor": True,
                }
            ],
            "source": {"observer": {"display": f"erdv ({line['via']})"}},
            "entity": [{"what": {"reference": patient_ref}}],
        }
    )
