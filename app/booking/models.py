"""Appointment tables: appointments, the cell grid that forbids double booking, idempotency keys.

**Cells** (``docs/security.md`` "Reliability"): an active appointment owns one ``booking_cell`` row
per 5-minute UTC cell it covers (``app.schedule.timegrid.cells``), under the primary key
(practitioner, cell start). Two appointments of one practitioner that overlap, whatever their
lengths, share a cell, so the second insert fails in the database whatever the timing; the cells are
deleted when the appointment is cancelled or moved, in the same transaction.

**Minimal data** (charter C7-C9): an appointment holds who, when, its status and channel, and the
visit reason (id and label) *encrypted* (``visit_reason_ct``, AES-GCM bound to the appointment id); the label
is erased (set to NULL) at cancellation and by the retention job after the visit. The same job
then forgets the visit's length (``end_at`` set to ``start_at``, its cells deleted): when a
practice's reasons differ in length, the length alone would name the reason.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime
from app.core.repository import table_of


class AppointmentStatus(StrEnum):
    BOOKED = "booked"
    CANCELLED = "cancelled"
    #: outcomes the practice records after the start (issue #25): the visit took place, or the
    #: patient did not come
    COMPLETED = "completed"
    NO_SHOW = "no_show"


class Channel(StrEnum):
    """How the booking came in (charter C8 accounting, and for the OAuth integration later)."""

    WEB = "web"
    OAUTH = "oauth"
    #: entered by the practice (its practitioner or a secretary), e.g. after a phone call
    PRACTICE = "practice"


class Appointment(SQLModel, table=True):
    __tablename__ = "appointment"
    __table_args__ = (
        sa.Index("ix_appointment_practitioner_start", "practitioner_id", "start_at"),
        sa.Index("ix_appointment_patient_start", "patient_id", "start_at"),
        # no index on end_at alone: PostgreSQL would read it for "end_at > now" in the busy-time
        # query and walk every practitioner's future appointments (migration 5c2d9e1b7f40)
        # "has this patient seen this practitioner before" (visit reasons closed to new
        # patients): one probe, not a scan of either's whole history
        # (bench/README.md "Performance rules in the code")
        sa.Index("ix_appointment_patient_practitioner", "patient_id", "practitioner_id"),
        # the reminders' window (app.notifications.reminders): booked appointments by start
        sa.Index(
            "ix_appointment_booked_start",
            "start_at",
            postgresql_where=sa.text("status = 'booked'"),
            sqlite_where=sa.text("status = 'booked'"),
        ),
        # the visit-reason retention job (C7) reads only the appointments that still hold one,
        # not the whole history, every hour
        sa.Index(
            "ix_appointment_reason_kept",
            "end_at",
            postgresql_where=sa.text("visit_reason_ct IS NOT NULL"),
            sqlite_where=sa.text("visit_reason_ct IS NOT NULL"),
        ),
        # the same job then forgets the length of every visit past its grace (C7: a length can
        # name the reason): it reads only those that still have one
        sa.Index(
            "ix_appointment_length_kept",
            "end_at",
            postgresql_where=sa.text("end_at <> start_at"),
            sqlite_where=sa.text("end_at <> start_at"),
        ),
        # the site is the practice's own (on the distribution column, app/distribution.py); no
        # ON DELETE SET NULL, which would null the practitioner too: the site's removal lets go
        # of the past visits held there first (``app.booking.absences.booked_at_site``)
        sa.ForeignKeyConstraint(
            ["site_id", "practitioner_id"], ["practice_site.id", "practice_site.practitioner_id"]
        ),
    )

    id: uuid.UUID = Field(sa_type=sa.Uuid, primary_key=True)
    #: in the key: the practitioner is the distribution column (app/distribution.py)
    practitioner_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("practice.id"), primary_key=True)
    )
    #: NULL once the visit is anonymised: its patient inactive for ``ERDV_APPOINTMENT_RETENTION_DAYS``
    #: (3 years, the privacy notice; ``app.booking.retention``)
    patient_id: uuid.UUID | None = Field(
        default=None, sa_column=sa.Column(sa.Uuid, sa.ForeignKey("account.id"), nullable=True)
    )
    #: the patient's relative the appointment is for (``app.accounts.relatives``), if not the
    #: patient: the account holder books and manages it, the practice sees the relative's name
    relative_id: uuid.UUID | None = Field(
        default=None, sa_column=sa.Column(sa.Uuid, sa.ForeignKey("relative.id"), nullable=True)
    )
    #: a person without an account the practice booked for (by phone): their name and the
    #: contacts they gave, the practice's data (kept as the practice's agenda is, then
    #: anonymised like any past visit; ``app.booking.retention``)
    contact_name: str | None = Field(default=None, max_length=200)
    contact_phone: str | None = Field(default=None, max_length=32)
    contact_email: str | None = Field(default=None, max_length=254)
    #: the practice's site the visit is at (API "Sites"), from the booked slot's block; NULL for
    #: visits booked before sites existed, or once their site was removed: the practice's address
    site_id: uuid.UUID | None = Field(default=None, sa_type=sa.Uuid)
    start_at: datetime = Field(sa_type=UTCDateTime)
    end_at: datetime = Field(sa_type=UTCDateTime)
    status: str = Field(max_length=16)
    channel: str = Field(max_length=16)
    #: the visit reason (its id and label, JSON) encrypted; NULL once erased (cancellation,
    #: retention). The id is inside too: visit reason labels are public on the profile, so a
    #: clear id would reveal the reason just as well.
    visit_reason_ct: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = Field(sa_type=UTCDateTime)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancelled_by: str | None = Field(default=None, max_length=16)
    #: raised at each change (a move, the cancellation): the iCalendar SEQUENCE (RFC 5545 3.8.7.4)
    #: of every invitation and download, so a calendar keeps the latest
    sequence: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    #: when the current time was set (booked or last moved): a reminder whose hour had already
    #: passed then is not sent (the confirmation just told the patient)
    changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CalendarFeed(SQLModel, table=True):
    """A practice's secret calendar feed (issue #26, ``app.booking.feed``): the hash of the token
    its URL holds. One per practice; a new one replaces it, deleting it revokes it at once."""

    __tablename__ = "calendar_feed"
    __table_args__ = (
        # unique with the practice (the distribution column, app/distribution.py); a fetch finds
        # its feed by the hash alone, through this index's first column
        sa.UniqueConstraint("token_hash", "practice_id", name="uq_calendar_feed_token_practice"),
    )

    practice_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("practice.id", ondelete="CASCADE"), primary_key=True
        )
    )
    token_hash: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)


class BookingCell(SQLModel, table=True):
    __tablename__ = "booking_cell"
    __table_args__ = (
        # the appointment is the practitioner's own (the distribution column, app/distribution.py)
        sa.ForeignKeyConstraint(
            ["appointment_id", "practitioner_id"],
            ["appointment.id", "appointment.practitioner_id"],
            ondelete="CASCADE",
        ),
    )

    practitioner_id: uuid.UUID = Field(sa_type=sa.Uuid, primary_key=True)
    cell_at: datetime = Field(sa_type=UTCDateTime, primary_key=True)
    appointment_id: uuid.UUID = Field(sa_type=sa.Uuid, index=True)


class IdempotencyKey(SQLModel, table=True):
    """The first answer to a booking sent with ``Idempotency-Key``, per caller and key.

    ``request_hash`` fingerprints the body: the same key with another body is refused (422
    ``idempotency_key_reused``) rather than answered with a booking the caller did not ask for.
    Kept for 24 hours (the retention job removes older ones).
    """

    __tablename__ = "idempotency_key"

    account_id: uuid.UUID = Field(sa_type=sa.Uuid, primary_key=True)
    key: str = Field(max_length=255, primary_key=True)
    request_hash: str = Field(max_length=64)
    appointment_id: uuid.UUID = Field(sa_type=sa.Uuid)
    status_code: int
    response: str = Field(sa_type=sa.Text)
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)


class WaitlistStatus(StrEnum):
    WAITING = "waiting"
    #: a freed slot is held for the entry (its pending ``WaitlistOffer``)
    OFFERED = "offered"


class WaitlistEntry(SQLModel, table=True):
    """A patient's request for an earlier slot with a practitioner (``app.booking.waitlist``):
    for one visit reason, starting before ``before_at``. Served in order of request
    (``created_at``, then id). The visit reason is sealed like an appointment's (C7; AES-GCM bound
    to the entry's id). An entry lives only while it is useful: it is deleted when the patient
    books that practitioner, leaves the list, or its date passes."""

    __tablename__ = "waitlist_entry"
    __table_args__ = (
        sa.Index("ix_waitlist_practitioner_order", "practitioner_id", "created_at", "id"),
        # one request per patient and practitioner, whatever the timing of two joins
        sa.UniqueConstraint(
            "patient_id", "practitioner_id", name="uq_waitlist_patient_practitioner"
        ),
    )

    id: uuid.UUID = Field(sa_type=sa.Uuid, primary_key=True)
    patient_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("account.id", ondelete="CASCADE"), nullable=False
        )
    )
    #: in the key: the practitioner is the distribution column (app/distribution.py)
    practitioner_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("practice.id", ondelete="CASCADE"), primary_key=True
        )
    )
    visit_reason_ct: str = Field(sa_type=sa.Text)
    before_at: datetime = Field(sa_type=UTCDateTime)
    status: str = Field(default=WaitlistStatus.WAITING.value, max_length=16)
    created_at: datetime = Field(sa_type=UTCDateTime)


class WaitlistOffer(SQLModel, table=True):
    """A freed slot offered to a waiting entry and held for it until ``hold_until``: the slot
    lists and bookings count it as busy meanwhile (``statements._busy``). One offer per entry and
    start (an entry is never offered the same time twice); deleted with its entry."""

    __tablename__ = "waitlist_offer"
    __table_args__ = (
        sa.UniqueConstraint(
            "entry_id", "start_at", "practitioner_id", name="uq_waitlist_offer_entry_start"
        ),
        sa.Index("ix_waitlist_offer_hold", "practitioner_id", "hold_until"),
        # the entry is the practitioner's own (the distribution column, app/distribution.py)
        sa.ForeignKeyConstraint(
            ["entry_id", "practitioner_id"],
            ["waitlist_entry.id", "waitlist_entry.practitioner_id"],
            ondelete="CASCADE",
        ),
    )

    id: uuid.UUID = Field(sa_type=sa.Uuid, primary_key=True)
    entry_id: uuid.UUID = Field(sa_type=sa.Uuid)
    #: in the key: the practitioner is the distribution column (app/distribution.py)
    practitioner_id: uuid.UUID = Field(sa_type=sa.Uuid, primary_key=True)
    start_at: datetime = Field(sa_type=UTCDateTime)
    end_at: datetime = Field(sa_type=UTCDateTime)
    site_id: uuid.UUID | None = Field(default=None, sa_type=sa.Uuid)
    #: the hold's end; an offer past it has lapsed (no longer busy time, whatever the job did)
    hold_until: datetime = Field(sa_type=UTCDateTime)
    #: True while the offer stands; False once lapsed (kept so the entry is not offered it again)
    pending: bool = Field(default=True)
    created_at: datetime = Field(sa_type=UTCDateTime)


appointment_table = table_of(Appointment)
cell_table = table_of(BookingCell)
idempotency_table = table_of(IdempotencyKey)
feed_table = table_of(CalendarFeed)
waitlist_table = table_of(WaitlistEntry)
offer_table = table_of(WaitlistOffer)
