"""A practice as its practitioner keeps it: the profile's rules, opening hours across the clock
changes, absences over booked time, and visit reasons that decide whether the practice is listed."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from app.core import clock
from app.core.settings import Settings
from tests.factories import People, outbox
from tests.helpers.booking import (
    ALL_WEEK,
    LISTING,
    approve,
    book,
    grant,
    paris_at,
    patient,
    ready_practitioner,
    slots,
    soon,
)
from tests.helpers.problems import assert_problem

#: a visit reason that must never reach a mail (charter C5: the motif stays in the agenda)
SECRET_LABEL = "Suivi-contraception-zz9"


def _last_sunday(year: int, month: int) -> date:
    day = date(year, month + 1, 1) - timedelta(days=1) if month < 12 else date(year, 12, 31)
    return day - timedelta(days=(day.weekday() + 1) % 7)


async def test_opening_hours_across_daylight_saving_changes(people: People) -> None:
    doctor, (reason,) = await ready_practitioner(
        people,
        reasons=[("Consultation", 60)],
        weekly=[{"weekday": d, "start": "09:00", "end": "12:00"} for d in range(7)],
    )
    anyone = people.client()
    today = clock.now().date()
    checked = 0
    for year in (today.year, today.year + 1):
        for month in (3, 10):
            change = _last_sunday(year, month)
            if (
                not today + timedelta(days=2)
                < change - timedelta(days=7)
                < today + timedelta(days=350)
            ):
                continue
            start = datetime.combine(change - timedelta(days=7), datetime.min.time(), tzinfo=UTC)
            found = await slots(anyone, doctor.account_id, start, start + timedelta(days=14))
            assert len(found) == 14 * 3  # no slot created or lost around the change
            for day_slots in (found[i : i + 3] for i in range(0, len(found), 3)):
                local = datetime.fromisoformat(day_slots[0]["start"])
                summer = local.utcoffset() == timedelta(hours=2)
                expected_utc_hour = 7 if summer else 8
                assert local.hour == 9
                assert local.astimezone(UTC).hour == expected_utc_hour
                assert [datetime.fromisoformat(s["start"]).hour for s in day_slots] == [9, 10, 11]
            winter_first = next(s for s in found if s["start"].endswith("+01:00"))
            summer_first = next(s for s in found if s["start"].endswith("+02:00"))
            assert datetime.fromisoformat(winter_first["start"]).astimezone(UTC).hour == 8
            assert datetime.fromisoformat(summer_first["start"]).astimezone(UTC).hour == 7
            checked += 1
    assert checked >= 1
    assert_problem(
        await anyone.get(
            f"/api/v1/practitioners/{doctor.account_id}/slots",
            params={"from": soon(0).isoformat(), "to": (soon(0) + timedelta(days=32)).isoformat()},
        ),
        422,
        "validation_error",
    )


async def test_absence_with_appointments_conflicts_or_cancels_and_notifies(
    people: People, settings: Settings
) -> None:
    doctor, (reason,) = await ready_practitioner(people, reasons=[(SECRET_LABEL, 30)])
    alice = await patient(people)
    start = paris_at(2, 10)
    appointment = (await book(alice, doctor.account_id, reason, start)).json()
    window = {
        "start": (start - timedelta(hours=1)).isoformat(),
        "end": (start + timedelta(hours=2)).isoformat(),
    }
    body = assert_problem(
        await doctor.post("/api/v1/me/absences", json=window), 409, "absence_conflicts"
    )
    assert body["appointments"] == 1
    created = await doctor.post("/api/v1/me/absences", json={**window, "cancel_appointments": True})
    assert created.status_code == 201
    assert created.json()["cancelled_appointments"] == 1
    # its times are the practice's wall clock, in the answer and in the list alike (API.md
    # "Conventions"), whatever offset the request used
    (listed,) = (await doctor.get("/api/v1/me/absences")).json()
    local = (start - timedelta(hours=1)).astimezone(ZoneInfo("Europe/Paris")).isoformat()
    assert created.json()["start"] == listed["start"] == local
    in_utc = {
        "start": (start + timedelta(days=1)).astimezone(UTC).isoformat(),
        "end": (start + timedelta(days=1, hours=1)).astimezone(UTC).isoformat(),
    }
    later = (await doctor.post("/api/v1/me/absences", json=in_utc)).json()
    assert (
        later["start"]
        == (start + timedelta(days=1)).astimezone(ZoneInfo("Europe/Paris")).isoformat()
    )
    assert [a["end"] for a in (await doctor.get("/api/v1/me/absences")).json()] == [
        listed["end"],
        later["end"],
    ]
    too_long = {**window, "end": (start + timedelta(days=400)).isoformat()}
    body = assert_problem(
        await doctor.post("/api/v1/me/absences", json=too_long), 422, "validation_error"
    )
    assert [e["field"] for e in body["errors"]] == ["end"]
    cancelled = (await alice.get(f"/api/v1/appointments/{appointment['id']}")).json()
    assert cancelled["status"] == "cancelled"
    assert cancelled["visit_reason"] is None
    mails = [m for m in outbox(settings) if m["To"] == alice.email and "annul" in str(m["Subject"])]
    assert len(mails) == 1
    assert SECRET_LABEL not in mails[0].as_string()


async def test_practice_profile_validation(people: People) -> None:
    doctor = await people.signed_in(role="practitioner")
    me = (await doctor.get("/api/v1/me/practice")).json()
    assert me["status"] == "pending"
    assert me["listed"] is False
    assert me["id"] == doctor.account_id
    bad = await doctor.put(
        "/api/v1/me/practice", json={"profession": "sage-femme", "specialty": "pediatrie"}
    )
    assert_problem(bad, 422, "validation_error")
    assert_problem(
        await doctor.put("/api/v1/me/practice", json={"timezone": "Mars/Olympus"}),
        422,
        "validation_error",
    )
    assert_problem(
        await doctor.put("/api/v1/me/practice", json={"motif": "x"}), 422, "validation_error"
    )
    reason = (
        await doctor.post(
            "/api/v1/me/visit-reasons", json={"label": "Bilan", "duration_minutes": 20}
        )
    ).json()["id"]
    overlapping = {
        "timezone": "Europe/Paris",
        "weekly": [
            {"weekday": 0, "start": "09:00", "end": "12:00", "visit_reason_ids": [reason]},
            {"weekday": 0, "start": "11:00", "end": "13:00", "visit_reason_ids": [reason]},
        ],
    }
    assert_problem(
        await doctor.put("/api/v1/me/availability", json=overlapping), 422, "invalid_availability"
    )
    unknown = {
        "timezone": "Europe/Paris",
        "weekly": [
            {
                "weekday": 0,
                "start": "09:00",
                "end": "12:00",
                "visit_reason_ids": [str(uuid.uuid4())],
            }
        ],
    }
    assert_problem(
        await doctor.put("/api/v1/me/availability", json=unknown), 422, "invalid_availability"
    )
    # hours the schema refuses are invalid availability too (API.md), with the same errors
    block: dict[str, Any] = {
        "weekday": 0,
        "start": "09:00",
        "end": "12:00",
        "visit_reason_ids": [reason],
    }
    changes: tuple[tuple[dict[str, Any], str], ...] = (
        ({"weekday": 7}, "weekly.0.weekday"),
        ({"start": "25:00"}, "weekly.0.start"),
        ({"visit_reason_ids": []}, "weekly.0.visit_reason_ids"),
    )
    for change, field in changes:
        refused = await doctor.put(
            "/api/v1/me/availability",
            json={"timezone": "Europe/Paris", "weekly": [block | change]},
        )
        body = assert_problem(refused, 422, "invalid_availability")
        assert [e["field"] for e in body["errors"]] == [field], body
    good = {"timezone": "America/New_York", "weekly": [overlapping["weekly"][0]]}
    assert (await doctor.put("/api/v1/me/availability", json=good)).status_code == 200
    assert (await doctor.delete(f"/api/v1/me/visit-reasons/{reason}")).status_code == 204
    assert (await doctor.get("/api/v1/me/availability")).json()["weekly"] == []


async def test_a_practice_without_visit_reasons_is_not_listed(people: People) -> None:
    doctor, (reason,) = await ready_practitioner(people, listed=False)
    assert (await doctor.delete(f"/api/v1/me/visit-reasons/{reason}")).status_code == 204
    await grant(doctor, *LISTING)
    await approve(people.app, people.settings, doctor.account_id)
    practice = (await doctor.get("/api/v1/me/practice")).json()
    assert practice["listed"] is False
    assert practice["listing_missing"] == ["visit-reasons"]
    visitor = await people.anonymous()
    found = (await visitor.get("/api/v1/practitioners", params={"city": "Paris"})).json()
    assert doctor.account_id not in [p["id"] for p in found["items"]]
    assert_problem(
        await visitor.get(f"/api/v1/practitioners/{doctor.account_id}"), 404, "not_found"
    )
    # one visit reason, and the practice is listed at once
    created = await doctor.post(
        "/api/v1/me/visit-reasons", json={"label": "Consultation", "duration_minutes": 20}
    )
    assert created.status_code == 201
    practice = (await doctor.get("/api/v1/me/practice")).json()
    assert (practice["listed"], practice["listing_missing"]) == (True, [])
    found = (await visitor.get("/api/v1/practitioners", params={"city": "Paris"})).json()
    assert doctor.account_id in [p["id"] for p in found["items"]]
    # retiring the last one ends the listing again
    removed = await doctor.delete(f"/api/v1/me/visit-reasons/{created.json()['id']}")
    assert removed.status_code == 204
    assert (await doctor.get("/api/v1/me/practice")).json()["listing_missing"] == ["visit-reasons"]


async def test_a_new_visit_reason_can_be_offered_in_every_opening_block(people: People) -> None:
    doctor, (first,) = await ready_practitioner(people, weekly=ALL_WEEK[:3])
    start, end = soon(), soon() + timedelta(days=7)
    # by default a new reason waits for the opening hours to name it (the API says so)
    quiet = await doctor.post(
        "/api/v1/me/visit-reasons", json={"label": "Vaccination", "duration_minutes": 10}
    )
    assert (
        await slots(doctor, doctor.account_id, start, end, visit_reason_id=quiet.json()["id"]) == []
    )
    offered = await doctor.post(
        "/api/v1/me/visit-reasons",
        json={"label": "Renouvellement", "duration_minutes": 10, "offer_in_all_hours": True},
    )
    assert offered.status_code == 201, offered.text
    weekly = (await doctor.get("/api/v1/me/availability")).json()["weekly"]
    assert len(weekly) == 3
    for block in weekly:
        assert set(block["visit_reason_ids"]) == {first, offered.json()["id"]}
    assert await slots(doctor, doctor.account_id, start, end, visit_reason_id=offered.json()["id"])
