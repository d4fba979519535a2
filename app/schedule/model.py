"""What a practitioner publishes and what the engine answers: opening blocks, the schedule, booking
rules, windows, intervals and slots, each validated when built (no I/O, no clock)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from types import MappingProxyType
from typing import ClassVar, Final
from zoneinfo import ZoneInfo

from app.schedule.timegrid import (
    CELL_MINUTES,
    ScheduleError,
    check_duration,
    require_aware,
)

MAX_WINDOW: Final = timedelta(days=31)

_WEEKDAYS: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class InvalidAvailability(ScheduleError):
    """The weekly opening blocks cannot be published as they are."""

    code: ClassVar[str] = "invalid_availability"


class InvalidWindow(ScheduleError):
    """The query window is empty, naive, or longer than ``MAX_WINDOW``; ``field`` names the query
    parameter to change (``from`` or ``to``), for the 422's ``errors``."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class OpeningBlock:
    """A weekly opening in local wall time: ``weekday`` (Monday=0) from ``start`` to ``end``.

    The block ends on the day it starts (``end`` is at most 23:55): opening hours across midnight are
    two blocks. Construction refuses a malformed block, so one that exists can be trusted.
    """

    weekday: int
    start: time
    end: time
    visit_reason_ids: frozenset[str] = frozenset()
    #: the practice's site the block is held at (``app.practice`` "Sites"); its slots name it
    site_id: str = ""

    def __post_init__(self) -> None:
        # a set or list passed by a caller would stay mutable; freeze it before validating
        object.__setattr__(self, "visit_reason_ids", frozenset(self.visit_reason_ids))
        validate_block(self)

    def describe(self) -> str:
        """Readable in an error message: "Monday 09:00-12:00"."""
        day = _WEEKDAYS[self.weekday] if self.weekday in range(7) else f"weekday {self.weekday!r}"
        return f"{day} {self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True, slots=True)
class Schedule:
    """What a practitioner publishes: time zone, weekly blocks, and visit durations by reason id.

    ``overrides`` replaces the weekly blocks on some local dates (API "Date overrides"): a date
    mapped to no block is closed that day, the weekly pattern untouched. Each override block's
    ``weekday`` is its date's.

    Validated as a whole on construction (``validate_weekly``, for the weekly blocks and each
    date's); the mappings are copied read-only so that the validated schedule cannot change
    afterwards.
    """

    timezone: ZoneInfo
    weekly: tuple[OpeningBlock, ...]
    durations: Mapping[str, int] = field(hash=False)
    overrides: Mapping[date, Sequence[OpeningBlock]] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )
    _by_weekday: tuple[tuple[OpeningBlock, ...], ...] = field(
        init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        if not isinstance(self.timezone, ZoneInfo):
            raise InvalidAvailability("the time zone must be an IANA zone (zoneinfo.ZoneInfo)")
        durations = MappingProxyType(dict(self.durations))
        weekly = tuple(self.weekly)
        validate_weekly(weekly, durations)
        overrides: dict[date, tuple[OpeningBlock, ...]] = {}
        for day, blocks in self.overrides.items():
            if any(b.weekday != day.weekday() for b in blocks):
                raise InvalidAvailability(f"the blocks of {day.isoformat()} must be on its weekday")
            validate_weekly(blocks, durations)
            overrides[day] = tuple(sorted(blocks, key=lambda b: b.start))
        object.__setattr__(self, "durations", durations)
        object.__setattr__(self, "weekly", weekly)
        object.__setattr__(self, "overrides", MappingProxyType(overrides))
        object.__setattr__(
            self,
            "_by_weekday",
            tuple(
                tuple(sorted((b for b in self.weekly if b.weekday == d), key=lambda b: b.start))
                for d in range(7)
            ),
        )

    def blocks_on(self, weekday: int) -> tuple[OpeningBlock, ...]:
        return self._by_weekday[weekday]

    def blocks_for(self, day: date) -> Sequence[OpeningBlock]:
        """The blocks held on local date ``day``: its override's if it has one, else its
        weekday's."""
        found = self.overrides.get(day)
        return self._by_weekday[day.weekday()] if found is None else found


@dataclass(frozen=True, slots=True)
class BookingRules:
    """The practitioner's booking rules (``booking_rules``, ``docs/api.md`` "Practitioners and agenda")."""

    min_notice_minutes: int = 0
    max_horizon_days: int = 90

    def __post_init__(self) -> None:
        if self.min_notice_minutes < 0:
            raise ScheduleError("min_notice_minutes cannot be negative")
        if self.max_horizon_days < 1:
            raise ScheduleError("max_horizon_days must be at least 1")


@dataclass(frozen=True, slots=True)
class Interval:
    """A busy half-open interval ``[start, end)`` of real time: an absence or an active booking."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        require_aware(self.start, "start")
        require_aware(self.end, "end")
        if self.start >= self.end:
            raise ScheduleError(
                f"an interval must start before it ends: {self.start.isoformat()} "
                f"to {self.end.isoformat()}"
            )


@dataclass(frozen=True, slots=True)
class Window:
    """The query window ``[start, end)``, any offsets, at most ``MAX_WINDOW`` long."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        validate_window(self.start, self.end)


@dataclass(frozen=True, slots=True)
class Slot:
    """A free slot; ``start`` and ``end`` carry the practitioner's offset at that instant."""

    start: datetime
    end: datetime
    visit_reason_id: str
    site_id: str = ""

    @property
    def duration(self) -> timedelta:
        return self.end - self.start


def validate_block(block: OpeningBlock) -> None:
    """Refuse a block that is not a weekday, not on the grid, or not at least one cell long."""
    if isinstance(block.weekday, bool) or block.weekday not in range(7):
        raise InvalidAvailability(
            f"weekday must be 0 (Monday) to 6 (Sunday), got {block.weekday!r}"
        )
    for name, value in (("start", block.start), ("end", block.end)):
        if not isinstance(value, time) or value.tzinfo is not None:
            raise InvalidAvailability(
                f"{name} of an opening block is a local wall time without a zone, got {value!r}"
            )
    for name, value in (("start", block.start), ("end", block.end)):
        if value.minute % CELL_MINUTES or value.second or value.microsecond:
            raise InvalidAvailability(
                f"{block.describe()}: {name} {value.isoformat()} is not on the "
                f"{CELL_MINUTES}-minute grid"
            )
    if block.start >= block.end:
        raise InvalidAvailability(f"{block.describe()}: an opening block must start before it ends")


def validate_weekly(blocks: Sequence[OpeningBlock], durations: Mapping[str, int]) -> None:
    """Refuse overlapping blocks on a weekday, bad durations and visit reasons without a duration.

    Overlapping blocks would list the same time twice; touching blocks (12:00-14:00 after
    09:00-12:00) are fine.
    """
    for reason_id, minutes in durations.items():
        try:
            check_duration(minutes)
        except ScheduleError as error:
            raise InvalidAvailability(f"visit reason {reason_id!r}: {error}") from error
    by_day: dict[int, list[OpeningBlock]] = {}
    for block in blocks:
        # each block was validated when it was built (``OpeningBlock.__post_init__``)
        unknown = sorted(block.visit_reason_ids - durations.keys())
        if unknown:
            raise InvalidAvailability(
                f"{block.describe()} offers unknown visit reason(s) {', '.join(map(repr, unknown))}"
            )
        by_day.setdefault(block.weekday, []).append(block)
    for day_blocks in by_day.values():
        day_blocks.sort(key=lambda b: (b.start, b.end))
        for previous, current in zip(day_blocks, day_blocks[1:], strict=False):
            if current.start < previous.end:
                raise InvalidAvailability(
                    f"opening blocks overlap: {previous.describe()} and {current.describe()}"
                )


def validate_window(start: datetime, end: datetime) -> None:
    """Refuse a naive, empty or over-long window: the cost of a query must stay bounded."""
    for name, value in (("from", start), ("to", end)):
        if value.tzinfo is None or value.utcoffset() is None:
            raise InvalidWindow(
                f"'{name}' must carry a UTC offset, got {value.isoformat()}", field=name
            )
    if start >= end:
        raise InvalidWindow("the window must end after it starts", field="to")
    if end - start > MAX_WINDOW:
        raise InvalidWindow(f"the window cannot be longer than {MAX_WINDOW.days} days", field="to")
