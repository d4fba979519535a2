"""Time for the booking domain: the cell grid, and wall-clock readings turned into real instants.

**The cell grid.** The database forbids double booking with a unique index on (practitioner, cell
start) among active bookings (``docs/security.md`` "Reliability"): a visit takes one row per fixed
cell of ``CELL_MINUTES`` minutes. Cells are laid on UTC, counted from the Unix epoch, so they are
the same for every practitioner and every offset a request may use. Two grid-aligned intervals
overlap exactly when their cell sets intersect, which is what lets an index on cells stand in for an
overlap check. That only holds when both ends of every visit sit on the grid, hence ``cells``
refuses anything else.

**Zones with half- and quarter-hour offsets.** A wall time on the 5-minute grid maps to a UTC instant
on the 5-minute grid iff the zone's UTC offset at that instant is a whole multiple of 5 minutes. That is
true of every offset in use today, including Asia/Kolkata (+05:30), Asia/Kathmandu (+05:45),
Australia/Eucla (+08:45), Pacific/Chatham (+12:45/+13:45) and Australia/Lord_Howe, whose daylight
saving moves the clock by 30 minutes: they are all handled, no special case. It is false for historical
local mean times (Paris used +00:09:21 until 1911, Monrovia -00:44:30 until 1972); an opening block
falling at such a time is refused with ``UnsupportedTimezone`` rather than silently rounded, because a
rounded slot would no longer start when the practitioner said.

**Wall clock to instant.** Opening hours are wall-clock readings; a reading can name no instant (the
hour skipped when clocks spring forward) or two (the hour repeated when they fall back).
``wall_to_instant`` maps a reading ``w`` on a date to *the first instant of that date at which the
clock shows ``w`` or later*, never raising:

- a skipped reading maps to the transition itself, the first real instant after the gap (02:30 on the
  night Paris springs forward is 03:00 CEST);
- a repeated reading maps to its first occurrence (``fold=0``): 02:30 on the night Paris falls back
  is 02:30 CEST.

Starts and ends of intervals go through this one map on purpose. It never decreases, so wall-clock
intervals that do not overlap never overlap in real time, touching ones (01:00-02:30 and 02:30-05:00)
still touch, and splitting an interval in two never changes its total real length. Mapping an end to
its second occurrence instead would make those two blocks overlap by an hour on the night clocks go
back. The price is confined to intervals with an edge strictly inside the repeated hour: the hour's
second pass belongs to the interval that contains its end (03:00 CET in Paris), so 02:30-05:00 lasts
3 h 30 that night and 01:00-02:30 lasts 1 h 30, five real hours in all, as from 01:00 to 05:00.

Arithmetic happens on UTC instants only. Python compares and subtracts two datetimes that share a
``ZoneInfo`` by wall time, ignoring ``fold`` and the offset: 02:30 CEST and 02:30 CET on the night Paris
falls back compare equal and are "0:00:00" apart, although they are an hour apart. ``in_zone`` therefore
returns datetimes with a *fixed* offset (the zone's offset at that instant): they print as the zone's
local time (``2027-03-29T09:00:00+02:00``) yet compare, sort and subtract correctly.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import ClassVar, Final
from zoneinfo import ZoneInfo

CELL_MINUTES: Final = 5
CELL: Final = timedelta(minutes=CELL_MINUTES)
#: A visit lasts at most a day: longer "visits" are absences or data errors.
MAX_DURATION_MINUTES: Final = 24 * 60

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_NAIVE: Final = datetime(1970, 1, 1)
_ZERO: Final = timedelta(0)


class ScheduleError(ValueError):
    """Base of every refusal of the booking core: the input cannot describe a real schedule.

    A ``ValueError`` so that pure callers need nothing from the web layer; ``code`` is the stable
    problem code (``docs/api.md`` "Errors") the service layer answers with.
    """

    code: ClassVar[str] = "validation_error"


class OffGrid(ScheduleError):
    """An instant or a duration does not fall on the ``CELL_MINUTES`` grid."""


class UnsupportedTimezone(OffGrid):
    """The zone's offset at some instant is not a whole number of cells (historical mean times)."""


def require_aware(value: datetime, what: str) -> None:
    """Refuse naive datetimes: a naive value has no instant, and guessing one is how slots drift."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ScheduleError(f"{what} must be a timezone-aware datetime, got {value.isoformat()}")


def is_on_grid(instant: datetime) -> bool:
    """Whether ``instant`` starts a UTC cell (whole cells since the epoch, no seconds)."""
    require_aware(instant, "instant")
    return (instant - _EPOCH) % CELL == _ZERO


def require_on_grid(instant: datetime, what: str) -> None:
    if not is_on_grid(instant):
        raise OffGrid(
            f"{what} {instant.isoformat()} is not on the {CELL_MINUTES}-minute grid "
            f"(UTC minutes must be a multiple of {CELL_MINUTES}, seconds zero)"
        )


def check_duration(minutes: int) -> timedelta:
    """A visit duration as a ``timedelta``, refused unless it is a whole, positive number of cells.

    Slot starts are laid from a grid-aligned block start in steps of the duration, so an aligned
    duration is what keeps every slot (and every booking) aligned.
    """
    if isinstance(minutes, bool) or not isinstance(minutes, int):
        raise OffGrid(f"a visit duration is a whole number of minutes, got {minutes!r}")
    if not 0 < minutes <= MAX_DURATION_MINUTES or minutes % CELL_MINUTES:
        raise OffGrid(
            f"a visit lasts a positive multiple of {CELL_MINUTES} minutes, at most "
            f"{MAX_DURATION_MINUTES}; {minutes} minutes is not"
        )
    return timedelta(minutes=minutes)


def cells(start: datetime, end: datetime) -> list[datetime]:
    """The UTC starts of the cells covered by ``[start, end)``, oldest first.

    One database row per returned cell, under a unique index, is what makes a second overlapping
    booking fail in the database whatever the timing. Both ends must be on the grid: a cell set of an
    unaligned interval would also claim time the visit does not use, and the "overlap iff the cell sets
    intersect" equivalence would no longer hold.
    """
    require_on_grid(start, "start")
    require_on_grid(end, "end")
    if end < start:
        raise ScheduleError(
            f"an interval cannot end ({end.isoformat()}) before it starts ({start.isoformat()})"
        )
    first = start.astimezone(UTC)
    return [first + i * CELL for i in range((end - start) // CELL)]


def _offset(value: datetime) -> timedelta:
    offset = value.utcoffset()
    if offset is None:  # pragma: no cover - every caller passes an aware datetime
        raise ScheduleError(f"{value.isoformat()} has no UTC offset")
    return offset


def wall_to_instant(day: date, wall: time, tz: ZoneInfo) -> datetime:
    """The first UTC instant of ``day`` at which the clock in ``tz`` shows ``wall`` or later.

    A repeated reading gives its first occurrence; a skipped reading gives the end of the gap. Never
    raises for a valid zone, and never decreases as ``wall`` grows.
    """
    naive = datetime.combine(day, wall.replace(tzinfo=None, fold=0))
    first = naive.replace(tzinfo=tz, fold=0)
    # PEP 495: for an ambiguous or skipped reading, fold=0 uses the offset in force before the
    # transition and fold=1 the offset after it; they agree everywhere else.
    before, after = _offset(first), _offset(naive.replace(tzinfo=tz, fold=1))
    if before >= after:  # an ordinary reading, or a repeated one: its first occurrence
        return first.astimezone(UTC)
    # The clock jumped forward over this reading. The transition lies in (naive - after, naive - before].
    return transition(
        (naive - after).replace(tzinfo=UTC), (naive - before).replace(tzinfo=UTC), tz, before
    )


def transition(low: datetime, high: datetime, tz: ZoneInfo, old: timedelta) -> datetime:
    """The first instant in ``(low, high]`` where ``tz`` no longer uses offset ``old``.

    Bisection on whole seconds (tz data has no finer transitions): at most 17 steps even for a gap of a
    whole day (Pacific/Apia skipped 30 December 2011), and only ever run for a skipped reading.
    """
    lo = int((low - _EPOCH).total_seconds())
    hi = int((high - _EPOCH).total_seconds())
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _offset((_EPOCH + timedelta(seconds=mid)).astimezone(tz)) == old:
            lo = mid
        else:
            hi = mid
    return _EPOCH + timedelta(seconds=hi)


def check_offset(instant: datetime, tz: ZoneInfo) -> timedelta:
    """Refuse ``tz`` at ``instant`` if its offset would put grid-aligned wall times off the UTC grid;
    give the offset otherwise."""
    offset = _offset(instant.astimezone(tz))
    if offset % CELL != _ZERO:
        raise UnsupportedTimezone(
            f"time zone {tz.key} is {_format_offset(offset)} from UTC at {instant.isoformat()}; "
            f"erdv needs offsets that are a whole multiple of {CELL_MINUTES} minutes"
        )
    return offset


def _format_offset(offset: timedelta) -> str:
    sign = "-" if offset < _ZERO else "+"
    seconds = int(abs(offset).total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{sign}{hours:02d}:{minutes:02d}" + (f":{seconds:02d}" if seconds else "")


@lru_cache(maxsize=64)
def _fixed(offset: timedelta) -> timezone:
    return timezone(offset)


def minute_in_zone(minute: int, offset: int) -> datetime:
    """Minute ``minute`` since the epoch (UTC) as a local time at ``offset`` minutes from UTC, the
    way ``in_zone`` gives it when ``offset`` is the zone's offset then."""
    local = _EPOCH_NAIVE + timedelta(minutes=minute + offset)
    return local.replace(tzinfo=_fixed(timedelta(minutes=offset)))


def in_zone(instant: datetime, tz: ZoneInfo) -> datetime:
    """``instant`` as the local time of ``tz``, carried by a fixed-offset tzinfo (see module docstring)."""
    local = instant.astimezone(tz)
    return local.replace(tzinfo=_fixed(_offset(local)))
