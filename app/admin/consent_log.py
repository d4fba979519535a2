"""Admin: export every consent decision, streamed (docs/api.md "Charter and consent")."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from app.audit.dependencies import Audit
from app.audit.models import AuditAction
from app.auth.authenticator import RecentlyAuthenticatedAdmin
from app.charter.registry import default_charter
from app.consent import export as consent_export
from app.consent.errors import UnknownPurpose
from app.core.problems import problem_responses
from app.core.schemas import Instant
from app.throttle.dependencies import RequestThrottle

router = APIRouter(tags=["admin"])


@router.get(
    "/api/v1/admin/consent-log",
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
    format: Annotated[Literal["csv", "ndjson"], Query()] = "csv",  # noqa: A002 - docs/api.md's name
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
