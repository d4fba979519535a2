"""What the booking services hand to the router: directory profiles, pages, appointments, and the
small pure helpers that shape them (cursors, change deadlines, the visit reason's associated data)."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from app.accounts.principal import Principal
from app.booking.errors import (
    InvalidQuery,
)
from app.booking.models import AppointmentStatus, Channel
from app.booking.rows import Hours
from app.schedule.model import BookingRules
from app.schedule.slots import FreeSlots
from app.schedule.timegrid import in_zone

MAX_PAGE = 50


MAX_LIST = 200


IDEMPOTENCY_TTL = timedelta(hours=24)


#: where a search first looks for each result's next slot (most agendas have one within a week)
NEXT_SLOT_FIRST_SPAN = timedelta(days=7)


@dataclass(frozen=True)
class VisitReasonView:
    id: uuid.UUID
    label: str
    duration_minutes: int
    new_patients: bool
    #: the practice asks no reason (C6): this one stands for any visit, the patient picks nothing
    generic: bool = False


@dataclass(frozen=True)
class SiteView:
    id: uuid.UUID
    label: str
    address: str
    city: str
    postcode: str
    timezone: str


@dataclass(frozen=True)
class ProfileView:
    id: uuid.UUID
    display_name: str
    profession: str | None
    specialty: str | None
    city: str
    address: str
    timezone: str
    convention_sector: str | None
    fees: str
    titles: list[str]
    practice_mode: str | None
    directory_url: str | None
    visit_reasons: list[VisitReasonView]
    booking_rules: dict[str, int]
    sites: list[SiteView] = dataclasses.field(default_factory=list)
    #: free slots, only when a search asked for them (``slots_days``)
    slots: FreeSlots | None = None
    #: the earliest bookable slot (one row), searches only; empty when there is none
    next_slot: FreeSlots | None = None


@dataclass(frozen=True)
class Page:
    items: list[ProfileView]
    next_cursor: str | None


@dataclass(frozen=True)
class AppointmentView:
    id: uuid.UUID
    practitioner_id: uuid.UUID
    #: None once anonymised (``app.booking.retention``)
    patient_id: uuid.UUID | None
    visit_reason_id: uuid.UUID | None
    visit_reason: str | None
    start: datetime
    end: datetime
    status: str
    channel: str
    created_at: datetime
    cancelled_at: datetime | None
    practitioner_name: str
    address: str
    city: str
    #: the practitioner's IANA zone: start and end are given in it, and a client shows them there
    timezone: str
    #: until when the patient may still cancel or move it online (the practice's deadline)
    changes_until: datetime | None = None
    patient_name: str | None = None
    patient_phone: str | None = None
    #: the agenda's: a practice booking's address (no account), and the patient's no-shows here
    patient_email: str | None = None
    no_shows: int = 0
    #: the patient's relative it is for, if not the patient (``app.accounts.relatives``)
    relative_id: uuid.UUID | None = None
    relative_name: str | None = None
    #: the site it is at (``address``, ``city`` and ``timezone`` are that site's)
    site_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Booked:
    """A booking's answer: ``replayed`` when it is the stored first answer to a retried key."""

    status_code: int
    body: dict[str, Any]
    replayed: bool = False


def changes_until(row: Any, tz: ZoneInfo) -> datetime | None:
    """The last instant a patient may cancel or move a booked appointment online (``_check_deadline``
    refuses after it), so a client offers only what will work."""
    deadline = getattr(row, "cancel_deadline_minutes", None)
    if deadline is None or row.status != AppointmentStatus.BOOKED.value:
        return None
    return in_zone(row.start_at - timedelta(minutes=deadline), tz)


def visit_reason_aad(appointment_id: uuid.UUID) -> str:
    """AES-GCM associated data: a ciphertext moved to another appointment does not decrypt."""
    return f"appointment:{appointment_id}:visit_reason"


def zone_named(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def rules_of(row: Hours) -> BookingRules:
    return BookingRules(
        min_notice_minutes=row.min_notice_minutes, max_horizon_days=row.max_horizon_days
    )


def caller_key(principal: Principal, key: str) -> str:
    """Idempotency keys are per caller: the patient on the web and each application acting for
    them have their own key space. Stored hashed: no client-chosen string lands in the table."""
    caller = principal.actor.client_id or "web"
    return hashlib.sha256(f"{caller}\x1f{key}".encode()).hexdigest()


def channel_of(principal: Principal) -> str:
    return Channel.OAUTH.value if principal.actor.client_id else Channel.WEB.value


def encode_cursor(search_name: str, practitioner_id: uuid.UUID) -> str:
    raw = json.dumps([search_name, str(practitioner_id)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        name, practitioner_id = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        return str(name), uuid.UUID(str(practitioner_id))
    except (ValueError, TypeError, binascii.Error, UnicodeError) as error:
        raise InvalidQuery(
            "This cursor is not valid.", errors=[{"field": "cursor", "message": "invalid cursor"}]
        ) from error


#: erdv's appointment statuses in FHIR R4 words (AppointmentStatus): the patient's export and the
#: practice's reversibility export say them alike
FHIR_STATUS = {
    "booked": "booked",
    "cancelled": "cancelled",
    "completed": "fulfilled",
    "no_show": "noshow",
}
