"""Audit endpoints: the patient's access log, the admin export and chain verification (docs/api.md
"Audit")."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.audit import service
from app.audit.schemas import AccessLogEntry
from app.auth.authenticator import CurrentPatient
from app.compliance.names import actor_names
from app.core.problems import problem_responses
from app.core.request_db import DbSession

router = APIRouter(tags=["audit"])

_SIGNED_IN = ((401, "not_authenticated"), (401, "mfa_required"))


@router.get(
    "/api/v1/me/access-log",
    summary="Who accessed my data, newest first (charter C9)",
    response_model=list[AccessLogEntry],
    responses=problem_responses(*_SIGNED_IN, (403, "forbidden")),
)
async def my_access_log(
    patient: CurrentPatient,
    session: DbSession,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before: Annotated[
        int | None, Query(ge=1, le=2**63 - 1, description="Older than this seq.")
    ] = None,
) -> list[AccessLogEntry]:
    lines = await service.access_log(
        session, str(patient.account_id), actor_names, limit=limit, before_seq=before
    )
    return [AccessLogEntry(**line.__dict__) for line in lines]
