"""Concurrent duplicates with one Idempotency-Key all get the first request's 201 (issue 21, item 1).

An outside test sent two requests with the same key and body at once: one got 409
``slot_unavailable`` (its own first request had taken the slot) instead of the replayed 201, in
40 of 40 pairs on PostgreSQL. Here 20 duplicates go at once, over 20 connections, to
``erdv serve --workers 2``, for several slots in turn, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import httpx

from app.core.settings import Settings
from tests.faults.conftest import Served, build_world, free_slots, patient_headers, serve
from tests.helpers.backends import Backend

DUPLICATES = 20
ROUNDS = 4


async def _duplicates(url: str, headers: dict[str, str], body: dict[str, str]) -> list[Any]:
    async def one() -> httpx.Response:
        # a connection each, as retrying clients have: the kernel spreads them over the workers
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            return await client.post("/api/v1/appointments", json=body, headers=headers)

    return list(await asyncio.gather(*(one() for _ in range(DUPLICATES))))


async def test_concurrent_duplicates_all_get_the_first_201(
    backend: Backend, settings: Settings, tmp_path: Path, servers: list[Served]
) -> None:
    world = await build_world(backend.url, settings, practitioners=2, patients=ROUNDS)
    served = serve(servers, backend.url, tmp_path / "served", workers=2)
    for patient, body in zip(world.patients, free_slots(world, ROUNDS), strict=True):
        headers = patient_headers(patient, **{"Idempotency-Key": str(uuid.uuid4())})
        answers = await _duplicates(served.url, headers, body)
        statuses = sorted(r.status_code for r in answers)
        assert statuses == [201] * DUPLICATES, [r.text for r in answers if r.status_code != 201]
        assert len({r.json()["id"] for r in answers}) == 1  # one appointment, answered 20 times
        async with httpx.AsyncClient(base_url=served.url) as client:
            mine = await client.get("/api/v1/me/appointments", headers=patient_headers(patient))
        assert [a["id"] for a in mine.json()] == [answers[0].json()["id"]]
