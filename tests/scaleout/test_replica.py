"""Anonymous directory reads on a real PostgreSQL streaming replica (issue 29, docs/scaling.md).

A throwaway primary cluster, and a standby made from it with ``pg_basebackup -R`` streaming its
WAL; ``erdv serve`` gets both URLs. The replica's replay is paused (``pg_wal_replay_pause``) to make
it stale on purpose: an anonymous search and slot list then show the old state, a signed-in person
sees the new one (read-your-writes on the primary), and a booking of the stale slot is refused with
409 ``slot_unavailable``: the worst a lagging replica can do. A replica that stops answers 503 to
the anonymous reads only.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

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
        primary_and_standby, keys, tmp_path / "served", servers, practitioners=2, patients=2
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


async def test_a_replica_that_stops_fails_anonymous_reads_only_until_it_is_back(
    primary_and_standby: tuple[Cluster, Cluster],
    keys: Settings,
    tmp_path: Path,
    servers: list[Served],
) -> None:
    _, standby = primary_and_standby
    served, world = await _served(
        primary_and_standby,
        keys,
        tmp_path / "served",
        servers,
        practitioners=1,
        patients=1,
        ERDV_DB_CONNECT_TIMEOUT_SECONDS="2",
    )
    patient = world.patients[0]
    slot = free_slots(world, 1)[0]
    slots_path = f"/api/v1/practitioners/{slot['practitioner_id']}/slots"

    async with httpx.AsyncClient(base_url=served.url, timeout=30) as client:
        assert (await client.get(slots_path)).status_code == 200
        standby.stop("immediate")

        anonymous = await client.get(slots_path)
        assert anonymous.status_code == 503, anonymous.text
        assert anonymous.json()["code"] == "database_unavailable"
        signed_in = await client.get(slots_path, headers=patient_headers(patient))
        assert signed_in.status_code == 200, signed_in.text
        booked = await client.post(
            "/api/v1/appointments", json=slot, headers=patient_headers(patient)
        )
        assert booked.status_code == 201, booked.text
        assert (await client.get("/readyz")).status_code == 200  # the primary takes writes

        standby.start()

        async def back() -> bool:
            return (await client.get(slots_path)).status_code == 200

        for _ in range(100):
            if await back():
                break
        else:
            pytest.fail("anonymous reads did not come back with the replica")
