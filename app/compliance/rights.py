"""The patient's rights over their data, as routes: ``GET /api/v1/me/export`` (GDPR art. 15, 20)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, StreamingResponse

from app.audit.dependencies import Audit
from app.auth.authenticator import RecentlyAuthenticatedPatient
from app.booking.dependencies import Appointments
from app.compliance import export
from app.core import clock
from app.core.problems import problem_responses
from app.core.request_db import DbSession
from app.throttle.dependencies import RequestThrottle

router = APIRouter(tags=["patient rights"])

_EXPORT_ERRORS = (
    (401, "not_authenticated"),
    (401, "mfa_required"),
    (403, "forbidden"),
    (403, "reauth_required"),
    (429, "rate_limited"),
)


@router.get(
    "/api/v1/me/export",
    summary="Everything erdv holds about me, as JSON or a FHIR R4 Bundle (GDPR art. 15 and 20)",
    response_class=StreamingResponse,
    response_model=None,
    responses={
        200: {
            "description": "``{account, relatives, appointments, consents, access_log}``, or with "
            "``format=fhir`` a FHIR R4 ``collection`` Bundle",
            "content": {"application/json": {}, "application/fhir+json": {}},
        },
        **problem_responses(*_EXPORT_ERRORS),
    },
)
async def export_my_data(
    patient: RecentlyAuthenticatedPatient,
    session: DbSession,
    appointments: Appointments,
    audit: Audit,
    throttle: RequestThrottle,
    output: Annotated[Literal["json", "fhir"], Query(alias="format")] = "json",
) -> StreamingResponse | JSONResponse:
    data = await export.gather(session, patient, appointments, audit, throttle)
    stamp = clock.now()
    name = f"erdv-export-{stamp:%Y%m%d}"
    if output == "fhir":
        return JSONResponse(
            export.fhir_bundle(data, stamp),
            media_type="application/fhir+json",
            headers={"Content-Disposition": f'attachment; filename="{name}.fhir.json"'},
        )
    return StreamingResponse(
        data.json_chunks(),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}.json"'},
    )
