"""A practice's secret calendar feed (issue #26): an RFC 5545 calendar that icalendar reads, the
agenda's times and names without reason or phone, up to date on each fetch, replaced and revoked at
once. Each test runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import icalendar
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.booking.models import feed_table
from tests.factories import People
from tests.helpers.booking import book, patient, ready_practitioner, soon
from tests.helpers.problems import assert_problem

SECRET_REASON = "Suivi-grossesse-qq7"


def _path(url: str) -> str:
    return url.removeprefix("http://testserver")


async def test_the_feed_shows_the_agenda_without_reason_or_phone_and_follows_it(
    people: People, sessions: async_sessionmaker[AsyncSession]
) -> None:
    doctor, (reason,) = await ready_practitioner(people, reasons=[(SECRET_REASON, 15)])
    alice = await patient(people)
    assert (await alice.patch("/api/v1/me", json={"phone": "+33612345678"})).status_code == 200
    start = soon(24 * 60, span_hours=1)
    first = (await book(alice, doctor.account_id, reason, start)).json()["id"]
    second = (await book(alice, doctor.account_id, reason, start + timedelta(hours=1))).json()["id"]

    status = await doctor.get("/api/v1/me/calendar-feed")
    assert status.json() == {"active": False, "created_at": None}
    created = await doctor.post("/api/v1/me/calendar-feed")
    assert created.status_code == 201, created.text
    live = (await doctor.get("/api/v1/me/calendar-feed")).json()
    assert live["active"] is True
    assert live["created_at"] is not None
    assert "url" not in live  # shown once, never again
    url = created.json()["url"]
    assert url.startswith("http://testserver/api/v1/calendar/erdv_cal_")
    async with sessions() as session:  # only the token's hash is kept
        stored = (await session.execute(sa.select(feed_table.c.token_hash))).scalars().all()
    assert stored
    assert url.split("/")[-1].removesuffix(".ics") not in stored

    anyone = people.client()
    feed = await anyone.get(_path(url))
    assert feed.status_code == 200, feed.text
    assert feed.headers["content-type"].startswith("text/calendar")
    assert feed.headers["cache-control"] == "no-store"  # built on each fetch, kept by no cache
    calendar = icalendar.Calendar.from_ical(feed.text)
    events = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
    assert set(events) == {f"{first}@erdv", f"{second}@erdv"}
    assert str(events[f"{first}@erdv"]["SUMMARY"]) == f"Rendez-vous : {alice.full_name}"
    for secret in (SECRET_REASON, "+33612345678", "612345678", alice.email):
        assert secret not in feed.text

    # a change shows at the next fetch: the cancelled visit says so, with a higher SEQUENCE
    assert (await doctor.post(f"/api/v1/appointments/{second}/cancel")).status_code == 200
    again = icalendar.Calendar.from_ical((await anyone.get(_path(url))).text)
    cancelled = {str(e["UID"]): e for e in again.walk("VEVENT")}[f"{second}@erdv"]
    assert str(cancelled["STATUS"]) == "CANCELLED"
    assert int(cancelled.decoded("SEQUENCE")) == 1

    # a new feed replaces the old one; deleting it revokes it at once
    renewed = (await doctor.post("/api/v1/me/calendar-feed")).json()["url"]
    assert renewed != url
    assert_problem(await anyone.get(_path(url)), 404, "not_found")
    assert (await anyone.get(_path(renewed))).status_code == 200
    assert (await doctor.delete("/api/v1/me/calendar-feed")).status_code == 204
    assert_problem(await anyone.get(_path(renewed)), 404, "not_found")
    assert (await doctor.delete("/api/v1/me/calendar-feed")).status_code == 204  # idempotent
    assert (await doctor.get("/api/v1/me/calendar-feed")).json()["active"] is False
    assert_problem(await anyone.get("/api/v1/calendar/erdv_cal_nothing.ics"), 404, "not_found")


async def test_only_a_practitioner_has_a_feed(people: People) -> None:
    alice = await patient(people)
    assert_problem(await alice.post("/api/v1/me/calendar-feed"), 403, "forbidden")
    assert_problem(await alice.get("/api/v1/me/calendar-feed"), 403, "forbidden")
    anonymous = people.client()
    assert (await anonymous.post("/api/v1/me/calendar-feed")).status_code == 401
