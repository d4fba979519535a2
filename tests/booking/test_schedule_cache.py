"""A published schedule is parsed once and reused (``schedule_of``), and never outlives a change.

The cache is keyed by what the practice stores (zone, weekly JSON, reasons and durations): these
tests pin both halves of that promise, reuse and freshness, the second through the API as a
practitioner changes their hours, zone and reasons between two slot lists.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.booking.service import schedule_of
from app.booking.timegrid import ScheduleError
from app.core import clock
from tests.booking.helpers import ready_practitioner, slots
from tests.factories import People

MONDAY_MORNING = json.dumps(
    [{"weekday": 0, "start": "09:00", "end": "12:00", "visit_reason_ids": ["a", "b"]}]
)


def test_equal_inputs_share_one_schedule() -> None:
    first = schedule_of("Europe/Paris", MONDAY_MORNING, {"a": 15, "b": 30})
    again = schedule_of("Europe/Paris", MONDAY_MORNING, {"b": 30, "a": 15})
    assert again is first
    assert dict(first.durations) == {"a": 15, "b": 30}


def test_any_change_of_the_stored_schedule_is_a_new_one() -> None:
    first = schedule_of("Europe/Paris", MONDAY_MORNING, {"a": 15, "b": 30})
    afternoon = MONDAY_MORNING.replace("09:00", "14:00").replace("12:00", "17:00")
    assert schedule_of("Europe/Paris", afternoon, {"a": 15, "b": 30}).weekly[0].start.hour == 14
    assert schedule_of("America/Cayenne", MONDAY_MORNING, {"a": 15, "b": 30}).timezone == (
        ZoneInfo("America/Cayenne")
    )
    assert schedule_of("Europe/Paris", MONDAY_MORNING, {"a": 20, "b": 30}).durations["a"] == 20
    narrowed = schedule_of("Europe/Paris", MONDAY_MORNING, {"a": 15})
    assert narrowed.weekly[0].visit_reason_ids == frozenset({"a"})
    assert first.weekly[0].visit_reason_ids == frozenset({"a", "b"})


def test_an_invalid_schedule_fails_every_time() -> None:
    overlapping = json.dumps(
        [
            {"weekday": 0, "start": "09:00", "end": "12:00", "visit_reason_ids": ["a"]},
            {"weekday": 0, "start": "11:00", "end": "13:00", "visit_reason_ids": ["a"]},
        ]
    )
    for _ in range(2):
        with pytest.raises(ScheduleError):
            schedule_of("Europe/Paris", overlapping, {"a": 15})


async def test_slot_lists_follow_each_change_at_once(people: People) -> None:
    """Listed, changed, listed again: the second list is the new schedule's, never the first's."""
    paris = ZoneInfo("Europe/Paris")
    doctor, (short,) = await ready_practitioner(
        people, weekly=[{"weekday": d, "start": "09:00", "end": "10:00"} for d in range(7)]
    )
    day = (clock.now() + timedelta(days=2)).astimezone(paris).date()
    start = datetime(day.year, day.month, day.day, tzinfo=paris)
    end = start + timedelta(days=1)

    def hours(listed: list[dict[str, str]]) -> set[int]:
        return {datetime.fromisoformat(s["start"]).hour for s in listed}

    assert hours(await slots(people.client(), doctor.account_id, start, end)) == {9}

    afternoon = [
        {"weekday": d, "start": "14:00", "end": "15:00", "visit_reason_ids": [short]}
        for d in range(7)
    ]
    changed = await doctor.put(
        "/api/v1/me/availability", json={"timezone": "Europe/Paris", "weekly": afternoon}
    )
    assert changed.status_code == 200, changed.text
    assert hours(await slots(people.client(), doctor.account_id, start, end)) == {14}

    # the same wall-clock hours in another zone: the same stored blocks, another schedule
    moved = await doctor.put(
        "/api/v1/me/availability", json={"timezone": "America/Cayenne", "weekly": afternoon}
    )
    assert moved.status_code == 200, moved.text
    listed = await slots(people.client(), doctor.account_id, start, end + timedelta(days=1))
    assert {datetime.fromisoformat(s["start"]).utcoffset() for s in listed} == {
        timedelta(hours=-3)
    }

    # a retired reason leaves the hours: nothing left to list
    assert (await doctor.delete(f"/api/v1/me/visit-reasons/{short}")).status_code == 204
    assert await slots(people.client(), doctor.account_id, start, end) == []
