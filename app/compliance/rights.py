"""The data subject's rights, as routes: ``GET /api/v1/me/export`` (GDPR art. 15, 20) and
``DELETE /api/v1/me`` (art. 17; for a practitioner, the closing of charter C12)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import JSONResponse, StreamingResponse

from app.accounts.dependencies import Auth
from app.accounts.models import Role
from app.accounts.principal import Principal
from app.audit.dependencies import Audit
from app.auth.authenticator import Authenticator, RecentlyAuthenticatedPatient
from app.auth.router import clear_session_cookie
from app.booking.dependencies import Appointments
from app.compliance import export
from app.core import clock
from app.core.deps import AppSettings
from app.core.problems import problem_responses
from app.core.request_db import DbSession
from app.practice.dependencies import Practices
from app.throttle.dependencies import RequestThrottle

router = APIRouter(tags=["patient rights"])

#: a patient's, after a recent re-authentication (a stolen session must not take or erase all)
_RIGHTS_ERRORS = (
    (401, "not_authenticated"),
    (401, "mfa_required"),
    (403, "forbidden"),
    (403, "reauth_required"),
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
        **problem_responses(*_RIGHTS_ERRORS, (429, "rate_limited")),
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
        # imported when asked for: the FHIR models weigh on every process's memory otherwise
        from app.compliance import fhir_export

        return JSONResponse(
            fhir_export.fhir_bundle(data, stamp),
            media_type="application/fhir+json",
            headers={"Content-Disposition": f'attachment; filename="{name}.fhir.json"'},
        )
    return StreamingResponse(
        data.json_chunks(),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}.json"'},
    )


@router.delete(
    "/api/v1/me",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete my account (GDPR art. 17): what the law lets go goes at once",
    description=(
        "Every appointment ahead is cancelled and each practice told; sessions, mailed links, "
        "OAuth tokens and the authenticator go; the account keeps no name, email, phone or "
        "password, so the address can register again. Past appointments stay in the practices' "
        "agendas without the patient's name, visit reasons are erased, consent proofs and audit "
        "entries keep only the account's id (the audit chain still verifies). A last mail to "
        "the address says so.\n\nA practitioner's closing (charter C12; offer the "
        "reversibility export `GET /api/v1/me/practice/export` first): the listing ends at once, "
        "every appointment ahead is cancelled and each patient told, the account is erased as "
        "above; what the platform kept on the practice's behalf and no patient keeps goes "
        "`ERDV_PRACTICE_CLOSING_DAYS` later (30 by default, stated on the transparency page)."
    ),
    responses=problem_responses(*_RIGHTS_ERRORS),
)
async def delete_my_account(
    request: Request,
    account: Annotated[
        Principal, Depends(Authenticator(Role.PATIENT, Role.PRACTITIONER, recent=True))
    ],
    appointments: Appointments,
    practices: Practices,
    auth: Auth,
    settings: AppSettings,
) -> Response:
    if account.role is Role.PRACTITIONER:  # C12: app.booking.closing
        # the practice row locked first (FOR UPDATE): a booking (FOR SHARE) waits for the
        # closing, then finds the practice unlisted, instead of slipping in between
        await practices.close(account)
        cancelled = await appointments.cancel_for_closing(account)
    else:
        cancelled = await appointments.cancel_for_erasure(account)
    await auth.erase(account, cancelled=cancelled)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_session_cookie(response, request, settings)
    return response
