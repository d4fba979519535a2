"""The cell grid and the wall-clock conversion under the slot computation."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.schedule.timegrid import (
    CELL,
    CELL_MINUTES,
    OffGrid,
    ScheduleError,
    UnsupportedTimezone,
    cells,
    check_duration,
    check_offset,
    in_zone,
    is_on_grid,
    wall_to_instant,
)
from tests.schedule.oracle import overlaps

PARIS = ZoneInfo("Europe/Paris")
ZONES = [
    ZoneInfo(key)
    for key in (
        "Europe/Paris",
        "America/New_York",
        "Australia/Sydney",
        "Australia/Lord_Howe",
        "Asia/Kathmandu",
        "Asia/Kolkata",
        "Pacific/Chatham",
    )
]
BASE = datetime(2027, 1, 1, tzinfo=UTC)

# Offsets a request may use: whole minutes, not necessarily on the grid.
any_offset = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))


def test_cell_is_five_minutes() -> None:
    assert CELL_MINUTES == 5
    assert timedelta(minutes=CELL_MINUTES) == CELL


def test_cells_lists_utc_cell_starts() -> None:
    start = datetime(2027, 3, 29, 9, 0, tzinfo=timezone(timedelta(hours=2)))
    assert cells(start, start + timedelta(minutes=15)) == [
        datetime(2027, 3, 29, 7, 0, tzinfo=UTC),
        datetime(2027, 3, 29, 7, 5, tzinfo=UTC),
        datetime(2027, 3, 29, 7, 10, tzinfo=UTC),
    ]
    assert all(cell.tzinfo is UTC for cell in cells(start, start + CELL))
    assert cells(start, start) == []


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (BASE + timedelta(minutes=1), BASE + timedelta(minutes=10)),
        (BASE, BASE + timedelta(minutes=7)),
        (BASE, BASE + timedelta(minutes=5, seconds=1)),
    ],
)
def test_cells_refuse_intervals_off_the_grid(start: datetime, end: datetime) -> None:
    with pytest.raises(OffGrid, match="not on the 5-minute grid"):
        cells(start, end)


def test_cells_refuse_reversed_and_naive_intervals() -> None:
    with pytest.raises(ScheduleError, match="before it starts"):
        cells(BASE + CELL, BASE)
    with pytest.raises(ScheduleError, match="timezone-aware"):
        cells(datetime(2027, 1, 1), datetime(2027, 1, 1, 0, 5))


def test_half_and_quarter_hour_zones_land_on_the_grid() -> None:
    """+05:30 and +05:45 are whole numbers of cells: their wall times on the grid stay on it in UTC."""
    kolkata = wall_to_instant(date(2027, 3, 29), time(9), ZoneInfo("Asia/Kolkata"))
    kathmandu = wall_to_instant(date(2027, 3, 29), time(9), ZoneInfo("Asia/Kathmandu"))
    assert kolkata == datetime(2027, 3, 29, 3, 30, tzinfo=UTC)
    assert kathmandu == datetime(2027, 3, 29, 3, 15, tzinfo=UTC)
    assert is_on_grid(kolkata)
    assert is_on_grid(kathmandu)
    check_offset(kathmandu, ZoneInfo("Asia/Kathmandu"))


@pytest.mark.parametrize(
    ("key", "at", "shown"),
    [
        ("Europe/Paris", datetime(1905, 6, 1, tzinfo=UTC), "+00:09:21"),
        ("Africa/Monrovia", datetime(1960, 6, 1, tzinfo=UTC), "-00:44:30"),
    ],
)
def test_historical_mean_time_offsets_are_refused(key: str, at: datetime, shown: str) -> None:
    with pytest.raises(UnsupportedTimezone, match=re.escape(f"{key} is {shown} from UTC")):
        check_offset(at, ZoneInfo(key))


@pytest.mark.parametrize("minutes", [5, 15, 45, 1440])
def test_durations_on_the_grid_are_accepted(minutes: int) -> None:
    assert check_duration(minutes) == timedelta(minutes=minutes)


@pytest.mark.parametrize("minutes", [0, -5, 7, 1445, True])
def test_durations_off_the_grid_are_refused(minutes: int) -> None:
    with pytest.raises(OffGrid):
        check_duration(minutes)


def test_skipped_wall_time_means_the_end_of_the_gap() -> None:
    """Paris springs forward at 02:00 CET on 28 March 2027: 02:00-02:59 never shows on the clock."""
    spring = date(2027, 3, 28)
    for wall in (time(2, 0), time(2, 30), time(2, 55), time(3, 0)):
        assert wall_to_instant(spring, wall, PARIS) == datetime(2027, 3, 28, 1, 0, tzinfo=UTC)
    assert wall_to_instant(spring, time(1, 55), PARIS) == datetime(2027, 3, 28, 0, 55, tzinfo=UTC)


def test_a_day_skipped_whole_does_not_crash() -> None:
    """Samoa jumped over 30 December 2011: every reading that day is the end of a 24-hour gap."""
    apia = ZoneInfo("Pacific/Apia")
    instant = wall_to_instant(date(2011, 12, 30), time(9), apia)
    assert instant.astimezone(apia) == datetime(2011, 12, 31, 0, 0, tzinfo=apia)


def test_repeated_wall_time_is_its_first_occurrence() -> None:
    """Paris falls back at 03:00 CEST on 31 October 2027: 02:00-02:59 shows twice."""
    autumn = date(2027, 10, 31)
    assert wall_to_instant(autumn, time(2, 0), PARIS) == datetime(2027, 10, 31, 0, 0, tzinfo=UTC)
    assert wall_to_instant(autumn, time(2, 30), PARIS) == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)
    # the second pass of the repeated hour goes to whatever contains 03:00 CET
    assert wall_to_instant(autumn, time(2, 55), PARIS) == datetime(2027, 10, 31, 0, 55, tzinfo=UTC)
    assert wall_to_instant(autumn, time(3, 0), PARIS) == datetime(2027, 10, 31, 2, 0, tzinfo=UTC)


def test_in_zone_gives_fixed_offsets_that_order_the_repeated_hour() -> None:
    first = in_zone(datetime(2027, 10, 31, 0, 30, tzinfo=UTC), PARIS)
    second = in_zone(datetime(2027, 10, 31, 1, 30, tzinfo=UTC), PARIS)
    assert first.isoformat() == "2027-10-31T02:30:00+02:00"
    assert second.isoformat() == "2027-10-31T02:30:00+01:00"
    # with a shared ZoneInfo these would compare equal and be 0:00:00 apart
    assert first < second
    assert second - first == timedelta(hours=1)


@settings(max_examples=300, deadline=None)
@given(
    a_start=st.integers(0, 200),
    a_len=st.integers(1, 40),
    b_start=st.integers(0, 200),
    b_len=st.integers(1, 40),
    a_zone=any_offset,
    b_zone=any_offset,
)
def test_intervals_overlap_iff_their_cell_sets_intersect(
    a_start: int,
    a_len: int,
    b_start: int,
    b_len: int,
    a_zone: timezone,
    b_zone: timezone,
) -> None:
    """The database's unique index on cells forbids exactly the overlapping bookings, in any offset."""
    a = (
        (BASE + a_start * CELL).astimezone(a_zone),
        (BASE + (a_start + a_len) * CELL).astimezone(a_zone),
    )
    b = (
        (BASE + b_start * CELL).astimezone(b_zone),
        (BASE + (b_start + b_len) * CELL).astimezone(b_zone),
    )
    a_cells, b_cells = cells(*a), cells(*b)
    assert overlaps(*a, *b) == bool(set(a_cells) & set(b_cells))
    assert len(a_cells) == a_len
    assert len(set(a_cells)) == a_len
    assert all(is_on_grid(cell) and cell.tzinfo is UTC for cell in a_cells)
    assert a_cells[0] == a[0]
    assert a_cells[-1] + CELL == a[1]


@settings(max_examples=400, deadline=None)
@given(
    tz=st.sampled_from(ZONES),
    day=st.dates(date(2020, 1, 1), date(2035, 12, 31)),
    first=st.integers(0, 287),
    second=st.integers(0, 287),
)
def test_wall_to_instant_is_the_first_instant_showing_the_reading_or_later(
    tz: ZoneInfo, day: date, first: int, second: int
) -> None:
    early, late = sorted((first, second))
    wall_early = (datetime.min + early * CELL).time()
    wall_late = (datetime.min + late * CELL).time()
    start = wall_to_instant(day, wall_early, tz)
    end = wall_to_instant(day, wall_late, tz)
    # never decreasing: touching wall intervals touch in real time, disjoint ones stay disjoint
    assert start <= end
    for instant, wall in ((start, wall_early), (end, wall_late)):
        assert is_on_grid(instant)
        local = instant.astimezone(tz)
        assert local.date() == day
        assert local.time() >= wall
        # the cell before it shows an earlier reading (or the day before): it is the first
        previous = (instant - CELL).astimezone(tz)
        assert (previous.date(), previous.time()) < (day, wall)
        if local.time() != wall:  # only a skipped reading moves, to the end of the gap
            assert previous.utcoffset() != local.utcoffset()
