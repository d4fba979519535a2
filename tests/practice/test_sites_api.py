"""Sites and date overrides (issue #26, API "Sites, date overrides and waiting list"): blocks and
slots name their site, a booked visit is at its site's address, search finds a practice by any
site's city or postcode, an override replaces or closes one local date (DST days included), and a
site in another zone lays its slots in that zone. Each test runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from app.core import clock
from tests.factories import People
from tests.helpers.booking import book, patient, ready_practitioner, slots
from tests.helpers.problems import assert_problem

PARIS = ZoneInfo("Europe/Paris")
ANNEXE = {
    "label": "Annexe de Versailles",
    "address": "3 rue Hoche",
    "city": "Versailles",
    "postcode": "78000",
    "timezone": "Europe/Paris",
}


def _ahead(days: int) -> date:
    return (clock.now() + timedelta(days=days)).astimezone(PARIS).date()


def _day(day: date, zone: ZoneInfo = PARIS) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    return start, start + timedelta(days=1)


def _last_sunday(year: int, month: int) -> date:
    last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - 6) % 7)


def _next_change(month: int) -> date:
    """The next last Sunday of ``month`` at least two days ahead: Paris changes its clocks then."""
    today = _ahead(0)
    return next(
        d
        for d in (_last_sunday(today.year, month), _last_sunday(today.year + 1, month))
        if d >= today + timedelta(days=2)
    )


def _plain_sundays(*changes: date) -> tuple[date, date]:
    """The first two Sundays at least two days ahead on which the clocks do not change."""
    day = _ahead(2)
    day += timedelta(days=(6 - day.weekday()) % 7)
    found: list[date] = []
    while len(found) < 2:
        if day not in changes:
            found.append(day)
        day += timedelta(days=7)
    return found[0], found[1]


def _fields(site: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in site.items() if k != "id"}


async def _search(client: Any, **params: str) -> list[str]:
    response = await client.get("/api/v1/practitioners", params=params)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def test_sites_name_blocks_slots_and_visits_and_search_finds_any_of_them(
    people: People,
) -> None:
    doctor, (reason,) = await ready_practitioner(people, city="Paris")
    (main,) = (await doctor.get("/api/v1/me/sites")).json()
    # the practice's address became its main site, which the hours already name
    assert (main["city"], main["address"], main["postcode"]) == ("Paris", "1 rue de la Paix", "")
    weekly = (await doctor.get("/api/v1/me/availability")).json()["weekly"]
    assert {b["site_id"] for b in weekly} == {main["id"]}

    created = await doctor.post("/api/v1/me/sites", json=ANNEXE)
    assert created.status_code == 201, created.text
    annexe = created.json()
    assert annexe["postcode"] == "78000"
    moved = await doctor.put(
        f"/api/v1/me/sites/{main['id']}",
        json={**_fields(main), "postcode": "75002", "label": "Opéra"},
    )
    assert moved.status_code == 200, moved.text

    # one date at the annexe only: its slots name it, the others' the main site
    day = _ahead(3)
    override = await doctor.post(
        "/api/v1/me/overrides",
        json={
            "date": day.isoformat(),
            "blocks": [
                {
                    "start": "09:00",
                    "end": "10:00",
                    "visit_reason_ids": [reason],
                    "site_id": annexe["id"],
                }
            ],
        },
    )
    assert override.status_code == 201, override.text
    anyone = people.client()
    that_day = await slots(anyone, doctor.account_id, *_day(day))
    assert [s["start"][11:16] for s in that_day] == ["09:00", "09:15", "09:30", "09:45"]
    assert {s["site_id"] for s in that_day} == {annexe["id"]}
    other_day = await slots(anyone, doctor.account_id, *_day(_ahead(4)))
    assert len(other_day) > 4
    assert {s["site_id"] for s in other_day} == {main["id"]}

    # the visit is at the annexe: the patient reads its address
    alice = await patient(people)
    booked = await book(alice, doctor.account_id, reason, that_day[0]["start"])
    assert booked.status_code == 201, booked.text
    assert booked.json()["site_id"] == annexe["id"]
    shown = (await alice.get(f"/api/v1/appointments/{booked.json()['id']}")).json()
    assert (shown["address"], shown["city"]) == ("3 rue Hoche", "Versailles")

    # the profile lists both sites, the main one first; search finds either
    profile = (await anyone.get(f"/api/v1/practitioners/{doctor.account_id}")).json()
    assert [s["label"] for s in profile["sites"]] == ["Opéra", "Annexe de Versailles"]
    assert profile["city"] == "Paris"
    for params in ({"postcode": "78000"}, {"postcode": "78"}, {"postcode": "75"},
                   {"postcode": "75002"}, {"city": "versailles"}, {"city": "Paris"}):  # fmt: skip
        assert await _search(anyone, **params) == [doctor.account_id], params
    for params in ({"postcode": "78001"}, {"postcode": "69"}, {"city": "Lyon"}):
        assert await _search(anyone, **params) == [], params
    for bad in ("7", "7800", "78 000", "AB"):
        assert_problem(
            await anyone.get("/api/v1/practitioners", params={"postcode": bad}),
            422,
            "validation_error",
        )
    found = (await anyone.get("/api/v1/practitioners", params={"postcode": "78"})).json()
    assert [s["postcode"] for s in found["items"][0]["sites"]] == ["75002", "78000"]
    assert found["items"][0]["next_slot"]["site_id"] in (main["id"], annexe["id"])

    # a site in use stays: by hours, then by a booked visit; never the last one
    assert_problem(await doctor.delete(f"/api/v1/me/sites/{annexe['id']}"), 409, "site_in_use")
    assert (await doctor.delete(f"/api/v1/me/overrides/{day.isoformat()}")).status_code == 204
    assert_problem(await doctor.delete(f"/api/v1/me/sites/{annexe['id']}"), 409, "site_in_use")
    cancel = await alice.post(f"/api/v1/appointments/{booked.json()['id']}/cancel")
    assert cancel.status_code == 200, cancel.text
    assert (await doctor.delete(f"/api/v1/me/sites/{annexe['id']}")).status_code == 204
    # the cancelled visit let go of the removed site: it is told at the main address
    shown = (await alice.get(f"/api/v1/appointments/{booked.json()['id']}")).json()
    assert (shown["site_id"], shown["address"], shown["city"]) == (
        None,
        "1 rue de la Paix",
        "Paris",
    )
    assert_problem(await doctor.delete(f"/api/v1/me/sites/{main['id']}"), 409, "last_site")
    assert await _search(anyone, postcode="78") == []

    # the v1 profile and the main site are one address
    practice = (await doctor.get("/api/v1/me/practice")).json()
    assert (practice["address"], practice["city"]) == ("1 rue de la Paix", "Paris")
    edited = await doctor.put("/api/v1/me/practice", json={"city": "Lyon", "address": "2 quai"})
    assert edited.status_code == 200, edited.text
    (only,) = (await doctor.get("/api/v1/me/sites")).json()
    assert (only["id"], only["city"], only["address"]) == (main["id"], "Lyon", "2 quai")
    assert await _search(anyone, city="Lyon") == [doctor.account_id]


async def test_sites_are_checked_and_private_to_their_practice(people: People) -> None:
    doctor, (reason,) = await ready_practitioner(people)
    other, _ = await ready_practitioner(people)
    theirs = (await other.post("/api/v1/me/sites", json=ANNEXE)).json()
    for bad in (
        {**ANNEXE, "postcode": "7800"},
        {**ANNEXE, "city": ""},
        {**ANNEXE, "label": "x" * 81},
    ):
        assert_problem(await doctor.post("/api/v1/me/sites", json=bad), 422, "validation_error")
    assert_problem(
        await doctor.post("/api/v1/me/sites", json={**ANNEXE, "timezone": "Mars/Olympus"}),
        422,
        "invalid_site",
    )
    # another practice's site: not found, and not a place for my hours
    assert_problem(
        await doctor.put(f"/api/v1/me/sites/{theirs['id']}", json=ANNEXE), 404, "not_found"
    )
    assert_problem(await doctor.delete(f"/api/v1/me/sites/{theirs['id']}"), 404, "not_found")
    block = {"weekday": 0, "start": "09:00", "end": "10:00", "visit_reason_ids": [reason]}
    assert_problem(
        await doctor.put(
            "/api/v1/me/availability",
            json={"timezone": "Europe/Paris", "weekly": [{**block, "site_id": theirs["id"]}]},
        ),
        422,
        "invalid_availability",
    )
    # two sites cannot hold the same hour (one practitioner, one place at a time)
    mine = (await doctor.post("/api/v1/me/sites", json=ANNEXE)).json()
    (main, _annexe) = (await doctor.get("/api/v1/me/sites")).json()
    overlapping = [
        {**block, "site_id": main["id"]},
        {**block, "start": "09:30", "end": "11:00", "site_id": mine["id"]},
    ]
    assert_problem(
        await doctor.put(
            "/api/v1/me/availability", json={"timezone": "Europe/Paris", "weekly": overlapping}
        ),
        422,
        "invalid_availability",
    )
    alice = await patient(people)
    assert_problem(await alice.get("/api/v1/me/sites"), 403, "forbidden")
    assert_problem(await alice.post("/api/v1/me/overrides", json={}), 403, "forbidden")


async def test_overrides_replace_or_close_a_date_and_keep_dst_right(people: People) -> None:
    """A Sunday's weekly hours are 09:00-12:00; overrides give the nights the clocks change in
    the next year their own hours, close one Sunday, and are removed again."""
    sunday = [{"weekday": 6, "start": "09:00", "end": "12:00"}]
    doctor, (reason,) = await ready_practitioner(
        people, reasons=[("Consultation", 60)], weekly=sunday
    )
    anyone = people.client()

    async def starts(day: date) -> list[str]:
        return [s["start"] for s in await slots(anyone, doctor.account_id, *_day(day))]

    async def override(day: date, *hours: tuple[str, str]) -> Any:
        blocks = [{"start": a, "end": b, "visit_reason_ids": [reason]} for a, b in hours]
        return await doctor.post(
            "/api/v1/me/overrides", json={"date": day.isoformat(), "blocks": blocks}
        )

    # Paris: 02:00 -> 03:00 on the last Sunday of March, 03:00 -> 02:00 on October's
    spring, autumn = _next_change(3), _next_change(10)
    assert (await override(spring, ("01:00", "05:00"))).status_code == 201
    # 01:00-05:00 on the wall is three real hours that night
    assert await starts(spring) == [
        f"{spring}T01:00:00+01:00",
        f"{spring}T03:00:00+02:00",
        f"{spring}T04:00:00+02:00",
    ]
    assert (await override(autumn, ("01:00", "04:00"))).status_code == 201
    # and 01:00-04:00 four, 02:00 twice
    assert await starts(autumn) == [
        f"{autumn}T01:00:00+02:00",
        f"{autumn}T02:00:00+02:00",
        f"{autumn}T02:00:00+01:00",
        f"{autumn}T03:00:00+01:00",
    ]
    closed, other = _plain_sundays(spring, autumn)
    assert (await override(closed)).status_code == 201
    assert await starts(closed) == []
    # the weekly pattern is untouched on the other Sundays
    assert [s[11:16] for s in await starts(other)] == ["09:00", "10:00", "11:00"]

    listed = (await doctor.get("/api/v1/me/overrides")).json()
    assert [(o["date"], len(o["blocks"])) for o in listed] == sorted(
        [(spring.isoformat(), 1), (closed.isoformat(), 0), (autumn.isoformat(), 1)]
    )
    assert (await doctor.delete(f"/api/v1/me/overrides/{closed}")).status_code == 204
    assert [s[11:16] for s in await starts(closed)] == ["09:00", "10:00", "11:00"]
    assert_problem(await doctor.delete(f"/api/v1/me/overrides/{closed}"), 404, "not_found")

    # refused: a date past, one beyond a year, overlapping blocks, an unknown reason
    yesterday = _ahead(-1)
    assert_problem(await override(yesterday, ("09:00", "10:00")), 422, "invalid_availability")
    assert_problem(await override(_ahead(400), ("09:00", "10:00")), 422, "invalid_availability")
    assert_problem(
        await override(spring, ("09:00", "11:00"), ("10:00", "12:00")),
        422,
        "invalid_availability",
    )
    unknown = await doctor.post(
        "/api/v1/me/overrides",
        json={
            "date": (other + timedelta(days=1)).isoformat(),
            "blocks": [{"start": "09:00", "end": "10:00", "visit_reason_ids": [doctor.account_id]}],
        },
    )
    assert_problem(unknown, 422, "invalid_availability")
    assert_problem(
        await doctor.post("/api/v1/me/overrides", json={"date": "2027-02-30", "blocks": []}),
        422,
        "validation_error",
    )
    # a refused override changed nothing
    assert [s[11:16] for s in await starts(spring)] == ["01:00", "03:00", "04:00"]

    # retiring the reason empties its blocks; the date stays closed rather than weekly
    assert (await doctor.delete(f"/api/v1/me/visit-reasons/{reason}")).status_code == 204
    stored = (await doctor.get("/api/v1/me/overrides")).json()
    assert [(o["date"], o["blocks"]) for o in stored] == sorted(
        [(spring.isoformat(), []), (autumn.isoformat(), [])]
    )


async def test_a_site_in_another_zone_lays_its_slots_in_that_zone(people: People) -> None:
    doctor, (reason,) = await ready_practitioner(
        people, weekly=[{"weekday": 0, "start": "09:00", "end": "09:30"}]
    )
    fort = await doctor.post(
        "/api/v1/me/sites",
        json={
            "label": "Fort-de-France",
            "address": "1 rue Victor Hugo",
            "city": "Fort-de-France",
            "postcode": "97200",
            "timezone": "America/Martinique",
        },
    )
    assert fort.status_code == 201, fort.text
    (main, far) = (await doctor.get("/api/v1/me/sites")).json()
    weekly = [
        {"weekday": 0, "start": "09:00", "end": "09:30", "visit_reason_ids": [reason],
         "site_id": main["id"]},
        {"weekday": 2, "start": "09:00", "end": "09:30", "visit_reason_ids": [reason],
         "site_id": far["id"]},
    ]  # fmt: skip
    assert (
        await doctor.put(
            "/api/v1/me/availability", json={"timezone": "Europe/Paris", "weekly": weekly}
        )
    ).status_code == 200
    start = datetime.combine(_ahead(1), datetime.min.time(), PARIS)
    found = await slots(people.client(), doctor.account_id, start, start + timedelta(days=7))
    by_site: dict[str, set[str]] = {}
    for s in found:
        by_site.setdefault(s["site_id"], set()).add(s["start"][11:])
    assert by_site == {
        main["id"]: {"09:00:00+01:00", "09:15:00+01:00"},
        far["id"]: {"09:00:00-04:00", "09:15:00-04:00"},
    }
    alice = await patient(people)
    far_slot = next(s for s in found if s["site_id"] == far["id"])
    booked = await book(alice, doctor.account_id, reason, far_slot["start"])
    assert booked.status_code == 201, booked.text
    shown = (await alice.get(f"/api/v1/appointments/{booked.json()['id']}")).json()
    assert shown["start"].endswith("-04:00")
    assert shown["city"] == "Fort-de-France"
