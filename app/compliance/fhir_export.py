"""The patient's export as a FHIR R4 ``collection`` Bundle (``GET /api/v1/me/export?format=fhir``).

Every resource is built and validated with ``fhir.resources`` (R4B models, the R4 structures for
Patient, RelatedPerson, Appointment, Consent, AuditEvent and Bundle). The models cost each server
process about 7 MiB once imported, for a rare request: this module is imported by the export
route when a FHIR export is asked for, not at start (bench/README.md, B9's idle memory).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.auditevent import AuditEvent
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.consent import Consent
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.relatedperson import RelatedPerson
from fhir.resources.R4B.resource import Resource

from app.booking.views import FHIR_STATUS
from app.compliance.export import PatientData
from app.consent.service import Decision

#: FHIR's code systems for the resources below (R4: terminology.hl7.org)
_LANGUAGE = "urn:ietf:bcp:47"
_CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
_CONSENT_CATEGORY = "http://loinc.org"
_AUDIT_TYPE = "http://terminology.hl7.org/CodeSystem/audit-event-type"
_ERDV = "urn:erdv"


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
        "status": FHIR_STATUS.get(appointment["status"], "booked"),
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
