"""Exports, directory reads, a desk's bookings and calendar feeds are rate-limited (SECURITY.md
"Throttling").

Exports (audit trail, consent log, a practice's reversibility export) share one hourly allowance
per account; a signed-in person's searches, profiles and slot lists share a per-minute one, which
a desk's search of its practice's patients spends too. A desk account's bookings have an hourly
allowance of their own, and a calendar feed's fetches one per practice. Past the allowance: 429
``rate_limited`` with ``Retry-After``, and the export, booking or fetch is neither run nor
audited. Anonymous reads count nothing and write nothing; OAuth clients are counted per client.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core import clock
from app.core.settings import Settings
from tests.factories import People, Person
from tests.helpers.booking import ready_practitioner, slots
from tests.helpers.problems import assert_problem, successes_before_429
from tests.helpers.team import secretary_of

EXPORTS = 2
READS = 3
DESK_BOOKINGS = 3
FEED_READS = 2


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "export_rate_per_hour": EXPORTS,
            "directory_reads_per_minute": READS,
            "desk_bookings_per_hour": DESK_BOOKINGS,
            "calendar_feed_reads_per_hour": FEED_READS,
        }
    )


async def _until_refused(person: Person, urls: list[str]) -> int:
    """Successful calls (cycling through ``urls``) before the first 429."""
    return await successes_before_429(lambda n: person.get(urls[n % len(urls)]))


async def _audited(engine: AsyncEngine, action: str) -> int:
    async with engine.connect() as connection:
        found = await connection.execute(
            sa.text("SELECT count(*) FROM audit_entry WHERE action = :action"), {"action": action}
        )
        return int(found.scalar_one())


async def test_admin_exports_share_one_allowance(people: People, engine: AsyncEngine) -> None:
    with clock.frozen(clock.now()) as frozen:
        admin = await people.signed_in(role="admin")
        assert (await admin.reauth()).status_code == 204
        exports = ["/api/v1/admin/audit", "/api/v1/admin/consent-log"]
        made = await _until_refused(admin, exports)
        assert made == EXPORTS
        # only the exports that ran are in the trail
        assert (
            await _audited(engine, "audit.exported")
            + await _audited(engine, "consent.log_exported")
            == made
        )

        other = await people.signed_in(role="admin")  # per account: another admin is not held
        assert (await other.reauth()).status_code == 204
        assert (await other.get("/api/v1/admin/audit")).status_code == 200

        frozen.advance(timedelta(seconds=61))  # the delay passes: one more, then a longer wait
        assert (await admin.get("/api/v1/admin/consent-log")).status_code == 200
        assert_problem(await admin.get("/api/v1/admin/audit"), 429, "rate_limited")


async def test_the_reversibility_export_is_rate_limited(people: People) -> None:
    doctor, _reasons = await ready_practitioner(people)
    assert (await doctor.reauth()).status_code == 204
    assert await _until_refused(doctor, ["/api/v1/me/practice/export"]) == EXPORTS


async def test_signed_in_directory_reads_are_rate_limited(people: People) -> None:
    doctor, _reasons = await ready_practitioner(people)
    practitioner = f"/api/v1/practitioners/{doctor.account_id}"
    reads = [practitioner, f"{practitioner}/slots", "/api/v1/practitioners?city=Paris"]
    with clock.frozen(clock.now()) as frozen:
        alice = await people.signed_in(role="patient")
        assert await _until_refused(alice, reads) == READS
        bob = await people.signed_in(role="patient")  # per account
        assert (await bob.get(f"{practitioner}/slots")).status_code == 200
        frozen.advance(timedelta(seconds=61))  # a minute without reads: a whole allowance again
        assert await _until_refused(alice, reads) == READS


async def test_anonymous_reads_count_nothing(people: People, engine: AsyncEngine) -> None:
    doctor, _reasons = await ready_practitioner(people)
    anonymous = await people.anonymous()
    async with engine.connect() as connection:
        before = (await connection.execute(sa.text("SELECT count(*) FROM throttle_state"))).one()
    for _ in range(3 * READS):
        response = await anonymous.get(f"/api/v1/practitioners/{doctor.account_id}/slots")
        assert response.status_code == 200
    async with engine.connect() as connection:
        after = (await connection.execute(sa.text("SELECT count(*) FROM throttle_state"))).one()
    assert after == before


async def _appointments(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        found = await connection.execute(sa.text("SELECT count(*) FROM appointment"))
        return int(found.scalar_one())


async def test_a_desk_books_on_an_allowance_of_its_own(people: People, engine: AsyncEngine) -> None:
    """A secretary's bookings by phone are counted per desk account; a replay spends nothing, the
    practitioner at the same desk has an allowance of their own, and the refused booking leaves
    no appointment and no audit entry."""
    doctor, (reason,) = await ready_practitioner(people)
    claire = await secretary_of(people, doctor)
    start = clock.now() + timedelta(days=1)
    free = await slots(people.client(), doctor.account_id, start, start + timedelta(days=3))
    url = f"/api/v1/practices/{doctor.account_id}/appointments"

    def by_phone(n: int, key: str | None = None) -> dict[str, object]:
        walk_in = {"full_name": f"Marc Petit {n}", "phone": "06 12 34 56 78"}
        return {"visit_reason_id": reason, "start": free[n]["start"], "patient": walk_in}

    key = {"Idempotency-Key": "phone-0"}
    assert (await claire.post(url, json=by_phone(0), headers=key)).status_code == 201
    for _ in range(DESK_BOOKINGS + 1):  # a retried answer books nothing and spends nothing
        replay = await claire.post(url, json=by_phone(0), headers=key)
        assert replay.headers["Idempotent-Replayed"] == "true"
    made = 1 + await successes_before_429(
        lambda n: claire.post(url, json=by_phone(n + 1)), ok=201, tries=2 * DESK_BOOKINGS
    )
    assert made == DESK_BOOKINGS
    booked, audited = await _appointments(engine), await _audited(engine, "appointment.booked")
    assert_problem(await claire.post(url, json=by_phone(20)), 429, "rate_limited")
    assert (await _appointments(engine), await _audited(engine, "appointment.booked")) == (
        booked,
        audited,
    )
    # per account: the practitioner at the same desk still books
    assert (await doctor.post(url, json=by_phone(21))).status_code == 201


async def test_a_desk_search_of_its_patients_spends_directory_reads(people: People) -> None:
    doctor, _reasons = await ready_practitioner(people)
    claire = await secretary_of(people, doctor)
    search = f"/api/v1/practices/{doctor.account_id}/patients?q=ma"
    with clock.frozen(clock.now()) as frozen:
        assert await _until_refused(claire, [search]) == READS
        assert (await doctor.get(search)).status_code == 200  # per account
        frozen.advance(timedelta(seconds=61))
        assert (await claire.get(search)).status_code == 200


async def test_a_calendar_feed_is_fetched_on_an_hourly_allowance(
    people: People, engine: AsyncEngine
) -> None:
    """Counted per practice, not per URL: a new URL is the same agenda. Refused fetches are not
    audited; another practice's feed is not held up; an hour later the feed answers again."""
    doctor, _reasons = await ready_practitioner(people)
    other, _ = await ready_practitioner(people)
    with clock.frozen(clock.now()) as frozen:
        url = (await doctor.post("/api/v1/me/calendar-feed")).json()["url"]
        anyone = people.client()
        feed = url.removeprefix("http://testserver")
        assert await successes_before_429(lambda n: anyone.get(feed)) == FEED_READS
        assert await _audited(engine, "calendar.read") == FEED_READS
        renewed = (await doctor.post("/api/v1/me/calendar-feed")).json()["url"]
        assert_problem(
            await anyone.get(renewed.removeprefix("http://testserver")), 429, "rate_limited"
        )
        assert await _audited(engine, "calendar.read") == FEED_READS
        theirs = (await other.post("/api/v1/me/calendar-feed")).json()["url"]
        assert (await anyone.get(theirs.removeprefix("http://testserver"))).status_code == 200
        frozen.advance(timedelta(hours=1, seconds=1))
        assert (await anyone.get(renewed.removeprefix("http://testserver"))).status_code == 200
