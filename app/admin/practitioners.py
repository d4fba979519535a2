"""Admin: verify, list and suspend practitioners (charter C3, docs/api.md "Admin")."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter

from app.admin.common import ADMIN_CHANGE, ADMIN_READ
from app.auth.authenticator import CurrentAdmin, RecentlyAuthenticatedAdmin
from app.booking.dependencies import Agenda
from app.booking.schemas import FhirBundle
from app.core.problems import problem_responses
from app.practice.dependencies import Practices
from app.practice.models import PracticeStatus
from app.practice.profile import directory_url
from app.practice.schemas import (
    PractitionerAdminRead,
)
from app.practice.service import PracticeView


def _admin(view: PracticeView) -> PractitionerAdminRead:
    p = view.practice
    return PractitionerAdminRead(
        id=p.id,
        display_name=p.display_name,
        rpps=view.rpps,
        directory_url=directory_url(view.rpps),
        profession=p.profession,
        specialty=p.specialty,
        city=p.city,
        status=p.status,
        listed=view.listed,
        created_at=p.created_at,
        closed_at=p.closed_at,
        purged_at=p.purged_at,
    )


router = APIRouter(tags=["admin"])


@router.get(
    "/api/v1/admin/practitioners",
    summary="Practitioners to review, by approval status",
    response_model=list[PractitionerAdminRead],
    responses=problem_responses(*ADMIN_READ),
)
async def list_practitioners_for_review(
    admin: CurrentAdmin,
    practices: Practices,
    status: Literal["pending", "approved", "suspended"] | None = None,
) -> list[PractitionerAdminRead]:
    return [_admin(v) for v in await practices.admin_list(status)]


@router.post(
    "/api/v1/admin/practitioners/{practitioner_id}/approve",
    summary="Approve a practitioner (after checking the RPPS in the official directory)",
    response_model=PractitionerAdminRead,
    responses=problem_responses(*ADMIN_CHANGE, (404, "not_found")),
)
async def approve_practitioner(
    practitioner_id: uuid.UUID, admin: CurrentAdmin, practices: Practices
) -> PractitionerAdminRead:
    view = await practices.set_status(admin.actor, practitioner_id, PracticeStatus.APPROVED)
    return _admin(view)


@router.post(
    "/api/v1/admin/practitioners/{practitioner_id}/suspend",
    summary="Suspend a practitioner: out of search, not bookable",
    response_model=PractitionerAdminRead,
    responses=problem_responses(*ADMIN_CHANGE, (404, "not_found")),
)
async def suspend_practitioner(
    practitioner_id: uuid.UUID, admin: CurrentAdmin, practices: Practices
) -> PractitionerAdminRead:
    view = await practices.set_status(admin.actor, practitioner_id, PracticeStatus.SUSPENDED)
    return _admin(view)


@router.get(
    "/api/v1/admin/practices/{practice_id}/export",
    summary="The reversibility export of a closed practice or a suspended practitioner (C12)",
    description="The agenda and patients' contact details of a practice closed less than "
    "`ERDV_PRACTICE_CLOSING_DAYS` ago, or whose practitioner's account is suspended, as "
    "`GET /api/v1/me/practice/export` gives them, for an admin to hand to the practitioner who "
    "asks and cannot sign in (the contract's clauses 5 and 7: the export stays possible at the "
    "end and during a suspension). 404 for any other practice. Audited, with an entry in each "
    "patient's access log.",
    response_model=FhirBundle,
    responses=problem_responses(
        *ADMIN_READ, (403, "reauth_required"), (404, "not_found"), (429, "rate_limited")
    ),
)
async def export_closed_practice(
    practice_id: uuid.UUID, admin: RecentlyAuthenticatedAdmin, agenda: Agenda
) -> FhirBundle:
    return FhirBundle.model_validate(await agenda.export_for_admin(admin, practice_id))
