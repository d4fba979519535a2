"""Audit endpoints: the patient's access log, the admin export and chain verification (docs/api.md
"Audit")."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.service import display_names
from app.audit import service
from app.audit.schemas import AccessLogEntry
from app.auth.authenticator import CurrentPatient
from app.core.problems import problem_responses
from app.core.request_db import DbSession
from app.oauth.service import client_names

router = APIRouter(tags=["audit"])

_SIGNED_IN = ((401, "not_authenticated"), (401, "mfa_required"))


async def _names(
    session: AsyncSession, account_ids: set[str], client_ids: set[str]
) -> dict[str, dict[str, str]]:
    return {
        "account": await display_names(session, account_ids),
        "client": await client_names(session, client_ids),
    }


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
        session, str(patient.account_id), _names, limit=limit, before_seq=before
    )
    return [AccessLogEntry(**line.__dict__) for line in lines]
