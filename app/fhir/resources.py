"""FHIR R4 resources built from the booking domain's views, each validated with ``fhir.resources``.

The R4B models are used: for every resource served here (CapabilityStatement, Practitioner,
PractitionerRole, Location, Schedule, Slot, Appointment, Bundle, OperationOutcome) R4B's structure
is R4's. They are imported on the first FHIR request, not at start: loaded, they cost a server
process about 7 MiB, and most processes never serve FHIR (bench/README.md, B9's idle memory).

**Identifiers.** A Practitioner, its PractitionerRole and its Schedule share the practitioner's
id (one role and one schedule per practice); a Location is a site. A Slot is named by what booking
needs, its visit reason and its start (``slot_id``): slots are computed, never stored, so the name
is the same each time the same free time is listed, and booking it asks the engine again.

**Validated once, as sent.** The builders here write plain JSON documents; the response class
(``app.fhir.router.FhirResponse``) and the error renderer pass every document through
``validated`` on its way out, a searchset Bundle with the resources it carries in one pass, so
nothing leaves unchecked and nothing is checked twice (a page of slots is mostly that check:
bench/README.md, B19).

**No visit reason to third parties** (charter C6, C7): a Slot names the reason it is free for
(reasons are public on the profile), but an Appointment never says its reason, not even through
the Slot it was booked from.
"""

from __future__ import annotations

import functools
import importlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from pydantic import TypeAdapter

from app.booking.views import FHIR_STATUS, AppointmentView, ProfileView, SiteView
from app.practice import professions
from app.schedule.slots import FreeSlots

#: erdv's own code systems (ids of fixed lists; docs/integrate.md "FHIR")
PROFESSION_SYSTEM = "urn:erdv:profession"
SPECIALTY_SYSTEM = "urn:erdv:specialty"
VISIT_REASON_SYSTEM = "urn:erdv:visit-reason"
PROBLEM_SYSTEM = "urn:erdv:problem"
#: the R4 extension that names a Location's IANA time zone
TIMEZONE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/timezone"

FHIR_MEDIA_TYPE = "application/fhir+json"
FHIR_VERSION = "4.0.1"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@functools.cache
def _model(resource_type: str, module: str | None = None) -> Any:
    """The R4B model of ``resource_type`` (an element such as ``BundleEntry`` names its module)."""
    found = importlib.import_module(f"fhir.resources.R4B.{(module or resource_type).lower()}")
    return getattr(found, resource_type)


def validated(resource: dict[str, Any]) -> dict[str, Any]:
    """``resource`` checked against its R4 structure, and served as it was built, without its
    empty (``None``) members; a resource this code builds wrong is a bug (500), never sent.

    The builders write JSON values already (strings, numbers, lists, objects), so the model that
    accepted them would dump the same document: dumping it again cost two thirds of a Slot page's
    time (bench/README.md, B19), for nothing."""
    if resource["resourceType"] != "Bundle":
        _model(resource["resourceType"]).model_validate(resource)
        return cast(dict[str, Any], _pruned(resource))
    # each resource against its own model, then the envelope without them: the Bundle's generic
    # ``resource`` member validates the same resources at twice the cost
    seen: set[str] = set()
    envelope = []
    for entry in resource.get("entry") or ():
        inner = entry["resource"]
        if not _seen_shape(inner, _VARYING.get(inner["resourceType"]), seen):
            _model(inner["resourceType"]).model_validate(inner)
        shell = _without(entry, "resource")
        if not _seen_shape(shell, _ENTRY_VARYING, seen):
            envelope.append(shell)
    _model("Bundle").model_validate(_pruned(dict(resource, entry=envelope)))
    return cast(dict[str, Any], _pruned(resource))


#: Per resource type, the members that tell one resource of a page from the next: the slots of a
#: page differ only in their id and times (their schedule, status and reason repeat), and the
#: entries that carry them only in their ``fullUrl``.
_VARYING: dict[str, tuple[str, ...]] = {"Slot": ("id", "start", "end")}
_ENTRY_VARYING = ("fullUrl",)


def _seen_shape(document: dict[str, Any], varying: tuple[str, ...] | None, seen: set[str]) -> bool:
    """True if a document of the same *shape* was already validated whole in this response, and
    then ``document``'s varying members are checked here; False (and the shape noted) if the
    caller must validate it whole.

    A shape is the document with its varying members reduced to whether they are present. A later
    document of a known shape differs from one the model accepted only in those members, so each
    is checked by the type the model declares for it (``_member``: ``id``'s pattern and length,
    ``instant``'s regex and time zone, ``uri``): the model's own check, at the cost of three
    primitives a slot instead of a model a slot, which was most of a FHIR page's time
    (bench/README.md, B19)."""
    if varying is None:
        return False
    kind = document.get("resourceType", "BundleEntry")
    rest = {k: (v is not None if k in varying else v) for k, v in document.items()}
    shape = kind + repr(rest)
    if shape not in seen:
        seen.add(shape)
        return False
    for name in varying:
        if document.get(name) is not None:
            _member(kind, name).validate_python(document[name])
    return True


@functools.cache
def _member(element: str, name: str) -> TypeAdapter[Any]:
    """The validator of one member of a resource or element, as its model declares it."""
    model = _model(element, "Bundle" if element == "BundleEntry" else None)
    return TypeAdapter(model.model_fields[name].annotation)


def _without(mapping: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if k != key}


def _pruned(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _pruned(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_pruned(v) for v in value]
    return value


def parse(resource_type: str, body: dict[str, Any]) -> Any:
    """A resource a client sent, checked against its structure (``pydantic.ValidationError``)."""
    return _model(resource_type).model_validate(body)


def bundle(
    base: str,
    resources: list[dict[str, Any]],
    *,
    self_url: str,
    next_url: str | None = None,
    total: int | None = None,
) -> dict[str, Any]:
    """A ``searchset`` Bundle of ``resources`` (validated with it when sent)."""
    links = [{"relation": "self", "url": self_url}]
    if next_url is not None:
        links.append({"relation": "next", "url": next_url})
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "timestamp": datetime.now(UTC).isoformat(),
        "total": total,
        "link": links,
        "entry": [
            {
                "fullUrl": f"{base}/{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in resources
        ],
    }


# --- the directory ------------------------------------------------------------------------------


def practitioner(view: ProfileView) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Practitioner",
        "id": str(view.id),
        "active": True,
        "name": [{"text": view.display_name}],
    }
    if view.titles:
        resource["qualification"] = [{"code": {"text": title}} for title in view.titles]
    return resource


def _coding(system: str, code: str, display: str | None) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": display}]}


def practitioner_role(view: ProfileView) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "PractitionerRole",
        "id": str(view.id),
        "active": True,
        "practitioner": {"reference": f"Practitioner/{view.id}", "display": view.display_name},
        "location": [{"reference": f"Location/{s.id}", "display": s.label} for s in view.sites],
    }
    if view.profession:
        found = professions.profession(view.profession)
        resource["code"] = [
            _coding(PROFESSION_SYSTEM, view.profession, found.label if found else None)
        ]
    if view.specialty:
        resource["specialty"] = [
            _coding(SPECIALTY_SYSTEM, view.specialty, professions.specialty_label(view.specialty))
        ]
    return resource


def location(site: SiteView) -> dict[str, Any]:
    return {
        "resourceType": "Location",
        "id": str(site.id),
        "status": "active",
        "name": site.label,
        "mode": "instance",
        "address": {
            "use": "work",
            "line": [site.address],
            "city": site.city,
            "postalCode": site.postcode or None,
            "country": "FR",
        },
        "extension": [{"url": TIMEZONE_EXTENSION, "valueCode": site.timezone}],
    }


def schedule(view: ProfileView, now: datetime) -> dict[str, Any]:
    horizon = view.booking_rules["max_horizon_days"]
    return {
        "resourceType": "Schedule",
        "id": str(view.id),
        "active": True,
        "actor": [
            {"reference": f"Practitioner/{view.id}", "display": view.display_name},
            *({"reference": f"Location/{s.id}", "display": s.label} for s in view.sites),
        ],
        "serviceType": [
            _coding(VISIT_REASON_SYSTEM, str(r.id), r.label) for r in view.visit_reasons
        ],
        "planningHorizon": {
            "start": now.isoformat(),
            "end": (now + timedelta(days=horizon)).isoformat(),
        },
    }


# --- slots ----------------------------------------------------------------------------------------


def slot_id(visit_reason_id: str, start_minute: int) -> str:
    """``<reason uuid hex>-<start in minutes since 1970, UTC>``: within FHIR's 64 characters of
    ``[A-Za-z0-9.-]``, and all that booking the slot needs."""
    return f"{uuid.UUID(visit_reason_id).hex}-{start_minute}"


def parse_slot_id(value: str) -> tuple[uuid.UUID, datetime] | None:
    """The visit reason and start a slot id names; None if it names nothing."""
    reason, _, minute = value.partition("-")
    if len(reason) != 32 or not minute.isdigit() or len(minute) > 10:
        return None
    try:
        return uuid.UUID(hex=reason), _EPOCH + timedelta(minutes=int(minute))
    except ValueError:
        return None


def _stamp(minute: int, offset: int) -> str:
    at = _EPOCH + timedelta(minutes=minute + offset)
    sign = "-" if offset < 0 else "+"
    hours, minutes = divmod(abs(offset), 60)
    return f"{at:%Y-%m-%dT%H:%M}:00{sign}{hours:02d}:{minutes:02d}"


def slots(
    practitioner_id: uuid.UUID, free: FreeSlots, labels: dict[str, str]
) -> list[dict[str, Any]]:
    """Free slots as ``Slot`` resources, in the practitioner's local time (with its offset)."""
    schedule_ref = {"reference": f"Schedule/{practitioner_id}"}
    out = []
    for start, end, start_offset, end_offset, reason, _site in free.rows:
        out.append(
            {
                "resourceType": "Slot",
                "id": slot_id(reason, start),
                "schedule": schedule_ref,
                "status": "free",
                "start": _stamp(start, start_offset),
                "end": _stamp(end, end_offset),
                "serviceType": [_coding(VISIT_REASON_SYSTEM, reason, labels.get(reason))],
            }
        )
    return out


# --- appointments -------------------------------------------------------------------------------


def appointment(view: AppointmentView) -> dict[str, Any]:
    """The patient's appointment, without its reason (C6, C7) or anything but who, when, where."""
    return _appointment(
        appointment_id=str(view.id),
        status=view.status,
        start=view.start,
        end=view.end,
        created=view.created_at,
        patient_id=view.patient_id,
        practitioner=(str(view.practitioner_id), view.practitioner_name),
        site_id=view.site_id,
    )


def booked_appointment(body: dict[str, Any], patient_id: uuid.UUID) -> dict[str, Any]:
    """A booking's answer (``AppointmentService.book``) as the Appointment it made."""
    return _appointment(
        appointment_id=body["id"],
        status=body["status"],
        start=datetime.fromisoformat(body["start"]),
        end=datetime.fromisoformat(body["end"]),
        created=datetime.fromisoformat(body["created_at"]),
        patient_id=patient_id,
        practitioner=(body["practitioner_id"], None),
        site_id=body.get("site_id"),
    )


def _appointment(
    *,
    appointment_id: str,
    status: str,
    start: datetime,
    end: datetime,
    created: datetime,
    patient_id: uuid.UUID | None,
    practitioner: tuple[str, str | None],
    site_id: uuid.UUID | str | None,
) -> dict[str, Any]:
    participants: list[dict[str, Any]] = []
    if patient_id is not None:
        participants.append({"actor": {"reference": f"Patient/{patient_id}"}, "status": "accepted"})
    practitioner_id, name = practitioner
    participants.append(
        {
            "actor": {"reference": f"Practitioner/{practitioner_id}", "display": name},
            "status": "accepted",
        }
    )
    if site_id is not None:
        participants.append({"actor": {"reference": f"Location/{site_id}"}, "status": "accepted"})
    return {
        "resourceType": "Appointment",
        "id": appointment_id,
        "status": FHIR_STATUS.get(status, "booked"),
        "start": start.isoformat(),
        "end": end.isoformat(),
        "minutesDuration": max(1, int((end - start).total_seconds() // 60)),
        "created": created.isoformat(),
        "participant": participants,
    }


# --- the capability statement ---------------------------------------------------------------------

#: what each resource type supports here: interactions and search parameters (R4 RESTful API)
_CAPABILITIES: tuple[tuple[str, tuple[str, ...], tuple[tuple[str, str, str], ...]], ...] = (
    ("Practitioner", ("read",), ()),
    (
        "PractitionerRole",
        ("read", "search-type"),
        (
            ("specialty", "token", f"{SPECIALTY_SYSTEM} codes (GET /api/v1/professions)"),
            ("practitioner", "reference", "Practitioner/{id}"),
        ),
    ),
    ("Location", ("read",), ()),
    ("Schedule", ("read", "search-type"), (("actor", "reference", "Practitioner/{id}"),)),
    (
        "Slot",
        ("search-type",),
        (
            ("schedule", "reference", "Schedule/{id} (required)"),
            ("start", "date", "ge/gt and lt/le; a week by default, 31 days at most"),
            ("status", "token", "free (only free slots are published)"),
            ("service-type", "token", f"{VISIT_REASON_SYSTEM}: a visit reason's id"),
        ),
    ),
    (
        "Appointment",
        ("read", "search-type", "create"),
        (("patient", "reference", "Patient/{id}: the token's patient only"),),
    ),
)


def capability_statement(base: str) -> dict[str, Any]:
    rest_resources = [
        {
            "type": kind,
            "interaction": [{"code": code} for code in interactions],
            "searchParam": [
                {"name": name, "type": kind_of, "documentation": doc}
                for name, kind_of, doc in params
            ]
            or None,
        }
        for kind, interactions, params in _CAPABILITIES
    ]
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-12-04",
        "publisher": "erdv",
        "kind": "instance",
        "software": {"name": "erdv"},
        "implementation": {"description": "erdv's FHIR R4 scheduling API", "url": base},
        "fhirVersion": FHIR_VERSION,
        "format": [FHIR_MEDIA_TYPE, "json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/"
                                    "restful-security-service",
                                    "code": "OAuth",
                                }
                            ]
                        }
                    ],
                    "description": "OAuth 2 bearer tokens of /oauth/token, with the JSON "
                    "API's scopes: slots:read, practitioners:read, appointments:read, "
                    "appointments:write. Public reads need no token.",
                },
                "resource": rest_resources,
            }
        ],
    }
