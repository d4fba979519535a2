"""Admin: the messages whose delivery needs a look (dead letters of the outbox)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from app.admin.common import ADMIN_CHANGE
from app.audit.dependencies import Audit
from app.audit.models import AuditAction
from app.auth.authenticator import CurrentAdmin
from app.core.errors import NotFound
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


@router.post(
    "/api/v1/admin/outbox/{message_id}/retry",
    summary="Send a dead message again (due now, its tries counted afresh; audited)",
    response_model=OutboxMessageRead,
    responses=problem_responses(*ADMIN_CHANGE, (404, "not_found")),
)
async def retry_message(
    message_id: uuid.UUID, admin: CurrentAdmin, session: DbSession, audit: Audit
) -> OutboxMessageRead:
    """``erdv outbox retry`` for one message, from the admin page. Only a dead message: one that is
    pending or being sent is on its way already, and one sent is done (404 for both)."""
    if not await service.retry(session, [message_id]):
        raise NotFound("No dead message with this id.")
    await audit.record(
        AuditAction.OUTBOX_RETRIED,
        actor=admin.actor,
        object_type="outbox_message",
        object_id=message_id,
    )
    return OutboxMessageRead.model_validate(
        await service.message(session, message_id), from_attributes=True
    )
