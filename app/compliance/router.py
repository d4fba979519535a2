"""``GET /api/v1/charter/compliance``: each charter clause checked live (C14's badge)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from app.charter.registry import default_charter
from app.compliance import report as compliance
from app.compliance.schemas import ClauseComplianceOut, ComplianceOut, RetentionJobOut
from app.core import clock
from app.core.access import PUBLIC
from app.core.deps import AppSettings
from app.core.jobs import last_runs
from app.core.request_db import DbSession
from app.core.schemas import LangQuery

router = APIRouter()


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
    inputs = compliance.ReportInputs(
        session=session,
        settings=settings,
        charter=default_charter(),
        metadata=app.state.tables,
        static_dir=app.state.static_dir,
        route_paths=list(app.openapi()["paths"]),
    )
    lines = await compliance.report(inputs)
    return ComplianceOut(
        clauses=[
            ClauseComplianceOut(
                id=line.id, status=line.status, evidence=line.evidence.in_language(lang)
            )
            for line in lines
        ],
        badge=lines[-1].status == compliance.MET,
        checked_at=clock.now(),
        retention=[
            RetentionJobOut(name=run.name, finished_at=run.finished_at, result=run.result)
            for run in await last_runs(session, getattr(app.state, "retention_jobs", []))
        ],
    )
