"""Exports and directory reads are rate-limited per account (SECURITY.md "Throttling").

Exports (audit trail, consent log, a practice's reversibility export) share one hourly allowance
per account; a signed-in person's searches, profiles and slot lists share a per-minute one. Past
the allowance: 429 ``rate_limited`` with ``Retry-After``, and the export is neither run nor
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
from tests.helpers.booking import ready_practitioner
from tests.helpers.problems import assert_problem, successes_before_429

EXPORTS = 2
READS = 3


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"export_rate_per_hour": EXPORTS, "directory_reads_per_minute": READS}
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
