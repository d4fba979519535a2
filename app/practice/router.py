"""Practice routes: professions, ``/me/practice``, visit reasons, availability, absences, admin."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from fastapi import APIRouter, Response, status

from app.auth.authenticator import CurrentPractitioner
from app.core.access import PUBLIC
from app.core.problems import invalid_body, problem_responses
from app.practice import professions
from app.practice.dependencies import Places, Practices
from app.practice.errors import InvalidAvailability
from app.practice.profile import directory_url, titles_of
from app.practice.schemas import (
    AbsenceIn,
    AbsenceRead,
    Availability,
    BookingRules,
    OverrideIn,
    OverrideRead,
    PracticeRead,
    PracticeUpdate,
    ProfessionRead,
    SiteIn,
    SiteRead,
    SpecialtyRead,
    VisitReasonIn,
    VisitReasonRead,
)
from app.practice.service import PracticeView

router = APIRouter(tags=["practice"])
_AUTH = ((401, "not_authenticated"), (401, "mfa_required"), (403, "forbidden"))
_UNSAFE = (*_AUTH, (403, "csrf_failed"))


def _practice(view: PracticeView) -> PracticeRead:
    p = view.practice
    return PracticeRead(
        id=p.id,
        display_name=p.display_name,
        profession=p.profession,
        specialty=p.specialty,
        address=p.address,
        city=p.city,
        timezone=p.timezone,
        convention_sector=p.convention_sector,
        fees=p.fees,
        titles=titles_of(p.titles),
        practice_mode=p.practice_mode,
        directory_url=directory_url(view.rpps),
        booking_rules=BookingRules(
            min_notice_minutes=p.min_notice_minutes,
            max_horizon_days=p.max_horizon_days,
            cancel_deadline_minutes=p.cancel_deadline_minutes,
        ),
        status=p.status,
        listed=view.listed,
        listing_missing=view.missing,
    )


@router.get(
    "/api/v1/professions",
    summary="The fixed list of professions and specialties (charter C13)",
    response_model=list[ProfessionRead],
    openapi_extra=PUBLIC,
)
async def list_professions() -> list[ProfessionRead]:
    return [
        ProfessionRead(
            id=p.id,
            label=p.label,
            specialties=[SpecialtyRead(id=s.id, label=s.label) for s in p.specialties],
        )
        for p in professions.PROFESSIONS
    ]


@router.get(
    "/api/v1/me/practice",
    summary="My practice profile, approval status and whether it is listed",
    response_model=PracticeRead,
    responses=problem_responses(*_AUTH),
)
async def get_my_practice(practitioner: CurrentPractitioner, practices: Practices) -> PracticeRead:
    return _practice(await practices.my_practice(practitioner))


@router.put(
    "/api/v1/me/practice",
    summary="Edit my profile (live at once, audited; fields left out keep their value)",
    response_model=PracticeRead,
    responses=problem_responses(*_UNSAFE, (422, "validation_error")),
)
async def update_my_practice(
    body: PracticeUpdate, practitioner: CurrentPractitioner, practices: Practices
) -> PracticeRead:
    return _practice(await practices.update_practice(practitioner, body))


@router.get(
    "/api/v1/me/visit-reasons",
    summary="My visit reasons",
    response_model=list[VisitReasonRead],
    responses=problem_responses(*_AUTH),
)
async def list_my_visit_reasons(
    practitioner: CurrentPractitioner, practices: Practices
) -> list[VisitReasonRead]:
    reasons = await practices.visit_reasons(practitioner)
    return [VisitReasonRead.model_validate(r, from_attributes=True) for r in reasons]


@router.post(
    "/api/v1/me/visit-reasons",
    summary="Add a visit reason to my list (charter C6: patients pick from it, no free text)",
    status_code=status.HTTP_201_CREATED,
    response_model=VisitReasonRead,
    responses=problem_responses(*_UNSAFE, (422, "validation_error")),
)
async def add_my_visit_reason(
    body: VisitReasonIn, practitioner: CurrentPractitioner, practices: Practices
) -> VisitReasonRead:
    reason = await practices.add_visit_reason(practitioner, body)
    return VisitReasonRead.model_validate(reason, from_attributes=True)


@router.delete(
    "/api/v1/me/visit-reasons/{visit_reason_id}",
    summary="Retire a visit reason (booked visits keep it; it leaves my opening hours)",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(*_UNSAFE, (404, "not_found")),
)
async def retire_my_visit_reason(
    visit_reason_id: uuid.UUID, practitioner: CurrentPractitioner, practices: Practices
) -> Response:
    await practices.retire_visit_reason(practitioner, visit_reason_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/api/v1/me/availability",
    summary="My weekly opening hours, in local wall time, and my time zone",
    response_model=Availability,
    responses=problem_responses(*_AUTH),
)
async def get_my_availability(
    practitioner: CurrentPractitioner, practices: Practices
) -> Availability:
    tz, weekly = await practices.availability(practitioner)
    return _availability(tz, weekly)


@router.put(
    "/api/v1/me/availability",
    summary="Replace my weekly opening hours",
    response_model=Availability,
    responses=problem_responses(*_UNSAFE, (422, "invalid_availability"), (422, "validation_error")),
    # hours the schema refuses (weekday 7, "25:00", a block without visit reasons) are invalid
    # availability too, as those the engine refuses (API.md); a bad query stays validation_error
    openapi_extra=invalid_body(InvalidAvailability.code, InvalidAvailability.title),
)
async def set_my_availability(
    body: Availability, practitioner: CurrentPractitioner, practices: Practices
) -> Availability:
    tz, weekly = await practices.set_availability(practitioner, body)
    return _availability(tz, weekly)


def _availability(tz: str, weekly: list[dict[str, Any]]) -> Availability:
    return Availability.model_validate({"timezone": tz, "weekly": weekly})


@router.get(
    "/api/v1/me/absences",
    summary="My absences that have not ended",
    response_model=list[AbsenceRead],
    responses=problem_responses(*_AUTH),
)
async def list_my_absences(
    practitioner: CurrentPractitioner, practices: Practices
) -> list[AbsenceRead]:
    return [
        AbsenceRead(id=a.id, start=a.start, end=a.end)
        for a in await practices.absences(practitioner)
    ]


@router.post(
    "/api/v1/me/absences",
    summary="Add an absence (appointments inside: 409, or cancelled with patients told by mail)",
    status_code=status.HTTP_201_CREATED,
    response_model=AbsenceRead,
    responses=problem_responses(*_UNSAFE, (409, "absence_conflicts"), (422, "validation_error")),
)
async def add_my_absence(
    body: AbsenceIn, practitioner: CurrentPractitioner, practices: Practices
) -> AbsenceRead:
    absence, cancelled = await practices.add_absence(
        practitioner, body.start, body.end, body.cancel_appointments
    )
    return AbsenceRead(
        id=absence.id, start=absence.start, end=absence.end, cancelled_appointments=cancelled
    )


@router.delete(
    "/api/v1/me/absences/{absence_id}",
    summary="Remove an absence",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(*_UNSAFE, (404, "not_found")),
)
async def delete_my_absence(
    absence_id: uuid.UUID, practitioner: CurrentPractitioner, practices: Practices
) -> Response:
    await practices.delete_absence(practitioner, absence_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/api/v1/me/sites",
    summary="My sites, the main one (the profile's address) first",
    response_model=list[SiteRead],
    responses=problem_responses(*_AUTH),
)
async def list_my_sites(practitioner: CurrentPractitioner, places: Places) -> list[SiteRead]:
    return [
        SiteRead.model_validate(s, from_attributes=True) for s in await places.sites(practitioner)
    ]


@router.post(
    "/api/v1/me/sites",
    summary="Add a site (opening blocks and slots then name it)",
    status_code=status.HTTP_201_CREATED,
    response_model=SiteRead,
    responses=problem_responses(*_UNSAFE, (422, "invalid_site"), (422, "validation_error")),
)
async def add_my_site(body: SiteIn, practitioner: CurrentPractitioner, places: Places) -> SiteRead:
    return SiteRead.model_validate(await places.add_site(practitioner, body), from_attributes=True)


@router.put(
    "/api/v1/me/sites/{site_id}",
    summary="Edit a site (the main one is also the profile's address and zone)",
    response_model=SiteRead,
    responses=problem_responses(
        *_UNSAFE, (404, "not_found"), (422, "invalid_site"), (422, "invalid_availability")
    ),
)
async def update_my_site(
    site_id: uuid.UUID, body: SiteIn, practitioner: CurrentPractitioner, places: Places
) -> SiteRead:
    site = await places.update_site(practitioner, site_id, body)
    return SiteRead.model_validate(site, from_attributes=True)


@router.delete(
    "/api/v1/me/sites/{site_id}",
    summary="Remove a site no opening hours and no booked visit ahead name",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(
        *_UNSAFE, (404, "not_found"), (409, "site_in_use"), (409, "last_site")
    ),
)
async def remove_my_site(
    site_id: uuid.UUID, practitioner: CurrentPractitioner, places: Places
) -> Response:
    await places.remove_site(practitioner, site_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/api/v1/me/overrides",
    summary="My date overrides from today on",
    response_model=list[OverrideRead],
    responses=problem_responses(*_AUTH),
)
async def list_my_overrides(
    practitioner: CurrentPractitioner, places: Places
) -> list[OverrideRead]:
    found = await places.overrides(practitioner)
    return [OverrideRead.model_validate({"date": d, "blocks": b}) for d, b in found.items()]


@router.post(
    "/api/v1/me/overrides",
    summary="Replace the weekly hours on one local date (an empty list closes the day)",
    status_code=status.HTTP_201_CREATED,
    response_model=OverrideRead,
    responses=problem_responses(*_UNSAFE, (422, "invalid_availability"), (422, "validation_error")),
)
async def set_my_override(
    body: OverrideIn, practitioner: CurrentPractitioner, places: Places
) -> OverrideRead:
    blocks = await places.set_override(practitioner, body)
    return OverrideRead.model_validate({"date": body.date.isoformat(), "blocks": blocks})


@router.delete(
    "/api/v1/me/overrides/{day}",
    summary="Remove a date's override: the weekly hours apply again",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(*_UNSAFE, (404, "not_found")),
)
async def remove_my_override(
    day: date, practitioner: CurrentPractitioner, places: Places
) -> Response:
    await places.remove_override(practitioner, day)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
