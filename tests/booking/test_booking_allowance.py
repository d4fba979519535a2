"""The per-patient booking allowance (SECURITY.md "Throttling"): attempts that may book spend it.

A retried request answered from its Idempotency-Key books nothing and spends nothing; neither
does an attempt refused for a missing consent. On SQLite the allowance's counter is the booking's
first write, so those reads run before the write lock is taken (bench B11).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import event

from app.core.settings import Settings
from tests.factories import People, Person
from tests.helpers.booking import book, grant, patient, ready_practitioner, slots, soon
from tests.helpers.problems import assert_problem, successes_before_429

ALLOWANCE = 2


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"booking_rate_per_hour": ALLOWANCE})


async def _bookings_until_refused(person: Person, doctor: Person, reason: str, first: int) -> int:
    """New bookings made before the first 429 (checked as the contract words it), each at a
    distinct free slot at least ``first`` minutes ahead, taken from the slot list: times counted
    from now (``soon``) all fall on midnight when run in the evening's last hour."""
    start = soon(first)
    free = await slots(person, doctor.account_id, start, start + timedelta(days=2))
    return await successes_before_429(
        lambda n: book(person, doctor.account_id, reason, free[n]["start"]), ok=201, tries=10
    )


async def test_the_allowance_ends_in_429(people: People) -> None:
    doctor, (reason,) = await ready_practitioner(people)
    made = await _bookings_until_refused(await patient(people), doctor, reason, 60)
    assert ALLOWANCE <= made <= ALLOWANCE + 1  # the call that goes over still passes


async def test_replays_and_consent_refusals_spend_nothing(people: People) -> None:
    doctor, (reason,) = await ready_practitioner(people)
    made = await _bookings_until_refused(await patient(people), doctor, reason, 60)

    alice = await patient(people)
    key = {"Idempotency-Key": "retry-once-more"}
    assert (await book(alice, doctor.account_id, reason, soon(600), headers=key)).status_code == 201
    for _ in range(3):
        again = await book(alice, doctor.account_id, reason, soon(600), headers=key)
        assert again.status_code == 201
        assert again.headers["Idempotent-Replayed"] == "true"
    assert await _bookings_until_refused(alice, doctor, reason, 700) == made - 1

    carol = await people.signed_in(role="patient")
    for n in range(made + 2):
        refused = await book(carol, doctor.account_id, reason, soon(1000 + 15 * n))
        assert_problem(refused, 409, "consent_required")
    await grant(carol, "privacy-notice")
    assert await _bookings_until_refused(carol, doctor, reason, 1000) == made


@pytest.mark.only_backend("sqlite")
async def test_sqlite_takes_the_write_lock_after_the_consent_read(
    app: FastAPI, people: People
) -> None:
    """What SQLite ran, in order (its trace callback: the held-back BEGIN shows where it ran)."""
    doctor, (reason,) = await ready_practitioner(people)
    alice = await patient(people)
    ran: list[str] = []

    def trace(_dbapi: Any, record: Any, _proxy: Any) -> None:
        record.driver_connection._raw.set_trace_callback(
            lambda sql: ran.append(" ".join(sql.split()).lower())
        )

    pool = app.state.engine.sync_engine.pool
    event.listen(pool, "checkout", trace)
    try:
        made = await book(alice, doctor.account_id, reason, soon(60) + timedelta(hours=1))
        assert made.status_code == 201, made.text
    finally:
        event.remove(pool, "checkout", trace)
    consent = next(i for i, sql in enumerate(ran) if "from consent" in sql)
    assert consent < ran.index("begin immediate"), ran
