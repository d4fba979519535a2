"""PostgreSQL that restarts, runs out of connections or freezes: 503s, never 500s, nothing lost.

Each test starts its own throwaway cluster (``tests/faults/cluster.py``) and ``erdv serve`` in front
of it, and drives bookings over TCP (issue 21, items 2 and 6).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]  # no stubs; bench/ ignores it alike
import httpx

from app.core.settings import Settings
from bench.cluster import Cluster
from tests.faults.conftest import (
    Served,
    build_world,
    free_slots,
    migrated,
    patient_headers,
    serve,
    server_env,
)

BOOKERS = 8


async def _book_until(
    url: str,
    world: object,
    slots: list[dict[str, str]],
    stop: asyncio.Event,
    answers: list[httpx.Response],
) -> None:
    patients = world.patients  # type: ignore[attr-defined]

    async def booker() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            while not stop.is_set() and slots:
                body = slots.pop()
                headers = patient_headers(random.choice(patients))
                try:
                    answers.append(
                        await client.post("/api/v1/appointments", json=body, headers=headers)
                    )
                except httpx.TransportError:
                    await asyncio.sleep(0.05)  # the server itself is never what goes away here

    await asyncio.gather(*(booker() for _ in range(BOOKERS)))


def _check_answers(answers: list[httpx.Response]) -> Counter[int]:
    statuses = Counter(r.status_code for r in answers)
    assert set(statuses) <= {201, 503}, {r.status_code: r.text for r in answers}
    for answer in answers:
        if answer.status_code == 503:
            assert answer.json()["code"] == "database_unavailable"
            assert int(answer.headers["Retry-After"]) >= 1
    return statuses


def _booked_ids(cluster: Cluster) -> set[str]:
    return set(cluster.psql("SELECT id FROM appointment", "erdv").split())


async def test_restart_under_load_answers_503_never_500_and_loses_no_booking(
    cluster: Cluster, keys: Settings, tmp_path: Path, servers: list[Served]
) -> None:
    url = await migrated(cluster.database_url("erdv"))
    world = await build_world(url, keys, practitioners=4, patients=20)
    served = serve(
        servers, url, tmp_path / "served", workers=2, ERDV_DB_CONNECT_TIMEOUT_SECONDS="2"
    )
    slots = free_slots(world, 3000)
    answers: list[httpx.Response] = []
    stop = asyncio.Event()
    load = asyncio.create_task(_book_until(served.url, world, slots, stop, answers))
    for _ in range(2):  # two restarts under load: admin shutdown, then "starting up"
        await asyncio.sleep(1.5)
        await asyncio.to_thread(cluster.restart, "fast")
    await asyncio.sleep(1.5)
    stop.set()
    await asyncio.wait_for(load, 60)

    statuses = _check_answers(answers)
    # the load crossed both restarts
    assert statuses[201] > 50, statuses
    assert statuses[503] >= 1, statuses
    acknowledged = {r.json()["id"] for r in answers if r.status_code == 201}
    assert acknowledged <= _booked_ids(cluster)  # 0 lost acknowledged bookings
    async with httpx.AsyncClient(base_url=served.url) as client:
        after = await client.post(
            "/api/v1/appointments", json=slots.pop(), headers=patient_headers(world.patients[0])
        )
    assert after.status_code == 201, after.text  # and it is back by itself


async def test_too_many_clients_answers_503_and_oversized_pools_are_refused(
    cluster: Cluster, keys: Settings, tmp_path: Path, servers: list[Served]
) -> None:
    url = await migrated(cluster.database_url("erdv"))
    # 40 max_connections - 3 reserved = 37: 2 workers x (20 + 5) cannot fit
    refused = await asyncio.to_thread(
        _serve_once,
        server_env(url, tmp_path / "refused", ERDV_DB_POOL_SIZE="20", ERDV_DB_MAX_OVERFLOW="5"),
    )
    assert refused.returncode == 2
    assert "max_connections" in refused.stderr
    assert "50 connections" in refused.stderr

    world = await build_world(url, keys, practitioners=4, patients=20)
    served = serve(
        servers, url, tmp_path / "served", workers=2,
        ERDV_DB_POOL_SIZE="1", ERDV_DB_MAX_OVERFLOW="8",
    )  # fmt: skip
    hogs: list[asyncpg.Connection] = []
    try:
        while True:  # every slot the server has left, reserved ones included
            try:
                hogs.append(
                    await asyncpg.connect(host="127.0.0.1", port=cluster.port, user="postgres")
                )
            except asyncpg.TooManyConnectionsError:
                break
        slots = free_slots(world, 64)
        answers: list[httpx.Response] = []
        stop = asyncio.Event()
        load = asyncio.create_task(_book_until(served.url, world, slots, stop, answers))
        await asyncio.wait_for(load, 60)
    finally:
        for hog in hogs:
            with contextlib.suppress(Exception):
                await hog.close()
    statuses = _check_answers(answers)
    assert statuses[503] >= 1, statuses  # 53300 "too many clients" reached erdv


def _serve_once(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own entry point, fixed arguments
        [sys.executable, "-m", "app", "serve", "--workers", "2", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


STATEMENT_TIMEOUT = 2.0
#: a frozen server answers nothing: the statement's driver timeout (statement + 1 s), then
#: asyncpg's close of the dead connection (2 s), and some slack for a loaded machine
FROZEN_BOUND = STATEMENT_TIMEOUT + 1 + 2 + 3


async def test_frozen_database_answers_503_within_the_timeout(
    cluster: Cluster, keys: Settings, tmp_path: Path, servers: list[Served]
) -> None:
    url = await migrated(cluster.database_url("erdv"))
    world = await build_world(url, keys, practitioners=2, patients=4)
    served = serve(
        servers, url, tmp_path / "served", workers=1,
        ERDV_DB_STATEMENT_TIMEOUT_SECONDS=str(STATEMENT_TIMEOUT),
        ERDV_DB_LOCK_TIMEOUT_SECONDS="1", ERDV_DB_CONNECT_TIMEOUT_SECONDS="2",
        ERDV_DB_POOL_TIMEOUT_SECONDS="2",
    )  # fmt: skip
    slots = free_slots(world, 10)
    headers = patient_headers(world.patients[0])
    async with httpx.AsyncClient(base_url=served.url, timeout=60) as client:
        assert (
            await client.post("/api/v1/appointments", json=slots.pop(), headers=headers)
        ).status_code == 201
        cluster.freeze()
        try:
            started = time.monotonic()
            booking, ready = await asyncio.gather(
                client.post("/api/v1/appointments", json=slots.pop(), headers=headers),
                _timed(client.get("/readyz")),
            )
            booked_in = time.monotonic() - started
        finally:
            cluster.thaw()
        assert booking.status_code == 503, booking.text
        assert booking.json()["code"] == "database_unavailable"
        assert booked_in < FROZEN_BOUND, booked_in
        assert ready[0].status_code == 503
        assert ready[1] < 3.0 + 1.5, ready[1]
        deadline = time.monotonic() + 20
        while (await client.get("/readyz")).status_code != 200:
            assert time.monotonic() < deadline, "not ready again after the thaw"
            await asyncio.sleep(0.2)
        again = await client.post("/api/v1/appointments", json=slots.pop(), headers=headers)
        assert again.status_code == 201, again.text


async def _timed(call: object) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = await call  # type: ignore[misc]
    return response, time.monotonic() - started
