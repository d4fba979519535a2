"""Request and response bodies of the directory and appointment routes (shared/API.md)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field

from app.booking.slots import Slot
from app.core.schemas import Schema


class VisitReasonPublic(BaseModel):
    id: uuid.UUID
    label: str
    duration_minutes: int
    new_patients: bool


class BookingRulesPublic(BaseModel):
    min_notice_minutes: int
    max_horizon_days: int
    cancel_deadline_minutes: int


class Profile(BaseModel):
    id: uuid.UUID
    display_name: str
    profession: str | None
    specialty: str | None
    city: str
    address: str
    timezone: str
    convention_sector: str | None
    fees: str
    directory_url: str | None
    visit_reasons: list[VisitReasonPublic]
    booking_rules: BookingRulesPublic


class SlotRead(BaseModel):
    start: datetime = Field(description="In the practitioner's zone, RFC 3339 with offset")
    end: datetime
    visit_reason_id: uuid.UUID


class ProfileWithSlots(Profile):
    slots: list[SlotRead] | None = Field(
        default=None, description="Free slots, only when the search asked for them (slots_days)"
    )


class ProfilePage(BaseModel):
    items: list[ProfileWithSlots]
    next_cursor: str | None


def slot_dicts(slots: Iterable[Slot]) -> list[dict[str, str]]:
    """Slots as ``SlotRead`` JSON objects, written directly: RFC 3339 with the practitioner's
    offset, as ``datetime.isoformat`` gives for the fixed-offset instants slots carry."""
    return [
        {
            "start": s.start.isoformat(),
            "end": s.end.isoformat(),
            "visit_reason_id": s.visit_reason_id,
        }
        for s in slots
    ]


def slots_json(slots: Iterable[Slot]) -> bytes:
    """The body of a slot list (``list[SlotRead]``)."""
    return json.dumps(slot_dicts(slots), separators=(",", ":"), ensure_ascii=False).encode()


class BookingIn(Schema):
    practitioner_id: uuid.UUID
    visit_reason_id: uuid.UUID
    start: AwareDatetime


class RescheduleIn(Schema):
    start: AwareDatetime


class Booked(BaseModel):
    id: uuid.UUID
    practitioner_id: uuid.UUID
    visit_reason_id: uuid.UUID | None
    start: datetime
    end: datetime
    status: Literal["booked", "cancelled"]
    channel: str
    created_at: datetime


class AppointmentRead(BaseModel):
    id: uuid.UUID
    practitioner_id: uuid.UUID
    patient_id: uuid.UUID
    #: null once the visit reason has been erased (charter C7)
    visit_reason_id: uuid.UUID | None
    visit_reason: str | None
    start: datetime
    end: datetime
    status: Literal["booked", "cancelled"]
    channel: str
    created_at: datetime
    cancelled_at: datetime | None
    practitioner_name: str
    address: str
    city: str
    #: the practitioner's IANA time zone, the one ``start`` and ``end`` are given in (API.md)
    timezone: str


class AgendaPatient(BaseModel):
    id: uuid.UUID
    full_name: str
    phone: str | None


class AgendaItem(BaseModel):
    id: uuid.UUID
    visit_reason_id: uuid.UUID | None
    visit_reason: str | None
    start: datetime
    end: datetime
    status: Literal["booked", "cancelled"]
    channel: str
    created_at: datetime
    cancelled_at: datetime | None
    patient: AgendaPatient


class FhirBundle(BaseModel):
    resourceType: Literal["Bundle"]  # noqa: N815 - the FHIR field name
    type: Literal["collection"]
    timestamp: str
    total: int
    entry: list[dict[str, Any]]
