"""The booking domain's statements, built once per process: building a statement and computing its
cache key cost several times what running it does, so the repository binds values to these
prebuilt statements as parameters (bench/README.md "Performance rules in the code")."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import Any

import sqlalchemy as sa

from app.accounts.models import Account, Relative
from app.booking.models import (
    AppointmentStatus,
    appointment_table,
    cell_table,
    idempotency_table,
    offer_table,
)
from app.core.db import UTCDateTime, insert_for
from app.core.repository import table_of
from app.practice.models import (
    absence_table,
    listed_clause,
    practice_table,
    visit_reason_table,
)

account_table = table_of(Account)
relative_table = table_of(Relative)
p = practice_table
a = appointment_table
o = offer_table
BOOKED = AppointmentStatus.BOOKED.value

#: the profile columns every public answer needs, plus the RPPS for ``directory_url``
PROFILE_COLUMNS = (
    p.c.id,
    p.c.display_name,
    p.c.search_name,
    p.c.profession,
    p.c.specialty,
    p.c.address,
    p.c.city,
    p.c.timezone,
    p.c.convention_sector,
    p.c.fees,
    p.c.titles,
    p.c.practice_mode,
    p.c.min_notice_minutes,
    p.c.max_horizon_days,
    p.c.cancel_deadline_minutes,
    p.c.weekly,
    p.c.overrides,
    p.c.site_zones,
    account_table.c.rpps,
)


@cache
def _profiles() -> sa.Select[Any]:
    return (
        sa.select(*PROFILE_COLUMNS)
        .select_from(p.join(account_table, account_table.c.id == p.c.id))
        .where(listed_clause())
    )


@cache
def _profile_with_reasons() -> sa.Select[Any]:
    """One listed practice by id, one row per active visit reason (or one row with none)."""
    v = visit_reason_table
    return (
        sa.select(
            *PROFILE_COLUMNS,
            v.c.id.label("reason_id"),
            v.c.label.label("reason_label"),
            v.c.duration_minutes.label("reason_minutes"),
            v.c.new_patients.label("reason_new_patients"),
            v.c.generic.label("reason_generic"),
        )
        .select_from(
            p.join(account_table, account_table.c.id == p.c.id).outerjoin(
                v, sa.and_(v.c.practitioner_id == p.c.id, v.c.active.is_(True))
            )
        )
        .where(p.c.id == sa.bindparam("practitioner_id"), listed_clause())
        .order_by(v.c.created_at, v.c.id)
    )


@cache
def _visit_reasons() -> sa.Select[Any]:
    v = visit_reason_table
    return (
        sa.select(
            v.c.id,
            v.c.practitioner_id,
            v.c.label,
            v.c.duration_minutes,
            v.c.new_patients,
            v.c.generic,
        )
        .where(v.c.practitioner_id.in_(sa.bindparam("ids", expanding=True)), v.c.active.is_(True))
        .order_by(v.c.created_at, v.c.id)
    )


@cache
def _busy(*, many: bool, excluding: bool) -> sa.CompoundSelect[Any]:
    """Busy time overlapping ``[:start, :end)`` of one practitioner (``:practitioner_id``) or several
    (``:ids``): absences, booked appointments and the waiting list's holds still running at
    ``:now``; without appointment or offer ``:exclude`` if ``excluding`` (see ``busy_of_many``)."""

    def whose(column: sa.Column[Any]) -> sa.ColumnElement[bool]:
        if many:
            return column.in_(sa.bindparam("ids", expanding=True))
        return column == sa.bindparam("practitioner_id")

    start: sa.BindParameter[datetime] = sa.bindparam("start")
    end: sa.BindParameter[datetime] = sa.bindparam("end")
    absences = sa.select(
        absence_table.c.practitioner_id, absence_table.c.start_at, absence_table.c.end_at
    ).where(
        whose(absence_table.c.practitioner_id),
        absence_table.c.start_at < end,
        absence_table.c.end_at > start,
    )
    bookings = sa.select(a.c.practitioner_id, a.c.start_at, a.c.end_at).where(
        whose(a.c.practitioner_id),
        a.c.status == BOOKED,
        a.c.start_at < end,
        a.c.start_at > sa.bindparam("since"),
        a.c.end_at > start,
    )
    # slots held for a patient of the waiting list (``app.booking.waitlist``) until their hold ends
    holds = sa.select(o.c.practitioner_id, o.c.start_at, o.c.end_at).where(
        whose(o.c.practitioner_id),
        o.c.hold_until > sa.bindparam("now"),
        o.c.pending.is_(True),
        o.c.start_at < end,
        o.c.end_at > start,
    )
    if excluding:
        # the appointment being moved, or the offer being claimed: ids of either, never equal
        bookings = bookings.where(a.c.id != sa.bindparam("exclude"))
        holds = holds.where(o.c.id != sa.bindparam("exclude"))
    return sa.union_all(absences, bookings, holds)


@cache
def _slot_inputs() -> sa.CompoundSelect[Any]:
    """What a slot list needs, in one round trip: the listed practice's schedule, one row per active
    visit reason (or one row with none), then its busy time (``_busy``), told apart by ``busy``. One
    statement, because a round trip to PostgreSQL is a large share of a slot list; the schedule and
    the busy time also come from one snapshot (bench/README.md "Performance rules in the code")."""
    v = visit_reason_table
    busy = _busy(many=False, excluding=False).subquery("busy")
    schedule = (
        sa.select(
            sa.false().label("busy"),
            p.c.timezone,
            p.c.weekly,
            p.c.overrides,
            p.c.site_zones,
            p.c.min_notice_minutes,
            p.c.max_horizon_days,
            v.c.id.label("reason_id"),
            v.c.duration_minutes.label("reason_minutes"),
            # typed here: the compound's rows are read with the first SELECT's column types
            sa.type_coerce(sa.null(), UTCDateTime()).label("start_at"),
            sa.type_coerce(sa.null(), UTCDateTime()).label("end_at"),
        )
        .select_from(p.outerjoin(v, sa.and_(v.c.practitioner_id == p.c.id, v.c.active.is_(True))))
        .where(p.c.id == sa.bindparam("practitioner_id"), listed_clause())
    )
    nothing = [sa.null()] * 8
    return sa.union_all(schedule, sa.select(sa.true(), *nothing, busy.c.start_at, busy.c.end_at))


@dataclass(frozen=True, slots=True)
class SlotInputs:
    """A listed practice's schedule (``timezone``, ``weekly``, booking rules), its visit reasons'
    durations by id, and its busy time (rows with ``start_at`` and ``end_at``)."""

    practice: Any
    durations: dict[str, int]
    busy: list[Any]


@dataclass(frozen=True, slots=True)
class ReasonRow:
    """An active visit reason, as ``visit_reasons`` gives it."""

    id: uuid.UUID
    practitioner_id: uuid.UUID
    label: str
    duration_minutes: int
    new_patients: bool
    #: the one reason of a practice that asks none (C6)
    generic: bool = False


class Inserted(StrEnum):
    BOOKED = "booked"
    SLOT_TAKEN = "slot_taken"
    KEY_TAKEN = "key_taken"


#: no appointment lasts longer (visit reasons are at most 480 minutes, ``app.practice.schemas``)
LONGEST_VISIT = timedelta(days=1)


# The booking's statements are built once: building a statement and computing its cache key cost
# several times what running it does (bench/README.md "Performance rules in the code"). Values
# travel as bound parameters.


@cache
def _booking_inputs() -> sa.Select[Any]:
    """``FOR SHARE OF practice`` on PostgreSQL: bookings run side by side, but an absence or new
    opening hours (``FOR UPDATE`` on the same row) wait for them, and they for it."""
    v = visit_reason_table
    known = sa.exists().where(
        a.c.practitioner_id == p.c.id, a.c.patient_id == sa.bindparam("patient_id")
    )
    return (
        sa.select(
            p.c.timezone,
            p.c.weekly,
            p.c.overrides,
            p.c.site_zones,
            p.c.min_notice_minutes,
            p.c.max_horizon_days,
            v.c.label,
            v.c.duration_minutes,
            v.c.new_patients,
            v.c.active,
            v.c.generic,
            known.label("known"),
        )
        .select_from(
            p.outerjoin(
                v,
                sa.and_(v.c.id == sa.bindparam("visit_reason_id"), v.c.practitioner_id == p.c.id),
            )
        )
        .where(p.c.id == sa.bindparam("practitioner_id"), listed_clause())
        .with_for_update(read=True, of=p)
    )


_i = idempotency_table
_REPLAYED = sa.select(
    _i.c.request_hash, _i.c.appointment_id, _i.c.status_code, _i.c.response
).where(_i.c.account_id == sa.bindparam("account_id"), _i.c.key == sa.bindparam("key"))
_INSERT_APPOINTMENT = sa.insert(a)


@cache
def _claim_key(dialect: str) -> Any:
    return (
        insert_for(dialect, idempotency_table)
        .on_conflict_do_nothing()
        .returning(idempotency_table.c.key)
    )


@cache
def _take_cells(dialect: str) -> Any:
    return insert_for(dialect, cell_table).on_conflict_do_nothing().returning(cell_table.c.cell_at)
