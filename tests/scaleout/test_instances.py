"""Two ``erdv serve`` instances behind HAProxy hold together (issue 29, docs/scaling.md).

Each test sends requests to one instance, then to the other (straight to their ports, or through
the proxy, whose statistics say which instance answered): a session and its CSRF token made on one
work on the other, a retry of a booking landing on the other instance replays the first answer, a
throttle counts the failures both saw, and the periodic jobs, ticking on both every half second,
each run once. Each test uses patients of its own from the module's world.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from app.jobs import JOBS
from app.notifications.reminders import JOB_NAME
from bench.cluster import wait_until
from bench.dataset import PASSWORD
from tests.faults.conftest import free_slots, patient_headers
from tests.helpers.booking import version
from tests.scaleout.conftest import Deployment


def _clients(deployment: Deployment) -> list[httpx.AsyncClient]:
    return [httpx.AsyncClient(base_url=served.url, timeout=30) for served in deployment.instances]


async def test_a_session_and_its_csrf_token_hold_on_every_instance(
    deployment: Deployment,
) -> None:
    patient = deployment.world.patients[0]
    before = deployment.proxy.answered()
    async with httpx.AsyncClient(base_url=deployment.url, timeout=30) as proxy:
        for _ in range(10):
            mine = await proxy.get("/api/v1/me/appointments", headers=patient_headers(patient))
            assert mine.status_code == 200, mine.text
    after = deployment.proxy.answered()
    assert all(after[name] - before[name] >= 4 for name in after), (before, after)

    slot = free_slots(deployment.world, 1)[0]
    first, second = _clients(deployment)
    async with first, second:
        # no CSRF token: refused by both (the check is the same everywhere)
        for client in (first, second):
            bare = {"Cookie": f"erdv_session={patient['cookie']}"}
            refused = await client.post("/api/v1/appointments", json=slot, headers=bare)
            assert refused.status_code == 403, refused.text
        booked = await first.post(
            "/api/v1/appointments", json=slot, headers=patient_headers(patient)
        )
        assert booked.status_code == 201, booked.text
        appointment = booked.json()["id"]
        # the other instance sees the booking, and takes the same token for the cancellation
        seen = await second.get(
            f"/api/v1/appointments/{appointment}", headers=patient_headers(patient)
        )
        assert seen.status_code == 200, seen.text
        cancelled = await second.post(
            f"/api/v1/appointments/{appointment}/cancel", headers=patient_headers(patient)
        )
        assert cancelled.status_code == 200, cancelled.text
        signed_out = await first.post("/api/v1/auth/logout", headers=patient_headers(patient))
        assert signed_out.status_code == 204, signed_out.text
        gone = await second.get("/api/v1/me/appointments", headers=patient_headers(patient))
        assert gone.status_code == 401, gone.text


async def test_a_retry_landing_on_the_other_instance_replays_the_first_answer(
    deployment: Deployment,
) -> None:
    patient = deployment.world.patients[1]
    slots = free_slots(deployment.world, 3, first_day=3)
    first, second = _clients(deployment)
    async with first, second:
        key = {"Idempotency-Key": str(uuid.uuid4())}
        booked = await first.post(
            "/api/v1/appointments", json=slots[0], headers=patient_headers(patient, **key)
        )
        assert booked.status_code == 201, booked.text
        retried = await second.post(
            "/api/v1/appointments", json=slots[0], headers=patient_headers(patient, **key)
        )
        assert retried.status_code == 201, retried.text
        assert retried.headers.get("Idempotent-Replayed") == "true"
        assert retried.json() == booked.json()

        # the same key with another body is a client error wherever it lands
        other = await second.post(
            "/api/v1/appointments", json=slots[1], headers=patient_headers(patient, **key)
        )
        assert other.status_code == 422, other.text

        # duplicates sent at once, half to each instance: one appointment, answered to all
        key = {"Idempotency-Key": str(uuid.uuid4())}
        answers = await asyncio.gather(
            *(
                client.post(
                    "/api/v1/appointments", json=slots[2], headers=patient_headers(patient, **key)
                )
                for client in (first, second) * 6
            )
        )
        assert sorted(a.status_code for a in answers) == [201] * 12, [a.text for a in answers]
        assert len({a.json()["id"] for a in answers}) == 1

        mine = await first.get("/api/v1/me/appointments", headers=patient_headers(patient))
        assert len(mine.json()) == 2


async def test_a_throttle_counts_the_failures_of_both_instances(deployment: Deployment) -> None:
    patient = deployment.world.patients[2]
    wrong = {"email": patient["email"], "password": "not-the-password-at-all"}
    first, second = _clients(deployment)
    async with first, second:
        # five free failures for an account (docs/security.md "Throttling"): three here, two there
        for client in (first, second, first, second, first):
            failed = await client.post("/api/v1/auth/login", json=wrong)
            assert failed.status_code == 401, failed.text
        # neither instance saw five on its own; the sixth is throttled on both
        for client in (second, first):
            held = await client.post("/api/v1/auth/login", json=wrong)
            assert held.status_code == 429, held.text
            assert held.json()["code"] == "rate_limited"
            assert int(held.headers["Retry-After"]) > 0
        right = {"email": patient["email"], "password": PASSWORD}
        assert (await second.post("/api/v1/auth/login", json=right)).status_code == 429


def _finished_jobs(log: str) -> Counter[str]:
    runs: Counter[str] = Counter()
    for line in log.splitlines():
        if not line.startswith("{"):
            continue
        record = json.loads(line)
        if record.get("event") == "job finished":
            runs[record["job"]] += 1
    return runs


async def test_every_periodic_job_that_comes_due_runs_once_though_both_instances_tick(
    deployment: Deployment,
) -> None:
    """Both instances tick every half second; three times, every job comes due at once (its
    interval passed), and each runs exactly once, on whichever instance claimed it."""
    names = {job.name for job in JOBS}
    assert wait_until(lambda: set(_runs(deployment)) >= names, 30), "not every job ran"
    for _ in range(3):
        before = _runs(deployment)
        await _sql(deployment, "UPDATE scheduled_job SET started_at = now() - interval '2 days'")
        assert wait_until(
            lambda before=before: all(_runs(deployment)[n] > before[n] for n in names), 30
        ), "not every job ran again"
        await asyncio.sleep(1.5)  # three more ticks of each instance
        ran = _runs(deployment) - before
        assert {name: ran[name] for name in names} == dict.fromkeys(names, 1), ran


async def test_a_reminder_that_comes_due_is_mailed_once_by_two_instances(
    deployment: Deployment,
) -> None:
    """The reminders job comes due while both instances tick: one claims it, one mail leaves."""
    patient = deployment.world.patients[3]
    slot = free_slots(deployment.world, 1, first_day=5)[0]
    first, second = _clients(deployment)
    async with first, second:
        granted = await first.post(
            "/api/v1/me/consents",
            json={
                "purpose_id": "reminders-email",
                "purpose_version": version("reminders-email"),
                "decision": "grant",
            },
            headers=patient_headers(patient),
        )
        assert granted.status_code == 201, granted.text
        booked = await second.post(
            "/api/v1/appointments", json=slot, headers=patient_headers(patient)
        )
        assert booked.status_code == 201, booked.text
    assert wait_until(lambda: _runs(deployment)[JOB_NAME] >= 1, 30), "reminders never ran"
    runs = _runs(deployment)[JOB_NAME]
    # As if the visit had been booked a month ago and the servers had been down since: its
    # reminder (720 hours before it) fell due after the last run. Then the reminders' five minutes
    # pass, and both instances see the job due at their next tick.
    appointment = booked.json()["id"]
    await _sql(
        deployment,
        "UPDATE appointment SET created_at = created_at - interval '30 days',"
        " changed_at = changed_at - interval '30 days' WHERE id = :id",
        id=appointment,
    )
    await _sql(
        deployment,
        "UPDATE scheduled_job SET started_at = started_at - interval '10 minutes',"
        " finished_at = finished_at - interval '30 days' WHERE name = :name",
        name=JOB_NAME,
    )
    assert wait_until(lambda: _runs(deployment)[JOB_NAME] == runs + 1, 30), "it did not run"

    def reminded() -> list[dict[str, object]]:
        return [
            m
            for m in deployment.smtp.messages
            if patient["email"] in m["to"] and m["subject"] == "Rappel de rendez-vous"
        ]

    assert wait_until(lambda: len(reminded()) == 1, 30), deployment.smtp.messages
    await asyncio.sleep(2)
    assert len(reminded()) == 1
    assert _runs(deployment)[JOB_NAME] == runs + 1


def _runs(deployment: Deployment) -> Counter[str]:
    return sum((_finished_jobs(log) for log in deployment.logs()), Counter())


async def _sql(deployment: Deployment, statement: str, **values: str) -> None:
    engine = create_async_engine(deployment.database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(sa.text(statement), values)
    finally:
        await engine.dispose()
