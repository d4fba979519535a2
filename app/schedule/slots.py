"""Free slots of one practitioner, computed by pure functions.

No I/O and no clock: every input, ``now`` included, is passed in, so the same call always gives the
same answer and tests can walk through years of daylight-saving changes.

**What a slot is.** A practitioner publishes weekly opening blocks in *local wall time* (Monday
09:00-12:00, offering some visit reasons). On a given local date, a block's *occurrence* is the real
time interval from the first instant the clock shows its start (or later) to the first instant it shows
its end (or later), ``timegrid.wall_to_instant``: 09:00-12:00 Europe/Paris is 08:00Z-11:00Z in winter
and 07:00Z-10:00Z in summer, the weeks of the changes included. For each visit reason the block offers,
slots are laid back to back in *real elapsed time* from the occurrence start, each lasting exactly the
visit duration, for as long as one fits. Hence, on the nights the clocks change:

- a block over the skipped hour (Paris, 00:00-06:00 on the last Sunday of March) lasts 5 real hours and
  holds 5 hours of slots; a start or end inside the gap (02:30) means the end of the gap (03:00 CEST);
- a block over the repeated hour (00:00-06:00 on the last Sunday of October) lasts 7 real hours and
  holds 7 hours of slots, none of them overlapping although their wall times repeat; a start or end
  inside the repeated hour (02:30) means its first occurrence (02:30 CEST), so blocks that touch on the
  wall clock touch in real time too, and slots of one visit reason never overlap, across blocks either;
- no slot is ever longer or shorter than its duration, whatever the wall clock does meanwhile.

A local date with an override (``Schedule.overrides``) holds its own blocks instead of its weekday's,
laid the same way, so an override on a night the clocks change is DST-correct like any week. Each
slot names the site of its block.

A slot is *free* when it lies in an occurrence, overlaps no absence and no active booking, starts at or
after ``now + min_notice_minutes``, ends at or before ``now + max_horizon_days`` (elapsed days of 24
hours), and **starts** inside the query window ``[start, end)``. Start-in-window, rather than
fully-inside, makes consecutive windows partition the slots: paging through an agenda week by week
never drops the slot that straddles two pages. Slots lie on a fixed lattice per block and visit reason:
a booking blocks the slots it overlaps, it does not shift the following ones.

**Output.** Slots come sorted by start instant (then end, then visit reason id), with times in the
practitioner's zone as fixed-offset datetimes (``2027-03-29T09:00:00+02:00``); why fixed offsets and
not ``ZoneInfo`` is explained in ``timegrid``. Every start and end is on the UTC cell grid, so a booking
of a listed slot always maps to whole cells.

**Cost.** The work is proportional to days x blocks x visit reasons x (free slots + bookings in the
way): the lattice jumps over notice, absences and bookings instead of stepping through them, and
busy intervals are merged once and searched by bisection. A week with fifty bookings is a few hundred
candidate slots. Only block occurrences are found with datetimes; slots are laid in whole minutes
since the epoch (``lay_free``), and a slot list is written from those integers, not from one pair
of datetimes per slot (``app.booking.schemas.slots_text``).

``busy`` is every interval a slot may not overlap, absences and active bookings alike (one query
reads both); the reschedule flow must leave the appointment being moved out of it.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from app.schedule.model import (
    BookingRules,
    Interval,
    Schedule,
    Slot,
    Window,
)
from app.schedule.timegrid import (
    CELL,
    CELL_MINUTES,
    UnsupportedTimezone,
    check_offset,
    is_on_grid,
    minute_in_zone,
    require_aware,
    transition,
    wall_to_instant,
)

_ONE_DAY: Final = timedelta(days=1)
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_DAY: Final = date(1970, 1, 1).toordinal()
_MIDNIGHT: Final = time(0)
_MINUTE: Final = timedelta(minutes=1)
#: a minute after every occurrence: "the offset does not change"
_NEVER: Final = 2**62


#: The longest query window (``docs/api.md`` "Time": a longer one answers 422).
def free_slots(
    schedule: Schedule,
    window: Window,
    *,
    now: datetime,
    rules: BookingRules,
    busy: Iterable[Interval] = (),
    visit_reason_id: str | None = None,
) -> list[Slot]:
    """The free slots starting in ``window``, sorted by start instant (see the module docstring).

    ``visit_reason_id`` keeps only that reason (an unknown one gives no slot). Raises
    ``UnsupportedTimezone`` if a block falls at an offset that is not a whole number of cells.
    """
    return lay_free(
        schedule,
        window,
        now=now,
        rules=rules,
        busy=busy,
        visit_reason_id=visit_reason_id,
    ).as_slots()


@dataclass(frozen=True, slots=True)
class FreeSlots:
    """Free slots in integer form, as ``lay_free`` finds them, for callers that list hundreds.

    Each row is ``(start, end, start_offset, end_offset, visit_reason_id, site_id)``: ``start`` and
    ``end`` in whole minutes since the Unix epoch (UTC), each offset the practitioner's UTC offset
    at that instant, in minutes. Rows sort as slots do (start, then end, then visit reason): an
    offset is a function of its instant. ``as_slots`` gives the same slots as ``Slot`` objects.
    """

    rows: list[tuple[int, int, int, int, str, str]]

    def __len__(self) -> int:
        return len(self.rows)

    def as_slots(self) -> list[Slot]:
        return [
            Slot(minute_in_zone(start, start_offset), minute_in_zone(end, end_offset), reason, site)
            for start, end, start_offset, end_offset, reason, site in self.rows
        ]


def lay_free(
    schedule: Schedule,
    window: Window,
    *,
    now: datetime,
    rules: BookingRules,
    busy: Iterable[Interval] = (),
    visit_reason_id: str | None = None,
    earliest_only: bool = False,
) -> FreeSlots:
    """``free_slots`` in integer form (``FreeSlots``): the same slots, without one datetime each.

    ``earliest_only`` stops after the first local day that has a free slot: its slots, the
    earliest among them, are all a "next available" needs (days are laid in order).

    Only the occurrences of blocks are found with datetimes (``wall_to_instant``); slots are then
    laid in whole minutes. Instants given with seconds are rounded to whole minutes in the one
    direction that keeps every comparison with a slot edge (always a whole minute) unchanged:
    lower bounds of where a slot may start (``earliest``, ``window.end``, busy ends) up, upper
    bounds of where it may end (horizon, busy starts) down.
    """
    require_aware(now, "now")
    earliest = max(window.start, now + timedelta(minutes=rules.min_notice_minutes)).astimezone(UTC)
    horizon = (now + timedelta(days=rules.max_horizon_days)).astimezone(UTC)
    window_end = window.end.astimezone(UTC)
    if earliest >= min(window_end, horizon):
        return FreeSlots([])

    starts, ends = _merge_busy(list(busy))
    earliest_m = _minutes_up(earliest)
    window_end_m = _minutes_up(window_end)
    horizon_m = _minutes_down(horizon)
    earliest_floor = _minutes_down(earliest)
    tz = schedule.timezone
    found: list[tuple[int, int, int, int, str, str]] = []
    for day in _local_days(earliest, min(window_end, horizon), tz):
        blocks = schedule.blocks_for(day)
        if not blocks:
            continue
        steady = _steady_offset(day, tz)
        midnight = (day.toordinal() - _EPOCH_DAY) * 1440
        for block in blocks:
            reasons = block.visit_reason_ids
            if visit_reason_id is not None:
                reasons = reasons & {visit_reason_id}
            if not reasons:
                continue
            if steady is not None:  # the usual day: wall minutes minus one offset, no tz lookup
                opens = midnight + block.start.hour * 60 + block.start.minute - steady
                closes = midnight + block.end.hour * 60 + block.end.minute - steady
                if closes <= earliest_floor or opens >= window_end_m:
                    continue
                offsets = _Offsets(steady, _NEVER, steady)
            else:
                block_start = wall_to_instant(day, block.start, tz)
                block_end = wall_to_instant(day, block.end, tz)
                if block_end <= earliest or block_start >= window_end or block_start >= block_end:
                    continue
                offsets = _Offsets.of(block_start, block_end, tz)
                opens, closes = _minutes_down(block_start), _minutes_down(block_end)
            for reason in sorted(reasons):
                _lay(
                    found,
                    opens,
                    min(closes, horizon_m),
                    schedule.durations[reason],
                    reason,
                    block.site_id,
                    offsets,
                    earliest=earliest_m,
                    window_end=window_end_m,
                    busy_starts=starts,
                    busy_ends=ends,
                )
        if earliest_only and found:
            break
    found.sort()
    return FreeSlots(found)


def find_slot(
    schedule: Schedule,
    start: datetime,
    visit_reason_id: str,
    *,
    now: datetime,
    rules: BookingRules,
    busy: Iterable[Interval] = (),
) -> Slot | None:
    """The free slot starting at ``start`` for ``visit_reason_id``, if there is one.

    Booking goes through this so that "bookable" has one definition, the one the slot list shows. The
    database cell index still has the last word on races.
    """
    require_aware(start, "start")
    if not is_on_grid(start):
        return None
    slots = free_slots(
        schedule,
        Window(start, start + CELL),
        now=now,
        rules=rules,
        busy=busy,
        visit_reason_id=visit_reason_id,
    )
    return slots[0] if slots else None


@dataclass(frozen=True, slots=True)
class _Offsets:
    """The zone's offset over one occurrence, in minutes: ``before`` until minute ``change``,
    ``after`` from it on (``change`` is past the occurrence when the offset does not change).

    An occurrence lies within a day or so, and holds at most one change of offset: the closest two
    changes of any zone since 1970 are a week apart. The offset is checked at both ends (as the cell
    grid needs) and, when they differ, the change is found by bisection, as ``wall_to_instant`` does.
    """

    before: int
    change: int
    after: int

    @classmethod
    def of(cls, start: datetime, end: datetime, tz: ZoneInfo) -> _Offsets:
        first = _require_cell_aligned(start, tz)
        last = _require_cell_aligned(end, tz)
        if first == last:
            return cls(_whole_minutes(first), _NEVER, _whole_minutes(first))
        change = transition(start, end, tz, first)
        return cls(_whole_minutes(first), _minutes_up(change), _whole_minutes(last))

    def at(self, minute: int) -> int:
        return self.before if minute < self.change else self.after


def _lay(
    laid: list[tuple[int, int, int, int, str, str]],
    block_start: int,
    block_end: int,
    duration: int,
    reason: str,
    site: str,
    offsets: _Offsets,
    *,
    earliest: int,
    window_end: int,
    busy_starts: Sequence[int],
    busy_ends: Sequence[int],
) -> None:
    """Free lattice slots ``block_start + k * duration`` of one occurrence, jumping over busy time,
    appended to ``laid``; all in whole minutes since the epoch."""
    start = _lattice_at_or_after(block_start, duration, earliest)
    busy = bisect_right(busy_ends, start)  # first busy interval still running at ``start``
    count = len(busy_ends)
    steady = offsets.change > block_end  # one offset all along: the common case, kept cheap
    offset = offsets.before
    while start < window_end and start + duration <= block_end:
        end = start + duration
        while busy < count and busy_ends[busy] <= start:
            busy += 1
        if busy < count and busy_starts[busy] < end:
            start = _lattice_at_or_after(block_start, duration, busy_ends[busy])
            continue
        if steady:
            laid.append((start, end, offset, offset, reason, site))
        else:
            laid.append((start, end, offsets.at(start), offsets.at(end), reason, site))
        start = end


def _lattice_at_or_after(origin: int, step: int, bound: int) -> int:
    """The first ``origin + k * step`` (k >= 0) at or after ``bound``, without walking there."""
    if bound <= origin:
        return origin
    return origin + -((origin - bound) // step) * step


def _merge_busy(intervals: Sequence[Interval]) -> tuple[list[int], list[int]]:
    """Busy time as sorted, disjoint intervals (starts, ends) in whole minutes since the epoch,
    both lists increasing; starts rounded down and ends up, so that a slot (whole minutes)
    overlaps the rounded interval exactly when it overlaps the real one."""
    starts: list[int] = []
    ends: list[int] = []
    for start, end in sorted((_minutes_down(i.start), _minutes_up(i.end)) for i in intervals):
        if ends and start <= ends[-1]:
            ends[-1] = max(ends[-1], end)
        else:
            starts.append(start)
            ends.append(end)
    return starts, ends


def _steady_offset(day: date, tz: ZoneInfo) -> int | None:
    """The zone's offset all through local ``day``, in minutes, if it is the same at both of the
    day's midnights and a whole number of cells; otherwise None, and the day's blocks go through
    ``wall_to_instant`` and ``_Offsets.of``, which handle changes and refuse odd offsets.

    Equal offsets at both midnights mean no change in between, as no zone changes twice within
    a day (see ``_Offsets``); a change at midnight itself shows as a difference. On such a day
    every wall time of the day is an ordinary reading: its instant is the wall time minus the
    offset, on the grid whenever the wall time is.
    """
    first = datetime.combine(day, _MIDNIGHT, tzinfo=tz).utcoffset()
    last = datetime.combine(day + _ONE_DAY, _MIDNIGHT, tzinfo=tz).utcoffset()
    if first is None or first != last or first % CELL:
        return None
    return first // _MINUTE


def _minutes_down(instant: datetime) -> int:
    """Whole minutes since the epoch, rounded down."""
    return (instant - _EPOCH) // _MINUTE


def _minutes_up(instant: datetime) -> int:
    """Whole minutes since the epoch, rounded up."""
    return -((_EPOCH - instant) // _MINUTE)


def _whole_minutes(offset: timedelta) -> int:
    return offset // _MINUTE


def _local_days(first: datetime, last: datetime, tz: ZoneInfo) -> Iterable[date]:
    """Local dates whose blocks can meet ``[first, last)``, with a day of margin on each side.

    An occurrence lies among the instants that show its own date, but a clock falling back across
    midnight shows a date twice; the margin costs two days of skipped blocks and covers it.
    """
    day = first.astimezone(tz).date() - _ONE_DAY
    stop = last.astimezone(tz).date() + _ONE_DAY
    while day <= stop:
        yield day
        day += _ONE_DAY


def _require_cell_aligned(instant: datetime, tz: ZoneInfo) -> timedelta:
    """Refuse an occurrence end the cell index could not represent (see ``timegrid``); give the
    zone's offset there."""
    offset = check_offset(instant, tz)
    if not is_on_grid(instant):  # a gap ending at an odd instant: not in tz data since 1970
        raise UnsupportedTimezone(
            f"time zone {tz.key} changes offset at {instant.isoformat()}, off the "
            f"{CELL_MINUTES}-minute grid"
        )
    return offset
