"""Liveness and readiness probes (docs/api.md "Rate limits").

``/readyz`` answers 200 only when the database takes a write and commits it within
``READINESS_TIMEOUT_SECONDS``: a probe that only read stayed 200 while a full disk or an outside
write lock made every booking fail (docs/security.md "Reliability"). It waits its turn behind other
writers as a booking would. The answer comes within the timeout whatever the database does: a probe
still waiting (a frozen server, a held lock) is abandoned, and ends in the background within the
statement timeouts (``app.core.db``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core import clock
from app.core.access import PUBLIC
from app.core.db import transaction
from app.core.errors import DatabaseUnavailable
from app.core.schemas import Status
from app.health.repository import record_probe

router = APIRouter(tags=["health"])

READINESS_TIMEOUT_SECONDS = 3.0
#: probes abandoned while they wait: kept referenced until they end (asyncio keeps only weak ones)
_abandoned: set[asyncio.Task[None]] = set()


@router.get("/healthz", summary="The process is up", response_model=Status, openapi_extra=PUBLIC)
async def healthz() -> Status:
    return Status(status="ok")


@router.get(
    "/readyz",
    openapi_extra=PUBLIC,
    summary="The database takes a write",
    response_model=Status,
    responses={503: {"description": "database_unavailable"}},
)
async def readyz(request: Request) -> Status:
    probe = asyncio.ensure_future(_write_probe(request.app.state.session_factory))
    done, _ = await asyncio.wait({probe}, timeout=READINESS_TIMEOUT_SECONDS)
    if not done:
        probe.cancel()
        _abandoned.add(probe)
        probe.add_done_callback(_forget)
        raise DatabaseUnavailable("The database did not take a write in time.")
    if probe.exception() is not None:  # any failure to write means "not ready"
        raise DatabaseUnavailable("The database is not taking writes.") from probe.exception()
    return Status(status="ready")


async def _write_probe(factory: async_sessionmaker[AsyncSession]) -> None:
    async with transaction(factory) as session:
        await record_probe(session, clock.now())


def _forget(task: asyncio.Task[Any]) -> None:
    _abandoned.discard(task)
    if not task.cancelled():
        task.exception()  # retrieved: an abandoned probe's failure is already answered
