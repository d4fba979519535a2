"""Free slots: worked examples, then properties over the daylight-saving changes of 2020-2035.

The properties check the implementation against oracles that do not share its logic: the
daylight-saving rules of each zone written out by hand (last Sunday of March at 01:00 UTC, ...), and a
brute-force scan of the wall clock in 5-minute steps instead of ``fold`` arithmetic.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.booking.schemas import slots_text
from app.schedule.model import (
    MAX_WINDOW,
    BookingRules,
    Interval,
    InvalidAvailability,
    InvalidWindow,
    OpeningBlock,
    Schedule,
    Slot,
    Window,
)
from app.schedule.slots import find_slot, free_slots, lay_free
from app.schedule.timegrid import (
    CELL,
    CELL_MINUTES,
    ScheduleError,
    UnsupportedTimezone,
    in_zone,
    is_on_grid,
)
from tests.schedule.oracle import overlaps

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
SYDNEY = ZoneInfo("Australia/Sydney")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
KATHMANDU = ZoneInfo("Asia/Kathmandu")

OPEN = BookingRules(min_notice_minutes=0, max_horizon_days=365)
#: a Monday in winter, long before the examples' weeks
EARLY = datetime(2027, 1, 1, tzinfo=UTC)

PROPERTY = settings(max_examples=120, deadline=None)


def at(tz: ZoneInfo, y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=tz)


def weekdays(
    start: time, end: time, reasons: frozenset[str], days: Sequence[int] = range(5)
) -> tuple[OpeningBlock, ...]:
    return tuple(OpeningBlock(day, start, end, reasons) for day in days)


def utc(slots: Sequence[Slot]) -> list[tuple[datetime, datetime, str]]:
    return [(s.start.astimezone(UTC), s.end.astimezone(UTC), s.visit_reason_id) for s in slots]


def local_starts(slots: Sequence[Slot]) -> list[str]:
    return [s.start.isoformat() for s in slots]


MORNINGS = Schedule(PARIS, weekdays(time(9), time(12), frozenset({"consult"})), {"consult": 30})


# --- worked examples --------------------------------------------------------------------------------


def test_a_normal_winter_week() -> None:
    week = Window(at(PARIS, 2027, 1, 11), at(PARIS, 2027, 1, 18))
    slots = free_slots(MORNINGS, week, now=EARLY, rules=OPEN)
    assert len(slots) == 5 * 6
    assert local_starts(slots[:6]) == [
        f"2027-01-11T{h:02d}:{m:02d}:00+01:00" for h in (9, 10, 11) for m in (0, 30)
    ]
    assert slots[-1].end.isoformat() == "2027-01-15T12:00:00+01:00"
    assert {s.start.astimezone(UTC).hour for s in slots} == {8, 9, 10}
    assert all(s.duration == timedelta(minutes=30) for s in slots)


def test_the_monday_after_spring_forward_is_in_summer_time() -> None:
    slots = free_slots(
        MORNINGS, Window(at(PARIS, 2027, 3, 29), at(PARIS, 2027, 3, 30)), now=EARLY, rules=OPEN
    )
    assert slots[0].start.isoformat() == "2027-03-29T09:00:00+02:00"
    assert slots[0].start.astimezone(UTC) == datetime(2027, 3, 29, 7, 0, tzinfo=UTC)
    assert slots[-1].end.astimezone(UTC) == datetime(2027, 3, 29, 10, 0, tzinfo=UTC)


def test_absences_remove_every_slot_they_touch() -> None:
    monday = Window(at(PARIS, 2027, 1, 11), at(PARIS, 2027, 1, 12))
    absence = Interval(at(PARIS, 2027, 1, 11, 10, 10), at(PARIS, 2027, 1, 11, 11, 0))
    slots = free_slots(MORNINGS, monday, now=EARLY, rules=OPEN, busy=[absence])
    assert [s.start.strftime("%H:%M") for s in slots] == ["09:00", "09:30", "11:00", "11:30"]


def test_an_absence_over_days_closes_them_all() -> None:
    week = Window(at(PARIS, 2027, 1, 11), at(PARIS, 2027, 1, 18))
    absence = Interval(at(PARIS, 2027, 1, 11, 12), at(PARIS, 2027, 1, 14, 11))
    slots = free_slots(MORNINGS, week, now=EARLY, rules=OPEN, busy=[absence])
    assert local_starts(slots) == [
        "2027-01-11T09:00:00+01:00",
        "2027-01-11T09:30:00+01:00",
        "2027-01-11T10:00:00+01:00",
        "2027-01-11T10:30:00+01:00",
        "2027-01-11T11:00:00+01:00",
        "2027-01-11T11:30:00+01:00",
        "2027-01-14T11:00:00+01:00",
        "2027-01-14T11:30:00+01:00",
        *(f"2027-01-15T{h:02d}:{m:02d}:00+01:00" for h in (9, 10, 11) for m in (0, 30)),
    ]


def test_bookings_of_different_lengths_block_what_they_overlap() -> None:
    schedule = Schedule(
        PARIS,
        (OpeningBlock(0, time(9), time(11), frozenset({"short", "long"})),),
        {"short": 15, "long": 45},
    )
    bookings = [
        Interval(at(PARIS, 2027, 1, 11, 9, 15), at(PARIS, 2027, 1, 11, 9, 30)),  # a short visit
        # a long one booked in UTC: 10:00-10:45 Paris
        Interval(datetime(2027, 1, 11, 9, 0, tzinfo=UTC), datetime(2027, 1, 11, 9, 45, tzinfo=UTC)),
    ]
    monday = Window(at(PARIS, 2027, 1, 11), at(PARIS, 2027, 1, 12))
    slots = free_slots(schedule, monday, now=EARLY, rules=OPEN, busy=bookings)
    by_reason = {
        reason: [s.start.strftime("%H:%M") for s in slots if s.visit_reason_id == reason]
        for reason in ("short", "long")
    }
    assert by_reason == {
        "short": ["09:00", "09:30", "09:45", "10:45"],
        # the lattice stays 09:00, 09:45, 10:30: bookings block slots, they do not shift them
        "long": [],
    }
    # sorted by start, then end, then visit reason
    assert slots == sorted(slots, key=lambda s: (s.start, s.end, s.visit_reason_id))


def test_min_notice_starts_at_the_next_lattice_slot() -> None:
    now = at(PARIS, 2027, 1, 11, 9, 47)
    rules = BookingRules(min_notice_minutes=30, max_horizon_days=30)
    slots = free_slots(
        MORNINGS, Window(at(PARIS, 2027, 1, 11), at(PARIS, 2027, 1, 12)), now=now, rules=rules
    )
    assert [s.start.strftime("%H:%M") for s in slots] == ["10:30", "11:00", "11:30"]


def test_horizon_keeps_slots_that_end_by_it() -> None:
    now = at(PARIS, 2027, 1, 11, 10, 0)
    rules = BookingRules(min_notice_minutes=0, max_horizon_days=1)
    week = Window(at(PARIS, 2027, 1, 11), at(PARIS, 2027, 1, 18))
    slots = free_slots(MORNINGS, week, now=now, rules=rules)
    # Tuesday 09:30-10:00 ends right at the horizon; 10:00-10:30 would end after it
    assert local_starts(slots) == [
        "2027-01-11T10:00:00+01:00",
        "2027-01-11T10:30:00+01:00",
        "2027-01-11T11:00:00+01:00",
        "2027-01-11T11:30:00+01:00",
        "2027-01-12T09:00:00+01:00",
        "2027-01-12T09:30:00+01:00",
    ]


def test_a_window_after_the_horizon_is_empty() -> None:
    rules = BookingRules(max_horizon_days=7)
    window = Window(at(PARIS, 2027, 2, 1), at(PARIS, 2027, 2, 8))
    assert free_slots(MORNINGS, window, now=EARLY, rules=rules) == []


def test_filter_by_visit_reason() -> None:
    schedule = Schedule(
        PARIS, weekdays(time(9), time(10), frozenset({"a", "b"})), {"a": 30, "b": 20}
    )
    monday = Window(at(PARIS, 2027, 1, 11), at(PARIS, 2027, 1, 12))
    both = free_slots(schedule, monday, now=EARLY, rules=OPEN)
    only_b = free_slots(schedule, monday, now=EARLY, rules=OPEN, visit_reason_id="b")
    # b at 09:00, 09:20, 09:40 and a at 09:00, 09:30, sorted by start, end, then reason
    assert [s.visit_reason_id for s in both] == ["b", "a", "b", "a", "b"]
    assert only_b == [s for s in both if s.visit_reason_id == "b"]
    assert free_slots(schedule, monday, now=EARLY, rules=OPEN, visit_reason_id="nope") == []


def test_a_slot_belongs_to_the_window_it_starts_in() -> None:
    """Paging week by week never drops the slot that straddles two windows."""
    schedule = Schedule(PARIS, (OpeningBlock(0, time(9), time(12), frozenset({"x"})),), {"x": 60})
    first = free_slots(
        schedule,
        Window(at(PARIS, 2027, 1, 11, 9), at(PARIS, 2027, 1, 11, 11)),
        now=EARLY,
        rules=OPEN,
    )
    second = free_slots(
        schedule,
        Window(at(PARIS, 2027, 1, 11, 11), at(PARIS, 2027, 1, 12)),
        now=EARLY,
        rules=OPEN,
    )
    assert [s.start.strftime("%H:%M") for s in first] == ["09:00", "10:00"]
    assert [s.start.strftime("%H:%M") for s in second] == ["11:00"]


def test_window_in_any_offset() -> None:
    new_york_window = Window(
        datetime(2027, 1, 11, 3, 0, tzinfo=timezone(timedelta(hours=-5))),  # 09:00 Paris
        datetime(2027, 1, 11, 4, 0, tzinfo=timezone(timedelta(hours=-5))),
    )
    slots = free_slots(MORNINGS, new_york_window, now=EARLY, rules=OPEN)
    assert local_starts(slots) == ["2027-01-11T09:00:00+01:00", "2027-01-11T09:30:00+01:00"]


def test_window_over_31_days_is_refused() -> None:
    start = at(PARIS, 2027, 1, 1)
    Window(start, start + MAX_WINDOW)  # exactly 31 days is fine
    with pytest.raises(InvalidWindow, match="longer than 31 days") as refused:
        Window(start, start + MAX_WINDOW + CELL)
    assert isinstance(refused.value, ValueError)
    assert refused.value.code == "validation_error"


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (datetime(2027, 1, 1), datetime(2027, 1, 2, tzinfo=UTC), "UTC offset"),
        (datetime(2027, 1, 2, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC), "end after it starts"),
        (datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC), "end after it starts"),
    ],
)
def test_naive_or_empty_windows_are_refused(start: datetime, end: datetime, message: str) -> None:
    with pytest.raises(InvalidWindow, match=message):
        Window(start, end)


def test_naive_now_and_intervals_are_refused() -> None:
    window = Window(at(PARIS, 2027, 1, 11), at(PARIS, 2027, 1, 12))
    with pytest.raises(ScheduleError, match="timezone-aware"):
        free_slots(MORNINGS, window, now=datetime(2027, 1, 1), rules=OPEN)
    with pytest.raises(ScheduleError, match="timezone-aware"):
        Interval(datetime(2027, 1, 1), datetime(2027, 1, 2, tzinfo=UTC))
    with pytest.raises(ScheduleError, match="start before it ends"):
        Interval(at(PARIS, 2027, 1, 2), at(PARIS, 2027, 1, 1))


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (
            lambda: OpeningBlock(0, time(12), time(9)),
            "Monday 12:00-09:00: an opening block must start before it ends",
        ),
        (
            lambda: OpeningBlock(2, time(9), time(9)),
            "Wednesday 09:00-09:00: an opening block must start before",
        ),
        (
            lambda: OpeningBlock(0, time(9, 7), time(12)),
            "start 09:07:00 is not on the 5-minute grid",
        ),
        (
            lambda: OpeningBlock(0, time(9), time(12, 0, 30)),
            "end 12:00:30 is not on the 5-minute grid",
        ),
        (lambda: OpeningBlock(7, time(9), time(12)), "weekday must be 0 .Monday. to 6"),
        (lambda: OpeningBlock(0, time(9, tzinfo=UTC), time(12)), "local wall time without a zone"),
    ],
)
def test_malformed_blocks_are_refused(block: Callable[[], OpeningBlock], message: str) -> None:
    with pytest.raises(InvalidAvailability, match=message) as refused:
        block()
    assert refused.value.code == "invalid_availability"


def test_overlapping_blocks_on_a_weekday_are_refused_touching_ones_are_not() -> None:
    reasons = frozenset({"x"})
    with pytest.raises(
        InvalidAvailability,
        match="opening blocks overlap: Tuesday 09:00-12:00 and Tuesday 11:30-13:00",
    ):
        Schedule(
            PARIS,
            (
                OpeningBlock(1, time(11, 30), time(13), reasons),
                OpeningBlock(1, time(9), time(12), reasons),
            ),
            {"x": 30},
        )
    touching = Schedule(
        PARIS,
        (OpeningBlock(1, time(9), time(12), reasons), OpeningBlock(1, time(12), time(13), reasons)),
        {"x": 30},
    )
    slots = free_slots(
        touching, Window(at(PARIS, 2027, 1, 12), at(PARIS, 2027, 1, 13)), now=EARLY, rules=OPEN
    )
    assert len(slots) == 8
    # the same hours on different weekdays are no overlap
    Schedule(PARIS, weekdays(time(9), time(12), reasons, days=range(7)), {"x": 30})


def test_unknown_visit_reasons_and_bad_durations_are_refused() -> None:
    with pytest.raises(InvalidAvailability, match="offers unknown visit reason.s. 'ghost'"):
        Schedule(PARIS, (OpeningBlock(0, time(9), time(12), frozenset({"ghost"})),), {})
    with pytest.raises(InvalidAvailability, match="visit reason 'odd': .*7 minutes is not"):
        Schedule(PARIS, (), {"odd": 7})


def test_validated_schedule_cannot_change_afterwards() -> None:
    durations = {"consult": 30}
    schedule = Schedule(PARIS, weekdays(time(9), time(12), frozenset({"consult"})), durations)
    durations["consult"] = 7
    assert schedule.durations["consult"] == 30
    with pytest.raises(TypeError):
        schedule.durations["consult"] = 7  # type: ignore[index]


@pytest.mark.parametrize(("minutes", "days"), [(-1, 30), (0, 0)])
def test_nonsense_rules_are_refused(minutes: int, days: int) -> None:
    with pytest.raises(ScheduleError):
        BookingRules(min_notice_minutes=minutes, max_horizon_days=days)


def test_spring_forward_night_loses_the_skipped_hour_and_nothing_else() -> None:
    night = Schedule(PARIS, (OpeningBlock(6, time(0), time(6), frozenset({"x"})),), {"x": 20})
    slots = free_slots(
        night, Window(at(PARIS, 2027, 3, 28), at(PARIS, 2027, 3, 29)), now=EARLY, rules=OPEN
    )
    assert len(slots) == 15  # 5 real hours of 20-minute slots
    assert [s.start.strftime("%H:%M%z") for s in slots[5:8]] == [
        "01:40+0100",
        "03:00+0200",
        "03:20+0200",
    ]
    assert slots[5].end.isoformat() == "2027-03-28T03:00:00+02:00"
    assert all(s.start.hour != 2 for s in slots)


def test_fall_back_night_keeps_the_repeated_hour() -> None:
    night = Schedule(PARIS, (OpeningBlock(6, time(0), time(6), frozenset({"x"})),), {"x": 20})
    slots = free_slots(
        night, Window(at(PARIS, 2027, 10, 31), at(PARIS, 2027, 11, 1)), now=EARLY, rules=OPEN
    )
    assert len(slots) == 21  # 7 real hours
    repeated = [s.start.isoformat() for s in slots if s.start.hour == 2]
    assert repeated == [
        "2027-10-31T02:00:00+02:00",
        "2027-10-31T02:20:00+02:00",
        "2027-10-31T02:40:00+02:00",
        "2027-10-31T02:00:00+01:00",
        "2027-10-31T02:20:00+01:00",
        "2027-10-31T02:40:00+01:00",
    ]
    for previous, current in zip(slots, slots[1:], strict=False):
        assert previous.end == current.start


def test_block_edges_inside_the_gap_or_the_repeated_hour() -> None:
    schedule = Schedule(
        PARIS,
        (
            OpeningBlock(6, time(1, 0), time(2, 30), frozenset({"x"})),
            OpeningBlock(6, time(2, 30), time(5, 0), frozenset({"x"})),
        ),
        {"x": 30},
    )
    spring_day = Window(at(PARIS, 2027, 3, 28), at(PARIS, 2027, 3, 29))
    spring = free_slots(schedule, spring_day, now=EARLY, rules=OPEN)
    # 02:30 does not exist that night: the first block ends, and the second starts, at 03:00 CEST
    assert local_starts(spring) == [
        "2027-03-28T01:00:00+01:00",
        "2027-03-28T01:30:00+01:00",
        "2027-03-28T03:00:00+02:00",
        "2027-03-28T03:30:00+02:00",
        "2027-03-28T04:00:00+02:00",
        "2027-03-28T04:30:00+02:00",
    ]
    autumn_day = Window(at(PARIS, 2027, 10, 31), at(PARIS, 2027, 11, 1))
    autumn = free_slots(schedule, autumn_day, now=EARLY, rules=OPEN)
    # 02:30 happens twice: both blocks meet at the first 02:30 (CEST), and the second block holds
    # the repeated hour: 1 h 30 + 3 h 30, the five real hours from 01:00 CEST to 05:00 CET
    assert local_starts(autumn) == [
        "2027-10-31T01:00:00+02:00",
        "2027-10-31T01:30:00+02:00",
        "2027-10-31T02:00:00+02:00",
        "2027-10-31T02:30:00+02:00",
        "2027-10-31T02:00:00+01:00",
        "2027-10-31T02:30:00+01:00",
        "2027-10-31T03:00:00+01:00",
        "2027-10-31T03:30:00+01:00",
        "2027-10-31T04:00:00+01:00",
        "2027-10-31T04:30:00+01:00",
    ]
    for previous, current in zip(autumn, autumn[1:], strict=False):
        assert previous.end == current.start
    one_block = Schedule(
        PARIS, (OpeningBlock(6, time(1, 0), time(5, 0), frozenset({"x"})),), {"x": 30}
    )
    assert free_slots(one_block, autumn_day, now=EARLY, rules=OPEN) == autumn


def test_half_and_quarter_hour_zones() -> None:
    for key, utc_start in (("Asia/Kolkata", "03:30"), ("Asia/Kathmandu", "03:15")):
        tz = ZoneInfo(key)
        schedule = Schedule(tz, weekdays(time(9), time(12), frozenset({"x"})), {"x": 15})
        slots = free_slots(
            schedule, Window(at(tz, 2027, 1, 11), at(tz, 2027, 1, 12)), now=EARLY, rules=OPEN
        )
        assert len(slots) == 12
        assert slots[0].start.astimezone(UTC).strftime("%H:%M") == utc_start
        assert all(is_on_grid(s.start) and is_on_grid(s.end) for s in slots)


def test_historical_mean_time_is_refused_not_rounded() -> None:
    schedule = Schedule(PARIS, weekdays(time(9), time(12), frozenset({"x"})), {"x": 15})
    now = datetime(1905, 1, 1, tzinfo=UTC)
    with pytest.raises(UnsupportedTimezone, match="Europe/Paris is \\+00:09:21 from UTC"):
        free_slots(
            schedule, Window(at(PARIS, 1905, 1, 2), at(PARIS, 1905, 1, 3)), now=now, rules=OPEN
        )


def test_find_slot_agrees_with_the_list() -> None:
    booked = Interval(at(PARIS, 2027, 1, 11, 10), at(PARIS, 2027, 1, 11, 10, 30))
    found = find_slot(
        MORNINGS, datetime(2027, 1, 11, 8, 30, tzinfo=UTC), "consult", now=EARLY, rules=OPEN
    )
    assert found == Slot(at(PARIS, 2027, 1, 11, 9, 30), at(PARIS, 2027, 1, 11, 10), "consult")
    for start in (
        at(PARIS, 2027, 1, 11, 10),  # booked
        at(PARIS, 2027, 1, 11, 9, 15),  # on the grid, off the lattice
        at(PARIS, 2027, 1, 11, 9, 1),  # off the grid
        at(PARIS, 2027, 1, 11, 12),  # after closing
    ):
        assert find_slot(MORNINGS, start, "consult", now=EARLY, rules=OPEN, busy=[booked]) is None
    assert find_slot(MORNINGS, at(PARIS, 2027, 1, 11, 9), "other", now=EARLY, rules=OPEN) is None


# --- oracles ----------------------------------------------------------------------------------------


def _sunday(year: int, month: int, nth: int) -> date:
    """The nth Sunday of a month, or the last one for ``nth == -1``."""
    if nth == -1:
        last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
        return last - timedelta(days=(last.weekday() - 6) % 7)
    first = date(year, month, 1)
    return first + timedelta(days=(6 - first.weekday()) % 7 + 7 * (nth - 1))


def _utc(day: date, hour: int, minute: int = 0, day_shift: int = 0) -> datetime:
    return datetime.combine(day + timedelta(days=day_shift), time(hour, minute), tzinfo=UTC)


@dataclass(frozen=True)
class DstRule:
    """A zone's daylight-saving rule as published, written out by hand for 2020-2035."""

    tz: ZoneInfo
    standard: timedelta
    saving: timedelta
    #: year -> (UTC instant summer time starts, UTC instant it ends)
    changes: Callable[[int], tuple[datetime, datetime]]

    def offset(self, instant: datetime) -> timedelta:
        starts, ends = self.changes(instant.year)
        if starts < ends:  # northern hemisphere: summer inside the year
            summer = starts <= instant < ends
        else:  # southern: summer across the new year
            summer = instant < ends or instant >= starts
        return self.standard + (self.saving if summer else timedelta(0))


RULES = [
    # EU: last Sunday of March and of October, 01:00 UTC
    DstRule(
        PARIS,
        timedelta(hours=1),
        timedelta(hours=1),
        lambda y: (_utc(_sunday(y, 3, -1), 1), _utc(_sunday(y, 10, -1), 1)),
    ),
    # US since 2007: second Sunday of March 02:00 EST, first Sunday of November 02:00 EDT
    DstRule(
        NEW_YORK,
        timedelta(hours=-5),
        timedelta(hours=1),
        lambda y: (_utc(_sunday(y, 3, 2), 7), _utc(_sunday(y, 11, 1), 6)),
    ),
    # NSW since 2008: first Sunday of October 02:00 AEST, first Sunday of April 03:00 AEDT
    DstRule(
        SYDNEY,
        timedelta(hours=10),
        timedelta(hours=1),
        lambda y: (
            _utc(_sunday(y, 10, 1), 16, day_shift=-1),
            _utc(_sunday(y, 4, 1), 16, day_shift=-1),
        ),
    ),
    # Lord Howe: a 30-minute saving, both changes at 02:00 local
    DstRule(
        LORD_HOWE,
        timedelta(hours=10, minutes=30),
        timedelta(minutes=30),
        lambda y: (
            _utc(_sunday(y, 10, 1), 15, 30, day_shift=-1),
            _utc(_sunday(y, 4, 1), 15, day_shift=-1),
        ),
    ),
]
YEARS = range(2020, 2036)


def test_the_hand_written_rules_agree_with_the_tz_database() -> None:
    """The oracles are worth something only if they are right: check them at both sides of each change."""
    second = timedelta(seconds=1)
    for rule in RULES:
        for year in YEARS:
            for change in rule.changes(year):
                for instant in (change - second, change, change + timedelta(days=3)):
                    assert instant.astimezone(rule.tz).utcoffset() == rule.offset(instant), (
                        rule.tz,
                        instant,
                    )


@functools.cache
def _reach(key: str, day: date, wall: time) -> datetime:
    """The first instant at which the clock shows ``wall`` on ``day``, or a later reading.

    Brute force in 5-minute steps over the 54 hours around the date: no ``fold`` arithmetic.
    """
    tz = ZoneInfo(key)
    origin = datetime.combine(day, time(0), tzinfo=UTC) - timedelta(hours=15)
    target = datetime.combine(day, wall)
    for step in range(54 * 12):
        instant = origin + step * CELL
        if instant.astimezone(tz).replace(tzinfo=None) >= target:
            return instant
    raise AssertionError(f"{key} never shows {target}")  # pragma: no cover


def _occurrence(tz: ZoneInfo, day: date, block: OpeningBlock) -> tuple[datetime, datetime]:
    return _reach(tz.key, day, block.start), _reach(tz.key, day, block.end)


def _oracle(
    schedule: Schedule,
    window: Window,
    now: datetime,
    rules: BookingRules,
    busy: Sequence[Interval],
    reason_filter: str | None,
) -> list[tuple[datetime, datetime, str]]:
    """Free slots by the definition, with naive loops over a generous range of days."""
    tz = schedule.timezone
    earliest = max(window.start, now + timedelta(minutes=rules.min_notice_minutes))
    horizon = now + timedelta(days=rules.max_horizon_days)
    expected = []
    day = window.start.astimezone(tz).date() - timedelta(days=2)
    while day <= window.end.astimezone(tz).date() + timedelta(days=1):
        for block in schedule.weekly:
            if block.weekday != day.weekday():
                continue
            opens, closes = _occurrence(tz, day, block)
            for reason in block.visit_reason_ids:
                if reason_filter not in (None, reason):
                    continue
                length = timedelta(minutes=schedule.durations[reason])
                start = opens
                while start + length <= closes:
                    end = start + length
                    if (
                        earliest <= start < window.end
                        and end <= horizon
                        and not any(overlaps(start, end, b.start, b.end) for b in busy)
                    ):
                        expected.append((start, end, reason))
                    start = end
        day += timedelta(days=1)
    return sorted(expected)


# --- strategies -------------------------------------------------------------------------------------

ZONES = [PARIS, NEW_YORK, SYDNEY, LORD_HOWE, KATHMANDU]
REASONS = ("r0", "r1", "r2")


@functools.cache
def _transition_days(key: str) -> tuple[date, ...]:
    """Local dates on which ``key`` changes offset, 2020-2035 (to aim the examples at them)."""
    tz = ZoneInfo(key)
    days = []
    day = date(2020, 1, 1)
    while day.year < 2036:
        if (
            datetime.combine(day, time(0), tzinfo=tz).utcoffset()
            != datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).utcoffset()
        ):
            days.append(day)
        day += timedelta(days=1)
    return tuple(days)


@st.composite
def schedules(draw: st.DrawFn, tz: ZoneInfo) -> Schedule:
    durations = {reason: 5 * draw(st.integers(1, 24)) for reason in REASONS}
    blocks = []
    for weekday in range(7):
        # blocks between some consecutive cut points of the day, so that some touch; Sundays lean
        # to the night hours, when clocks change
        high = 12 * 8 if weekday == 6 and draw(st.booleans()) else 287
        cuts = sorted(draw(st.sets(st.integers(0, high), max_size=6)))
        pairs = list(zip(cuts, cuts[1:], strict=False))
        for first, second in draw(st.lists(st.sampled_from(pairs), unique=True)) if pairs else []:
            reasons = draw(st.sets(st.sampled_from(REASONS), min_size=1))
            blocks.append(
                OpeningBlock(
                    weekday,
                    (datetime.min + first * CELL).time(),
                    (datetime.min + second * CELL).time(),
                    frozenset(reasons),
                )
            )
    return Schedule(tz, tuple(blocks), durations)


@dataclass(frozen=True)
class Case:
    schedule: Schedule
    window: Window
    now: datetime
    rules: BookingRules
    absences: tuple[Interval, ...]
    bookings: tuple[Interval, ...]
    reason: str | None


def _span(low: int, high: int) -> st.SearchStrategy[timedelta]:
    """A duration between ``low`` and ``high`` minutes: whole hours, whole cells, or any second."""
    return st.one_of(
        st.integers(low // 60, high // 60).map(lambda h: timedelta(hours=h)),
        st.integers(low // CELL_MINUTES, high // CELL_MINUTES).map(lambda n: n * CELL),
        st.integers(low * 60, high * 60).map(lambda s: timedelta(seconds=s)),
    ).filter(lambda d: timedelta(minutes=low) <= d <= timedelta(minutes=high))


@st.composite
def cases(draw: st.DrawFn, max_window_days: int = 8) -> Case:
    tz = draw(st.sampled_from(ZONES))
    transitions = _transition_days(tz.key)
    if draw(st.booleans()) and transitions:
        anchor = draw(st.sampled_from(transitions)) + timedelta(days=draw(st.integers(-3, 1)))
    else:
        anchor = draw(st.dates(date(2020, 1, 1), date(2035, 12, 1)))
    midnight = datetime.combine(anchor, time(0), tzinfo=tz).astimezone(UTC)
    # the window may start anywhere, in any offset; bounds fall on the grid often enough to meet
    # slot edges exactly
    start = midnight + draw(_span(-720, 720))
    length = draw(_span(5, max_window_days * 1440))
    shown_in = timezone(timedelta(minutes=draw(st.integers(-720, 840))))
    window = Window(start.astimezone(shown_in), (start + length).astimezone(shown_in))
    now = start + draw(_span(-10 * 1440, 3 * 1440))
    rules = BookingRules(
        min_notice_minutes=draw(st.integers(0, 2880)), max_horizon_days=draw(st.integers(1, 30))
    )
    bookings = tuple(
        Interval(begin, begin + draw(st.integers(1, 24)) * CELL)
        for begin in draw(
            st.lists(st.integers(-288, 288 * 9).map(lambda n: midnight + n * CELL), max_size=25)
        )
    )
    absences = tuple(
        Interval(begin, begin + timedelta(minutes=draw(st.integers(1, 3000))))
        for begin in draw(
            st.lists(
                st.integers(-1440, 1440 * 9).map(lambda m: midnight + timedelta(minutes=m)),
                max_size=3,
            )
        )
    )
    reason = draw(st.none() | st.sampled_from(REASONS))
    return Case(draw(schedules(tz)), window, now, rules, absences, bookings, reason)


def _run(case: Case, window: Window | None = None) -> list[Slot]:
    return free_slots(
        case.schedule,
        window or case.window,
        now=case.now,
        rules=case.rules,
        busy=[*case.absences, *case.bookings],
        visit_reason_id=case.reason,
    )


# --- properties -------------------------------------------------------------------------------------


@PROPERTY
@given(case=cases())
def test_free_slots_obey_every_rule_and_miss_none(case: Case) -> None:
    """Around the changes of 2020-2035 in five zones: sound, complete, and in the right shape.

    Slots of different visit reasons may overlap (they are alternatives for the same time); slots of
    one reason never do, touching blocks across a repeated hour included.
    """
    tz = case.schedule.timezone
    slots = _run(case)
    busy = case.absences + case.bookings
    for slot in slots:
        start, end = slot.start.astimezone(UTC), slot.end.astimezone(UTC)
        # the length is the visit duration, in real time, and both ends are on the cell grid
        assert end - start == timedelta(minutes=case.schedule.durations[slot.visit_reason_id])
        assert is_on_grid(start)
        assert is_on_grid(end)
        # shown in the practitioner's zone, and serialised as such
        assert slot.start.utcoffset() == start.astimezone(tz).utcoffset()
        assert datetime.fromisoformat(slot.start.isoformat()) == start
        # the rules and the window
        assert start >= case.now + timedelta(minutes=case.rules.min_notice_minutes)
        assert end <= case.now + timedelta(days=case.rules.max_horizon_days)
        assert case.window.start <= start < case.window.end
        assert case.reason in (None, slot.visit_reason_id)
        # no absence, no booking
        assert not any(overlaps(start, end, b.start, b.end) for b in busy)
        # inside an occurrence of a block that offers the reason
        day = start.astimezone(tz).date()
        assert any(
            block.weekday == day.weekday()
            and slot.visit_reason_id in block.visit_reason_ids
            and (occurrence := _occurrence(tz, day, block))[0] <= start
            and end <= occurrence[1]
            for block in case.schedule.weekly
        )
    # sorted, and slots of one visit reason never overlap each other
    assert utc(slots) == sorted(utc(slots))
    for reason in REASONS:
        mine = [s for s in slots if s.visit_reason_id == reason]
        for previous, current in zip(mine, mine[1:], strict=False):
            assert previous.end <= current.start
    # and nothing is missing: the brute-force oracle finds exactly the same slots
    assert utc(slots) == _oracle(
        case.schedule, case.window, case.now, case.rules, busy, case.reason
    )


@PROPERTY
@given(case=cases(max_window_days=15), cut=st.integers(1, 287))
def test_consecutive_windows_partition_the_slots(case: Case, cut: int) -> None:
    whole = _run(case)
    middle = case.window.start + (case.window.end - case.window.start) * cut / 288
    if not case.window.start < middle < case.window.end:
        return
    first = _run(case, Window(case.window.start, middle))
    second = _run(case, Window(middle, case.window.end))
    assert utc(first) + utc(second) == utc(whole)


@PROPERTY
@given(
    rule=st.sampled_from(RULES[:3]),
    year=st.sampled_from(YEARS),
    week=st.integers(0, 51),
)
def test_every_slot_of_a_plain_week_maps_to_the_expected_utc_hour(
    rule: DstRule, year: int, week: int
) -> None:
    """09:00-12:00 every day is 09, 10 and 11 o'clock local minus the offset of the hand-written rule."""
    tz = rule.tz
    schedule = Schedule(tz, weekdays(time(9), time(12), frozenset({"h"}), days=range(7)), {"h": 60})
    monday = date.fromisocalendar(year, week + 1, 1)
    window = Window(
        datetime.combine(monday, time(0), tzinfo=tz),
        datetime.combine(monday + timedelta(days=7), time(0), tzinfo=tz),
    )
    now = window.start - timedelta(days=1)
    slots = free_slots(schedule, window, now=now, rules=BookingRules(max_horizon_days=30))
    assert len(slots) == 7 * 3
    for index, slot in enumerate(slots):
        day = monday + timedelta(days=index // 3)
        local_hour = 9 + index % 3
        start = slot.start.astimezone(UTC)
        offset = rule.offset(start)
        assert start == datetime.combine(day, time(local_hour), tzinfo=UTC) - offset
        assert slot.start.utcoffset() == offset
        assert slot.start.hour == local_hour


@PROPERTY
@given(
    rule=st.sampled_from(RULES),
    year=st.sampled_from(YEARS),
    spring=st.booleans(),
    minutes=st.sampled_from([5, 10, 15, 20, 25, 30, 45, 60, 90]),
)
def test_transition_nights_hold_the_real_elapsed_time(
    rule: DstRule, year: int, spring: bool, minutes: int
) -> None:
    """A 00:00-06:00 block on the night of a change is open 6 hours minus (or plus) the saving."""
    starts, ends = rule.changes(year)
    change = starts if spring else ends
    tz = rule.tz
    night = change.astimezone(tz).date()
    assert night.weekday() == 6
    schedule = Schedule(tz, (OpeningBlock(6, time(0), time(6), frozenset({"x"})),), {"x": minutes})
    window = Window(
        datetime.combine(night, time(0), tzinfo=tz) - timedelta(hours=3),
        datetime.combine(night, time(12), tzinfo=tz),
    )
    slots = free_slots(schedule, window, now=window.start - timedelta(days=1), rules=OPEN)

    # the occurrence, from the hand-written rule alone: midnight before the change, 06:00 after it
    opens = datetime.combine(night, time(0), tzinfo=UTC) - rule.offset(
        change - timedelta(seconds=1)
    )
    closes = datetime.combine(night, time(6), tzinfo=UTC) - rule.offset(change)
    elapsed = closes - opens
    assert elapsed == timedelta(hours=6) + (-rule.saving if spring else rule.saving)
    length = timedelta(minutes=minutes)
    assert sum((s.duration for s in slots), timedelta()) == elapsed // length * length
    assert slots[0].start.astimezone(UTC) == opens
    for previous, current in zip(slots, slots[1:], strict=False):
        assert previous.end == current.start
        assert current.duration == length


@st.composite
def transition_nights(draw: st.DrawFn) -> Case:
    """Random night blocks (edges anywhere from 00:00 to 06:00, some touching) on a change night."""
    rule = draw(st.sampled_from(RULES))
    starts, ends = rule.changes(draw(st.sampled_from(YEARS)))
    night = (starts if draw(st.booleans()) else ends).astimezone(rule.tz).date()
    cuts = sorted(draw(st.sets(st.integers(0, 72), min_size=2, max_size=7)))
    pairs = list(zip(cuts, cuts[1:], strict=False))
    chosen = draw(st.lists(st.sampled_from(pairs), min_size=1, unique=True))
    blocks = tuple(
        OpeningBlock(
            6,
            (datetime.min + first * CELL).time(),
            (datetime.min + second * CELL).time(),
            frozenset(draw(st.sets(st.sampled_from(REASONS), min_size=1))),
        )
        for first, second in chosen
    )
    durations = {reason: draw(st.sampled_from([5, 10, 15, 20, 30, 45, 60])) for reason in REASONS}
    evening = datetime.combine(night, time(0), tzinfo=rule.tz).astimezone(UTC) - timedelta(hours=2)
    window = Window(evening, evening + timedelta(hours=12))
    bookings = tuple(
        Interval(begin, begin + draw(st.integers(1, 12)) * CELL)
        for begin in draw(
            st.lists(st.integers(0, 12 * 12).map(lambda n: evening + n * CELL), max_size=6)
        )
    )
    return Case(
        Schedule(rule.tz, blocks, durations),
        window,
        window.start - timedelta(days=1),
        OPEN,
        (),
        bookings,
        None,
    )


@PROPERTY
@given(case=transition_nights())
def test_blocks_on_the_nights_of_the_changes_match_the_oracle(case: Case) -> None:
    """Edges in the skipped or the repeated hour, touching blocks: same slots as the brute force."""
    slots = _run(case)
    assert utc(slots) == _oracle(
        case.schedule, case.window, case.now, case.rules, case.bookings, case.reason
    )
    for reason in REASONS:
        mine = [s for s in slots if s.visit_reason_id == reason]
        for previous, current in zip(mine, mine[1:], strict=False):
            assert previous.end <= current.start


def _as_json(
    tz: ZoneInfo, slots: Sequence[tuple[datetime, datetime, str]]
) -> list[dict[str, str | None]]:
    """The slot list body by the plain route: each instant through ``in_zone``, then ``isoformat``
    (the oracle's blocks name no site)."""
    return [
        {
            "start": in_zone(s, tz).isoformat(),
            "end": in_zone(e, tz).isoformat(),
            "visit_reason_id": r,
            "site_id": None,
        }
        for s, e, r in slots
    ]


def _body(case: Case) -> list[dict[str, str | None]]:
    laid = lay_free(
        case.schedule,
        case.window,
        now=case.now,
        rules=case.rules,
        busy=[*case.absences, *case.bookings],
        visit_reason_id=case.reason,
    )
    body: list[dict[str, str | None]] = json.loads(slots_text(laid))
    return body


@PROPERTY
@given(case=cases())
def test_the_slot_list_body_is_the_oracle_in_local_time(case: Case) -> None:
    """The integer layout and its hand-written JSON (the route's body) against the brute force, each
    instant shown in the zone by ``in_zone`` and ``isoformat``: same slots, offsets and text."""
    expected = _oracle(
        case.schedule,
        case.window,
        case.now,
        case.rules,
        case.absences + case.bookings,
        case.reason,
    )
    assert _body(case) == _as_json(case.schedule.timezone, expected)


@PROPERTY
@given(case=transition_nights())
def test_the_slot_list_body_on_the_nights_of_the_changes(case: Case) -> None:
    """Slots across the change itself: a slot's start and end may carry different offsets."""
    expected = _oracle(case.schedule, case.window, case.now, case.rules, case.bookings, case.reason)
    assert _body(case) == _as_json(case.schedule.timezone, expected)
    assert _body(case) == [
        {
            "start": s.start.isoformat(),
            "end": s.end.isoformat(),
            "visit_reason_id": s.visit_reason_id,
            "site_id": s.site_id or None,
        }
        for s in _run(case)
    ]
