"""The slot engine (``app.schedule``) applied to a practitioner's stored rows: the free slots of a
window, and whether one start is bookable. Pure: the services read the rows, this lays the slots."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from app.booking.errors import (
    InvalidQuery,
)
from app.booking.rows import BookingOffer, Busy, Hours
from app.booking.views import rules_of
from app.schedule.hours import stored_schedules
from app.schedule.model import BookingRules, Interval, Schedule, Slot, Window
from app.schedule.slots import FreeSlots, find_slot, lay_free
from app.schedule.timegrid import ScheduleError


def schedules_of(row: Hours, durations: dict[str, int]) -> tuple[Schedule, ...]:
    """The engine's schedules of ``row``'s practice for the visit reasons of ``durations``."""
    return stored_schedules(row.timezone, row.weekly, row.overrides, row.site_zones, durations)


def free_in(
    row: Hours,
    durations: dict[str, int],
    busy: Sequence[Busy],
    window: Window,
    now: datetime,
    visit_reason_id: str | None,
    *,
    earliest_only: bool = False,
    rules: BookingRules | None = None,
) -> FreeSlots:
    """The free slots of ``row``'s practice in ``window`` (its visit reasons' ``durations``, its
    ``busy`` time), or 422 ``validation_error`` for a window the engine refuses."""
    try:
        intervals = [Interval(b.start_at, b.end_at) for b in busy]
        laid = [
            lay_free(
                schedule,
                window,
                now=now,
                rules=rules or rules_of(row),
                busy=intervals,
                visit_reason_id=visit_reason_id,
                earliest_only=earliest_only,
            )
            for schedule in schedules_of(row, durations)
        ]
    except ScheduleError as error:
        raise InvalidQuery.of_window(error) from error
    if len(laid) == 1:
        return laid[0]
    # sites in several zones: one busy time for all (the practitioner is in one place at once)
    return FreeSlots(sorted(row for free in laid for row in free.rows))


#: the practice's desk books and moves any free time of its hours that has not started, up to a
#: year ahead: notice and horizon are rules for patients booking online (``app.booking.desk``)
PRACTICE_RULES = BookingRules(min_notice_minutes=0, max_horizon_days=366)


def bookable_slot(
    offer: BookingOffer,
    reason_id: str,
    start: datetime,
    now: datetime,
    busy: Sequence[Busy],
    *,
    rules: BookingRules | None = None,
) -> Slot | None:
    """The slot ``start`` for ``reason_id`` if the engine would list it now (``find_slot``): what
    "bookable" means for a booking and a reschedule alike. ``offer`` is the practice's hours and
    rules with the reason's duration, as the repository reads them for a booking."""
    minutes = offer.duration_minutes
    if minutes is None:  # no such visit reason here: the callers refuse it before asking
        return None
    try:
        intervals = [Interval(b.start_at, b.end_at) for b in busy]
        for schedule in schedules_of(offer, {reason_id: minutes}):
            slot = find_slot(
                schedule,
                start,
                reason_id,
                now=now,
                # the practice's desk books under its own rules (``app.booking.desk``)
                rules=rules or rules_of(offer),
                busy=intervals,
            )
            if slot is not None:
                return slot
    except ScheduleError:
        return None
    return None
