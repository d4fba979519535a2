"""The rows the booking repository returns, by name (the typed half of ``app.core.repository``).

The hot paths read with SQLAlchemy Core, whose rows are typed as ``Any``; each protocol here names
the columns a statement in ``statements`` selects, so the services that read them are type-checked
attribute by attribute. A row satisfies its protocol by its labels: change a statement's columns
and its protocol together.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol


class Busy(Protocol):
    """Time a slot may not overlap: an absence or an active appointment (``_busy``)."""

    @property
    def start_at(self) -> datetime: ...
    @property
    def end_at(self) -> datetime: ...


class PracticeBusy(Busy, Protocol):
    """Busy time of one of several practices (``busy_of_many``)."""

    @property
    def practitioner_id(self) -> uuid.UUID: ...


class Hours(Protocol):
    """What the engine needs of a practice: its zone, weekly hours and booking rules."""

    @property
    def timezone(self) -> str: ...
    @property
    def weekly(self) -> str: ...
    @property
    def min_notice_minutes(self) -> int: ...
    @property
    def max_horizon_days(self) -> int: ...


class Profile(Hours, Protocol):
    """A listed practice's public profile (``PROFILE_COLUMNS``)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def display_name(self) -> str: ...
    @property
    def search_name(self) -> str: ...
    @property
    def profession(self) -> str | None: ...
    @property
    def specialty(self) -> str | None: ...
    @property
    def address(self) -> str: ...
    @property
    def city(self) -> str: ...
    @property
    def convention_sector(self) -> str | None: ...
    @property
    def fees(self) -> str: ...
    @property
    def cancel_deadline_minutes(self) -> int: ...
    @property
    def rpps(self) -> str | None: ...


class BookingOffer(Hours, Protocol):
    """A practice's hours with one of its visit reasons, for one patient (``_booking_inputs``)."""

    @property
    def label(self) -> str | None: ...
    @property
    def duration_minutes(self) -> int | None: ...
    @property
    def new_patients(self) -> bool | None: ...
    @property
    def active(self) -> bool | None: ...
    @property
    def known(self) -> bool: ...


class AppointmentRow(Protocol):
    """An appointment with its practice's name, place, zone and deadline (``_appointments``)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def practitioner_id(self) -> uuid.UUID: ...
    @property
    def patient_id(self) -> uuid.UUID | None: ...  # None once anonymised
    @property
    def start_at(self) -> datetime: ...
    @property
    def end_at(self) -> datetime: ...
    @property
    def status(self) -> str: ...
    @property
    def channel(self) -> str: ...
    @property
    def visit_reason_ct(self) -> str | None: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def cancelled_at(self) -> datetime | None: ...
    @property
    def sequence(self) -> int: ...
    @property
    def timezone(self) -> str: ...
    @property
    def relative_id(self) -> uuid.UUID | None: ...


class PracticeAppointment(AppointmentRow, Protocol):
    """One appointment as its patient or practitioner reads it, with the practice's name, place
    and change deadline (``appointment``, ``of_patient``)."""

    @property
    def display_name(self) -> str: ...
    @property
    def address(self) -> str: ...
    @property
    def city(self) -> str: ...
    @property
    def cancel_deadline_minutes(self) -> int: ...
    @property
    def relative_name(self) -> str | None: ...


class AgendaRow(AppointmentRow, Protocol):
    """An appointment in the practitioner's agenda, with its patient's name and phone (``agenda``)."""

    @property
    def full_name(self) -> str: ...
    @property
    def phone(self) -> str | None: ...


class Noticed(Protocol):
    """An appointment as its notice describes it (``app.booking.notices``; ``booked_between``)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def patient_id(self) -> uuid.UUID | None: ...  # None once anonymised: nobody to tell
    @property
    def practitioner_id(self) -> uuid.UUID: ...
    @property
    def start_at(self) -> datetime: ...
    @property
    def end_at(self) -> datetime: ...
    @property
    def sequence(self) -> int: ...


class Replayed(Protocol):
    """The answer kept for an idempotency key (``_REPLAYED``)."""

    @property
    def request_hash(self) -> str: ...
    @property
    def appointment_id(self) -> uuid.UUID: ...
    @property
    def status_code(self) -> int: ...
    @property
    def response(self) -> str: ...
