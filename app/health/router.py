"""Liveness and readiness probes (API.md conventions)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request

from app.core.access import PUBLIC
from app.core.db import ping
from app.core.errors import DatabaseUnavailable
from app.core.schemas import Status

router = APIRouter(tags=["health"])

READINESS_TIMEOUT_SECONDS = 3.0


@router.get("/healthz", summary="The process is up", response_model=Status, openapi_extra=PUBLIC)
async def healthz() -> Status:
    return Status(status="ok")


@router.get(
    "/readyz",
    openapi_extra=PUBLIC,
    summary="The database answers",
    response_model=Status,
    responses={503: {"description": "database_unavailable"}},
)
async def readyz(request: Request) -> Status:
    try:
        await asyncio.wait_for(ping(request.app.state.engine), READINESS_TIMEOUT_SECONDS)
    except Exception as error:  # any failure to answer means "not ready"
        raise DatabaseUnavailable("The database is not answering.") from error
    return Status(status="ready")
