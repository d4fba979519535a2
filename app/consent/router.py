"""Charter, transparency and consent endpoints."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import HTMLResponse, StreamingResponse

from app.accounts.dependencies import CurrentAccount, RecentlyAuthenticatedAdmin
from app.audit.dependencies import Audit
from app.audit.models import AuditAction
from app.consent import compliance, pages, service
from app.consent import export as consent_export
from app.consent.errors import UnknownPurpose
from app.consent.registry import default_charter
from app.consent.schemas import (
    CharterOut,
    ClauseComplianceOut,
    ComplianceOut,
    ConsentDecisionIn,
    ConsentStatusOut,
    ReceiptOut,
)
from app.core import clock
from app.core.access import PUBLIC
from app.core.db import DbSession
from app.core.deps import AppSettings
from app.core.problems import problem_responses
from app.core.schemas import Instant
from app.models import metadata as all_tables
from app.throttle.dependencies import RequestThrottle

router = APIRouter()

LangQuery = Annotated[Literal["fr", "en"], Query(description="Language of the texts.")]


@router.get(
    "/api/v1/charter",
    tags=["charter"],
    summary="The charter's clauses and consent purposes, with their versions and text hashes",
    response_model=CharterOut,
    openapi_extra=PUBLIC,
)
async def get_charter(lang: LangQuery = "fr") -> CharterOut:
    return CharterOut.model_validate(default_charter().public(lang))


@router.get(
    "/api/v1/charter/compliance",
    tags=["charter"],
    summary="Each charter clause checked live against the running system",
    response_model=ComplianceOut,
    openapi_extra=PUBLIC,
)
async def charter_compliance(
    request: Request, session: DbSession, settings: AppSettings, lang: LangQuery = "en"
) -> ComplianceOut:
    app = request.app
    context = compliance.ComplianceContext(
        session=session,
        settings=settings,
        charter=default_charter(),
        metadata=all_tables,
        static_dir=app.state.static_dir,
        route_paths=list(app.openapi()["paths"]),
    )
    lines = await compliance.report(context)
    return ComplianceOut(
        clauses=[
            ClauseComplianceOut(
                id=line.id, status=line.status, evidence=line.evidence.in_language(lang)
            )
            for line in lines
        ],
        badge=lines[-1].status == compliance.MET,
        checked_at=clock.now(),
    )


@router.get(
    "/charter",
    tags=["pages"],
    summary="The charter, as a page",
    response_class=HTMLResponse,
    openapi_extra=PUBLIC,
)
async def charter_page(lang: LangQuery = "fr") -> HTMLResponse:
    return HTMLResponse(pages.charter_page(default_charter(), lang))


@router.get(
    "/transparency",
    tags=["pages"],
    summary="Who runs and finances erdv (charter C10)",
    response_class=HTMLResponse,
    openapi_extra=PUBLIC,
)
async def transparency_page(settings: AppSettings, lang: LangQuery = "fr") -> HTMLResponse:
    return HTMLResponse(pages.transparency_page(settings, lang))


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


@router.get(
    "/api/v1/admin/consent-log",
    tags=["admin"],
    summary="Export every consent decision (CSV or NDJSON), streamed",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/csv": {}, "application/x-ndjson": {}},
            "description": "streamed export, one row per decision",
        },
        **problem_responses(
            (401, "not_authenticated"),
            (403, "forbidden"),
            (403, "reauth_required"),
            (429, "rate_limited"),
        ),
    },
)
async def export_consent_log(
    request: Request,
    admin: RecentlyAuthenticatedAdmin,
    audit: Audit,
    throttle: RequestThrottle,
    format: Annotated[Literal["csv", "ndjson"], Query()] = "csv",  # noqa: A002 - API.md's name
    since: Instant | None = None,
    until: Instant | None = None,
    purpose: str | None = None,
) -> StreamingResponse:
    if purpose is not None:
        try:
            default_charter().purpose(purpose)
        except KeyError as error:
            raise UnknownPurpose(f"No purpose {purpose!r} exists.") from error
    await throttle.spend_export(admin.account_id)
    await audit.record(
        AuditAction.CONSENT_LOG_EXPORTED,
        actor=admin.actor,
        object_type="consent_log",
        details={"format": format, "purpose": purpose},
    )
    chunks = consent_export.export_consent_log(
        request.app.state.readonly_session_factory,
        fmt=format,
        since=since,
        until=until,
        purpose_id=purpose,
    )
    media = "text/csv; charset=utf-8" if format == "csv" else "application/x-ndjson"
    return StreamingResponse(
        chunks,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="erdv-consent-log.{format}"'},
    )
