"""Admin: the messages whose delivery needs a look (dead letters of the outbox)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.auth.authenticator import CurrentAdmin
from app.core.problems import problem_responses
from app.core.request_db import DbSession
from app.outbox import service
from app.outbox.models import OutboxStatus
from app.outbox.schemas import OutboxMessageRead

router = APIRouter(tags=["admin"])


@router.get(
    "/api/v1/admin/outbox",
    summary="Outbox messages, newest first (status=dead: those that will not be tried again)",
    response_model=list[OutboxMessageRead],
    responses=problem_responses(
        (401, "not_authenticated"), (401, "mfa_required"), (403, "forbidden")
    ),
)
async def list_outbox(
    admin: CurrentAdmin,
    session: DbSession,
    status: Annotated[
        OutboxStatus | None, Query(description="Only messages in this state.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[OutboxMessageRead]:
    rows = await service.messages(session, status, limit=limit)
    return [OutboxMessageRead.model_validate(row, from_attributes=True) for row in rows]
