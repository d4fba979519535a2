"""Admin: export the audit trail and verify its chain (docs/api.md "Audit")."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from app.admin.common import SIGNED_IN
from app.audit import service
from app.audit.dependencies import Audit
from app.audit.export import export_ndjson
from app.audit.models import AuditAction
from app.audit.schemas import VerifyReport
from app.auth.authenticator import CurrentAdmin, RecentlyAuthenticatedAdmin
from app.core.deps import AppSettings
from app.core.problems import problem_responses
from app.core.request_db import DbSession
from app.core.schemas import Instant
from app.throttle.dependencies import RequestThrottle

router = APIRouter(tags=["admin"])


@router.get(
    "/api/v1/admin/audit",
    summary="Export the audit trail as NDJSON (FHIR AuditEvent lines, manifest last)",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/x-ndjson": {}}, "description": "streamed export"},
        **problem_responses(
            *SIGNED_IN, (403, "forbidden"), (403, "reauth_required"), (429, "rate_limited")
        ),
    },
)
async def export_audit(
    request: Request,
    admin: RecentlyAuthenticatedAdmin,
    audit: Audit,
    throttle: RequestThrottle,
    format: Annotated[Literal["ndjson"], Query()] = "ndjson",  # noqa: A002 - docs/api.md's name
    since: Instant | None = None,
    until: Instant | None = None,
) -> StreamingResponse:
    await throttle.spend_export(admin.account_id)
    # Recorded (and committed) before the first byte: an export is itself an access.
    await audit.record(
        AuditAction.AUDIT_EXPORTED,
        actor=admin.actor,
        object_type="audit_export",
        details={
            "since": since.isoformat() if since else None,
            "until": until.isoformat() if until else None,
        },
    )
    lines = export_ndjson(request.app.state.readonly_session_factory, since=since, until=until)
    return StreamingResponse(
        lines,
        media_type="application/x-ndjson",
        headers={"Content-Disposition": 'attachment; filename="erdv-audit.ndjson"'},
    )


@router.get(
    "/api/v1/admin/audit/verify",
    summary="Recompute the audit hash chain",
    response_model=VerifyReport,
    responses=problem_responses(*SIGNED_IN, (403, "forbidden")),
)
async def verify_audit(
    admin: CurrentAdmin, session: DbSession, settings: AppSettings
) -> VerifyReport:
    key = service.audit_key(settings.secret_key_bytes)
    result = await service.verify_and_record(session, key, admin.actor)
    return VerifyReport(
        ok=result.ok,
        entries=result.entries,
        head=result.head,
        first_bad=result.first_bad,
        first_bad_seq=result.first_bad_seq,
        reason=result.reason,
    )
