"""Request and response bodies of the directory and appointment routes (docs/api.md)."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, Field, StringConstraints, field_validator, model_validator

from app.accounts.schemas import e164, normalize_email
from app.core.schemas import CalendarDate, Instant, Schema
from app.schedule.slots import FreeSlots


class VisitReasonPublic(BaseModel):
    id: uuid.UUID
    label: str
    duration_minutes: int
    new_patients: bool
    generic: bool = Field(
        default=False,
        description="The practice asks no visit reason (charter C6): its one reason stands for "
        "any visit and says nothing of why",
    )


class BookingRulesPublic(BaseModel):
    min_notice_minutes: int
    max_horizon_days: int
    cancel_deadline_minutes: int


class SitePublic(BaseModel):
    id: uuid.UUID
    label: str
    address: str
    city: str
    postcode: str
    timezone: str


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
    titles: list[str] = Field(description="The titles the practitioner states (charter C2)")
    practice_mode: Literal["liberal", "salaried", "mixed"] | None = Field(
        description="Mode of practice (C2): private (libéral), salaried, or both"
    )
    directory_url: str | None
    visit_reasons: list[VisitReasonPublic]
    booking_rules: BookingRulesPublic
    sites: list[SitePublic] = Field(
        default_factory=list, description="Where the practitioner receives, the main site first"
    )


class SlotRead(BaseModel):
    start: datetime = Field(description="In the site's zone, RFC 3339 with offset")
    end: datetime
    visit_reason_id: uuid.UUID
    site_id: uuid.UUID | None = Field(description="The site the slot is at (see the profile)")


class ProfileWithSlots(Profile):
    slots: list[SlotRead] | None = Field(
        default=None, description="Free slots, only when the search asked for them (slots_days)"
    )
    next_slot: SlotRead | None = Field(
        default=None,
        description="The earliest slot bookable now (any visit reason), or null if none is "
        "open within the practice's booking horizon",
    )


class ProfilePage(BaseModel):
    items: list[ProfileWithSlots]
    next_cursor: str | None


#: "T09:30:00" for each minute of the day
_CLOCK: Final = tuple(f"T{h:02d}:{m:02d}:00" for h in range(24) for m in range(60))
_EPOCH_DAY: Final = date(1970, 1, 1).toordinal()


def _stamp(minute: int, offset: int, days: dict[int, str], zones: dict[int, str]) -> str:
    """Minute ``minute`` since the epoch at ``offset`` minutes from UTC, as ``datetime.isoformat``
    writes it for the fixed-offset datetimes of ``Slot`` (``2027-03-29T09:00:00+02:00``); ``days``
    and ``zones`` keep the texts of dates and offsets already written."""
    day, clock = divmod(minute + offset, 1440)
    day_text = days.get(day)
    if day_text is None:
        day_text = days[day] = date.fromordinal(_EPOCH_DAY + day).isoformat()
    zone_text = zones.get(offset)
    if zone_text is None:
        hours, minutes = divmod(abs(offset), 60)
        zone_text = zones[offset] = f"{'-' if offset < 0 else '+'}{hours:02d}:{minutes:02d}"
    return day_text + _CLOCK[clock] + zone_text


def slots_text(free: FreeSlots) -> str:
    """A slot list as ``list[SlotRead]`` JSON, written directly: a week holds hundreds of slots,
    and one model, or one dict and two ``isoformat`` calls, per slot was most of the route's time.

    Each instant is formatted once (one slot's end is usually the next one's start); the offset is
    a function of the instant, since all the slots are one practitioner's.
    """
    stamps: dict[int, str] = {}
    days: dict[int, str] = {}
    zones: dict[int, str] = {}
    reasons: dict[str, str] = {}
    parts = []
    for start, end, start_offset, end_offset, reason, site in free.rows:
        opens = stamps.get(start)
        if opens is None:
            opens = stamps[start] = _stamp(start, start_offset, days, zones)
        closes = stamps.get(end)
        if closes is None:
            closes = stamps[end] = _stamp(end, end_offset, days, zones)
        quoted = reasons.get(reason)
        if quoted is None:
            quoted = reasons[reason] = json.dumps(reason, ensure_ascii=False)
        where = f'"{site}"' if site else "null"  # a site id is a UUID: nothing to escape
        parts.append(
            f'{{"start":"{opens}","end":"{closes}","visit_reason_id":{quoted},"site_id":{where}}}'
        )
    return f"[{','.join(parts)}]"


def slots_json(free: FreeSlots) -> bytes:
    """The body of a slot list (``list[SlotRead]``)."""
    return slots_text(free).encode()


class BookingIn(Schema):
    practitioner_id: uuid.UUID
    visit_reason_id: uuid.UUID
    start: Instant
    #: one of the caller's relatives, when the appointment is for them (404 for anyone else's)
    relative_id: uuid.UUID | None = None


#: why the practice cancels, for the patient's notice: a fixed list, never free text (a sentence
#: typed in a hurry could carry health data into a mail, docs/api.md "Notifications")
CancelReason = Literal[
    "practitioner_unavailable", "emergency", "practice_closed", "to_be_rescheduled"
]


class CancelIn(Schema):
    #: the practice's reason, told to the patient; a patient's cancellation gives none
    reason: CancelReason | None = None


class RescheduleIn(Schema):
    start: Instant


class RelativeRef(BaseModel):
    id: uuid.UUID
    full_name: str


class Booked(BaseModel):
    id: uuid.UUID
    practitioner_id: uuid.UUID
    visit_reason_id: uuid.UUID | None
    start: datetime
    end: datetime
    status: Literal["booked", "cancelled", "completed", "no_show"]
    channel: str
    created_at: datetime
    #: the caller's relative it is for; null if for the caller
    relative: RelativeRef | None = None
    #: the practice's site it is at (the profile's ``sites``)
    site_id: uuid.UUID | None = None


class AppointmentRead(BaseModel):
    id: uuid.UUID
    practitioner_id: uuid.UUID
    #: null once anonymised (the patient inactive for 3 years: the privacy notice)
    patient_id: uuid.UUID | None
    #: null once the visit reason has been erased (charter C7)
    visit_reason_id: uuid.UUID | None
    visit_reason: str | None
    start: datetime
    end: datetime
    status: Literal["booked", "cancelled", "completed", "no_show"]
    channel: str
    created_at: datetime
    cancelled_at: datetime | None
    practitioner_name: str
    address: str
    city: str
    #: the practitioner's IANA time zone, the one ``start`` and ``end`` are given in (docs/api.md "Time")
    timezone: str
    changes_until: datetime | None = Field(
        default=None,
        description="Until when the patient may cancel or move it online (the practice's "
        "deadline; later, 409 cancel_deadline_passed); null once cancelled",
    )
    relative: RelativeRef | None = Field(
        default=None, description="The patient's relative it is for; null if for the patient"
    )
    site_id: uuid.UUID | None = Field(
        default=None,
        description="The practice's site it is at (address, city and timezone are that site's); "
        "null for a visit booked before sites existed, at the practice's address",
    )


class AgendaPatient(BaseModel):
    #: null once the visit is anonymised: no name, no phone either
    id: uuid.UUID | None
    full_name: str
    phone: str | None
    #: the address a practice booking gave, for someone without an account
    email: str | None = None
    #: how many times this patient did not come to this practice (its own record only)
    no_shows: int = 0


class AgendaItem(BaseModel):
    id: uuid.UUID
    visit_reason_id: uuid.UUID | None
    visit_reason: str | None
    start: datetime
    end: datetime
    status: Literal["booked", "cancelled", "completed", "no_show"]
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


class RelativeIn(Schema):
    """``POST /api/v1/me/relatives``: a name and a birth date, nothing else (minimisation)."""

    full_name: str = Field(min_length=1, max_length=200, pattern=r"\S")
    birth_date: CalendarDate


class RelativeUpdate(Schema):
    """``PATCH /api/v1/me/relatives/{id}``: only the fields sent change."""

    full_name: str | None = Field(default=None, min_length=1, max_length=200, pattern=r"\S")
    birth_date: CalendarDate | None = None

    def changes(self) -> dict[str, object]:
        return {
            name: getattr(self, name)
            for name in self.model_fields_set
            if getattr(self, name) is not None
        }


class RelativeOut(BaseModel):
    id: uuid.UUID
    full_name: str
    birth_date: date | None


class WalkInPatient(Schema):
    """Someone without an account the practice books for (by phone): a name, and a phone and/or
    an address to reach them (the notices go to the address, if given)."""

    full_name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)
    ]
    phone: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=254)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return e164(value) if value else None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return normalize_email(value) if value else None


class PracticeBookingIn(Schema):
    """A booking the practice enters: for one of its patients (``patient_id``) or for someone
    without an account (``patient``), exactly one of the two."""

    visit_reason_id: uuid.UUID
    start: Instant
    patient_id: uuid.UUID | None = None
    patient: WalkInPatient | None = None

    @model_validator(mode="after")
    def _one_patient(self) -> PracticeBookingIn:
        if (self.patient_id is None) == (self.patient is None):
            raise ValueError("give either patient_id or patient")
        return self


class OutcomeIn(Schema):
    status: Literal["completed", "no_show"]


class KnownPatient(BaseModel):
    id: uuid.UUID
    full_name: str
    phone: str | None


class DeskHours(BaseModel):
    """A practice's hours and visit reasons, for its desk's agenda grid."""

    display_name: str
    timezone: str
    weekly: list[dict[str, Any]]
    visit_reasons: list[VisitReasonPublic]


class FeedRead(BaseModel):
    #: the feed's secret URL: whoever holds it reads the agenda's times and patients' names
    url: str


class FeedStatus(BaseModel):
    #: whether a feed URL is live; the URL itself was shown once and is not kept
    active: bool
    created_at: datetime | None


class WaitlistIn(Schema):
    visit_reason_id: uuid.UUID
    before: Instant = Field(
        description="The patient wants a slot starting before this instant (RFC 3339 with offset)"
    )


class WaitlistOfferRead(BaseModel):
    start: datetime = Field(description="In the practice's zone")
    end: datetime
    site_id: uuid.UUID | None
    hold_until: datetime = Field(description="Held for the patient until then; claim it before")


class HeldSlotRead(BaseModel):
    """A slot the waiting list holds, as the practice's agenda shows it: times only."""

    start: datetime = Field(description="In the practice's zone")
    end: datetime
    site_id: uuid.UUID | None
    hold_until: datetime = Field(
        description="Held for a waiting patient until then; free again after, unless claimed"
    )


class WaitlistEntryRead(BaseModel):
    id: uuid.UUID
    practitioner_id: uuid.UUID
    practitioner_name: str
    timezone: str = Field(description="The practice's zone, the one the times are given in")
    visit_reason_id: uuid.UUID | None
    before: datetime
    status: Literal["waiting", "offered"]
    created_at: datetime
    offer: WaitlistOfferRead | None = Field(
        description="The slot held for this request now, if one was offered"
    )
