"""Anonymous directory reads on a real PostgreSQL streaming replica (issue 29, docs/scaling.md).

A throwaway primary cluster, and a standby made from it with ``pg_basebackup -R`` streaming its
WAL; ``erdv serve`` gets both URLs. The replica's replay is paused (``pg_wal_replay_pause``) to make
it stale on purpose: an anonymous search and slot list then show the old state, a signed-in person
sees the new one (read-your-writes on the primary), and a booking of the stale slot is refused with
409 ``slot_unavailable``: the worst a lagging replica can do. A replica that stops, or falls
further behind than ``ERDV_REPLICA_MAX_LAG_SECONDS``, hands the anonymous reads to the primary
until it has caught up (``app.core.replica``).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.core.settings import Settings
from app.practice.profile import search_key
from bench.cluster import REQUIRE_ENV, Cluster, ClusterUnavailable
from bench.dataset import Workload
from tests.faults.conftest import Served, build_world, free_slots, migrated, patient_headers, serve

CITY = "Réplique-sur-Mer"
KEY = search_key(CITY)


@pytest.fixture
def primary_and_standby() -> Iterator[tuple[Cluster, Cluster]]:
    """A primary with a migrated database ``erdv``, and a started streaming standby of it."""
    try:
        primary = Cluster(max_connections=40)
    except ClusterUnavailable as error:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{error} (and {REQUIRE_ENV}=1)")
        pytest.skip(str(error))
    standby: Cluster | None = None
    try:
        primary.start()
        primary.psql("CREATE DATABASE erdv")
        standby = primary.standby()
        standby.start()
        yield primary, standby
    finally:
        if standby is not None:
            standby.destroy()
        primary.destroy()


async def _served(
    clusters: tuple[Cluster, Cluster],
    keys: Settings,
    folder: Path,
    servers: list[Served],
    *,
    practitioners: int,
    patients: int,
    **env: str,
) -> tuple[Served, Workload]:
    """A world on the primary, replayed by the standby, and ``erdv serve`` reading anonymous
    directory requests from the standby."""
    primary, standby = clusters
    url = await migrated(primary.database_url("erdv"))
    world = await build_world(url, keys, practitioners=practitioners, patients=patients)
    standby.caught_up_with(primary, timeout=30)
    replica = standby.database_url("erdv")
    served = serve(servers, url, folder, workers=1, ERDV_DATABASE_REPLICA_URL=replica, **env)
    return served, world


def _week(slot: dict[str, str]) -> dict[str, str]:
    start = datetime.fromisoformat(slot["start"])
    return {
        "from": (start - timedelta(hours=1)).isoformat(),
        "to": (start + timedelta(hours=1)).isoformat(),
    }


async def test_a_stale_replica_serves_anonymous_reads_and_a_booking_of_its_stale_slot_gets_409(
    primary_and_standby: tuple[Cluster, Cluster],
    keys: Settings,
    tmp_path: Path,
    servers: list[Served],
) -> None:
    primary, standby = primary_and_standby
    served, world = await _served(
        primary_and_standby,
        keys,
        tmp_path / "served",
        servers,
        practitioners=2,
        patients=2,
        ERDV_REPLICA_MAX_LAG_SECONDS="600",  # stale on purpose, for as long as the test takes
    )
    first, second = world.patients
    slot = free_slots(world, 1)[0]
    slots_path = f"/api/v1/practitioners/{slot['practitioner_id']}/slots"
    window = _week(slot)

    async with httpx.AsyncClient(base_url=served.url, timeout=30) as client:

        async def starts(**headers: str) -> set[str]:
            answer = await client.get(slots_path, params=window, headers=headers)
            assert answer.status_code == 200, answer.text
            return {s["start"] for s in answer.json()}

        async def found(**headers: str) -> int:
            answer = await client.get(
                "/api/v1/practitioners", params={"city": CITY}, headers=headers
            )
            assert answer.status_code == 200, answer.text
            return len(answer.json()["items"])

        signed_in = patient_headers(first)
        slot_start = datetime.fromisoformat(slot["start"])
        assert any(datetime.fromisoformat(s) == slot_start for s in await starts())

        # the replica stops replaying: from now on it shows the past
        standby.psql("SELECT pg_wal_replay_pause()")
        # the test's own constants and a UUID it made
        where = f"WHERE practitioner_id = '{slot['practitioner_id']}'"
        moved = f"UPDATE practice_site SET city = '{CITY}', city_key = '{KEY}' {where}"  # noqa: S608
        primary.psql(moved, database="erdv")
        booked = await client.post("/api/v1/appointments", json=slot, headers=signed_in)
        assert booked.status_code == 201, booked.text

        # anonymous: the replica's stale view; signed in: the primary's
        assert await found() == 0
        assert await found(**signed_in) == 1
        assert any(datetime.fromisoformat(s) == slot_start for s in await starts())
        assert not any(datetime.fromisoformat(s) == slot_start for s in await starts(**signed_in))

        # the other patient saw the slot anonymously and books it: refused, nothing written
        refused = await client.post(
            "/api/v1/appointments", json=slot, headers=patient_headers(second)
        )
        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == "slot_unavailable"
        assert primary.psql("SELECT count(*) FROM appointment", database="erdv") == "1"

        # replay resumes: the anonymous view catches up
        standby.psql("SELECT pg_wal_replay_resume()")
        standby.caught_up_with(primary, timeout=30)
        assert await found() == 1
        assert not any(datetime.fromisoformat(s) == slot_start for s in await starts())


#: one practitioner, one patient, and the replica checked five times a second
_CHECKED_OFTEN: dict[str, Any] = {
    "practitioners": 1,
    "patients": 1,
    "ERDV_REPLICA_CHECK_SECONDS": "0.2",
}


async def _anonymous_city_count(client: httpx.AsyncClient) -> int:
    answer = await client.get("/api/v1/practitioners", params={"city": CITY})
    assert answer.status_code == 200, answer.text
    return len(answer.json()["items"])


async def _until(check: Any, seconds: float) -> bool:
    """Ask ``check`` every 0.1 s until it says yes or ``seconds`` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.1)
    return False


def _move_to_the_city(
    primary: Cluster, practitioner_id: str, city: str = CITY, key: str = KEY
) -> None:
    # the test's own constants and a UUID it made
    where = f"WHERE practitioner_id = '{practitioner_id}'"
    moved = f"UPDATE practice_site SET city = '{city}', city_key = '{key}' {where}"  # noqa: S608
    primary.psql(moved, database="erdv")


async def test_a_replica_that_stops_hands_the_anonymous_reads_to_the_primary_until_it_is_back(
    primary_and_standby: tuple[Cluster, Cluster],
    keys: Settings,
    tmp_path: Path,
    servers: list[Served],
) -> None:
    primary, standby = primary_and_standby
    served, world = await _served(
        primary_and_standby, keys, tmp_path / "served", servers, **_CHECKED_OFTEN,
        ERDV_DB_CONNECT_TIMEOUT_SECONDS="2",
    )  # fmt: skip
    patient = world.patients[0]
    slot = free_slots(world, 1)[0]
    slots_path = f"/api/v1/practitioners/{slot['practitioner_id']}/slots"

    async with httpx.AsyncClient(base_url=served.url, timeout=30) as client:
        assert (await client.get(slots_path)).status_code == 200
        standby.stop("immediate")

        # within a check or two the primary serves them: never a 500, a 503 at most meanwhile
        seen: list[int] = []

        async def served_again() -> bool:
            answer = await client.get(slots_path)
            seen.append(answer.status_code)
            if answer.status_code == 503:
                assert answer.json()["code"] == "database_unavailable"
            return answer.status_code == 200

        assert await _until(served_again, 15), seen
        assert set(seen) <= {200, 503}, seen
        for _ in range(5):  # and they stay served
            assert (await client.get(slots_path)).status_code == 200
        signed_in = await client.get(slots_path, headers=patient_headers(patient))
        assert signed_in.status_code == 200, signed_in.text
        booked = await client.post(
            "/api/v1/appointments", json=slot, headers=patient_headers(patient)
        )
        assert booked.status_code == 201, booked.text
        assert (await client.get("/readyz")).status_code == 200  # the primary takes writes

        # back: once it has caught up, the replica serves them again, as its paused replay shows
        standby.start()
        standby.caught_up_with(primary, timeout=30)
        standby.psql("SELECT pg_wal_replay_pause()")
        _move_to_the_city(primary, slot["practitioner_id"])

        async def stale() -> bool:
            return await _anonymous_city_count(client) == 0

        assert await _until(stale, 8), "anonymous reads did not come back to the replica"


async def test_a_replica_further_behind_than_the_bound_hands_the_anonymous_reads_to_the_primary(
    primary_and_standby: tuple[Cluster, Cluster],
    keys: Settings,
    tmp_path: Path,
    servers: list[Served],
) -> None:
    primary, standby = primary_and_standby
    served, world = await _served(
        primary_and_standby, keys, tmp_path / "served", servers, **_CHECKED_OFTEN,
        ERDV_REPLICA_MAX_LAG_SECONDS="3",
    )  # fmt: skip
    practitioner = free_slots(world, 1)[0]["practitioner_id"]

    async with httpx.AsyncClient(base_url=served.url, timeout=30) as client:
        standby.psql("SELECT pg_wal_replay_pause()")
        _move_to_the_city(primary, practitioner)
        paused = time.monotonic()
        # a replica behind by less than the bound serves: the move is not seen yet
        assert await _anonymous_city_count(client) == 0

        async def fresh() -> bool:
            return await _anonymous_city_count(client) == 1

        # past the bound (3 s, checked every 0.2 s) the primary serves: the move is seen
        assert await _until(fresh, 20), "anonymous reads stayed on a replica 20 s behind"
        assert time.monotonic() - paused >= 3 - 0.5

        # replay resumes: caught up, the replica serves them again (paused anew, it shows the past)
        standby.psql("SELECT pg_wal_replay_resume()")
        standby.caught_up_with(primary, timeout=30)
        standby.psql("SELECT pg_wal_replay_pause()")
        _move_to_the_city(primary, practitioner, "Ailleurs", "ailleurs")

        async def back_on_the_replica() -> bool:
            return await _anonymous_city_count(client) == 1  # the replica still has the move

        assert await _until(back_on_the_replica, 3)
