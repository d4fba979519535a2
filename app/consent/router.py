"""Consent endpoints: my decisions, per purpose and version, with their receipts (docs/api.md
"Charter and consent")."""

from __future__ import annotations

from fastapi import APIRouter, status

from app.audit.dependencies import Audit
from app.auth.authenticator import CurrentAccount
from app.consent import service
from app.consent.schemas import (
    ConsentDecisionIn,
    ConsentStatusOut,
    ReceiptOut,
)
from app.core.problems import problem_responses
from app.core.request_db import DbSession

router = APIRouter()


@router.get(
    "/api/v1/me/consents",
    tags=["consent"],
    summary="My decision on each purpose, at its current version",
    response_model=list[ConsentStatusOut],
    responses=problem_responses((401, "not_authenticated"), (401, "mfa_required")),
)
async def list_my_consents(principal: CurrentAccount, session: DbSession) -> list[ConsentStatusOut]:
    lines = await service.current_consents(session, principal.account_id, principal.role.value)
    return [
        ConsentStatusOut(
            purpose_id=line.purpose_id,
            purpose_version=line.purpose_version,
            status=line.status,
            decided_at=line.decided_at,
            granted_version=line.granted_version,
            client_id=line.scope,
        )
        for line in lines
    ]


@router.post(
    "/api/v1/me/consents",
    tags=["consent"],
    summary="Grant or withdraw a purpose (as easy one way as the other)",
    status_code=status.HTTP_201_CREATED,
    response_model=ReceiptOut,
    responses=problem_responses(
        (401, "not_authenticated"),
        (403, "csrf_failed"),
        (404, "unknown_purpose"),
        (409, "stale_version"),
        (422, "validation_error"),
        (422, "granted_per_application"),
    ),
)
async def decide_consent(
    body: ConsentDecisionIn, principal: CurrentAccount, session: DbSession, audit: Audit
) -> ReceiptOut:
    receipt = await service.decide(
        session,
        audit,
        account_id=principal.account_id,
        audience=principal.role.value,
        actor=principal.actor,
        purpose_id=body.purpose_id,
        purpose_version=body.purpose_version,
        decision=service.Decision(body.decision),
    )
    return _receipt(receipt)


@router.get(
    "/api/v1/me/consents/history",
    tags=["consent"],
    summary="Every decision I made, oldest first, with its receipt",
    response_model=list[ReceiptOut],
    responses=problem_responses((401, "not_authenticated"), (401, "mfa_required")),
)
async def my_consent_history(principal: CurrentAccount, session: DbSession) -> list[ReceiptOut]:
    return [_receipt(r) for r in await service.history(session, principal.account_id)]


def _receipt(receipt: service.Receipt) -> ReceiptOut:
    return ReceiptOut(
        id=receipt.id,
        purpose_id=receipt.purpose_id,
        purpose_version=receipt.purpose_version,
        text_sha256=receipt.text_sha256,
        decision=receipt.decision,
        decided_at=receipt.decided_at,
        receipt_sha256=receipt.receipt_sha256,
        client_id=receipt.client_id,
    )
