"""The practice's desk as routes (docs/api.md "Practice team"): a practice's agenda, bookings the
practice enters, its own patients to book again, and visit outcomes. Who may act for which
practice is the service's business (``app.booking.desk``): 404 for anyone else."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Response, status

from app.auth.authenticator import CurrentPractitioner
from app.booking import schemas
from app.booking.dependencies import Desk, Feeds, PracticeSide
from app.booking.router import From, To, agenda_items, appointment_read
from app.core.access import PUBLIC
from app.core.problems import problem_responses

router = APIRouter(tags=["practice team"])
_AUTH = ((401, "not_authenticated"), (401, "mfa_required"), (403, "forbidden"))
_UNSAFE = (*_AUTH, (403, "csrf_failed"))


@router.get(
    "/api/v1/practices/{practice_id}/agenda",
    summary="A practice's agenda, for its practitioner or one of its secretaries",
    response_model=list[schemas.AgendaItem],
    responses=problem_responses(*_AUTH, (404, "not_found"), (422, "validation_error")),
)
async def read_practice_agenda(
    practice_id: uuid.UUID, caller: PracticeSide, desk: Desk, start: From = None, end: To = None
) -> list[schemas.AgendaItem]:
    return agenda_items(await desk.agenda(caller, practice_id, start, end))


@router.get(
    "/api/v1/practices/{practice_id}/holds",
    summary="The slots the waiting list holds for patients it offered them to (times only)",
    response_model=list[schemas.HeldSlotRead],
    responses=problem_responses(*_AUTH, (404, "not_found"), (422, "validation_error")),
)
async def read_practice_holds(
    practice_id: uuid.UUID, caller: PracticeSide, desk: Desk, start: From = None, end: To = None
) -> list[schemas.HeldSlotRead]:
    return [
        schemas.HeldSlotRead.model_validate(held, from_attributes=True)
        for held in await desk.holds(caller, practice_id, start, end)
    ]


@router.get(
    "/api/v1/practices/{practice_id}/hours",
    summary="A practice's zone, weekly opening hours and visit reasons, for its desk",
    response_model=schemas.DeskHours,
    responses=problem_responses(*_AUTH, (404, "not_found")),
)
async def read_practice_hours(
    practice_id: uuid.UUID, caller: PracticeSide, desk: Desk
) -> schemas.DeskHours:
    return schemas.DeskHours.model_validate(await desk.hours(caller, practice_id))


@router.get(
    "/api/v1/practices/{practice_id}/slots",
    summary="The free slots the practice may book: from now (no minimum notice), a year ahead",
    response_model=list[schemas.SlotRead],
    responses=problem_responses(*_AUTH, (404, "not_found"), (422, "validation_error")),
)
async def list_practice_slots(
    practice_id: uuid.UUID,
    caller: PracticeSide,
    desk: Desk,
    start: From = None,
    end: To = None,
    visit_reason_id: uuid.UUID | None = None,
) -> Response:
    slots = await desk.slots(caller, practice_id, start, end, visit_reason_id)
    return Response(schemas.slots_json(slots), media_type="application/json")


@router.get(
    "/api/v1/practices/{practice_id}/patients",
    summary="The practice's own patients whose name matches (to book one of them again)",
    response_model=list[schemas.KnownPatient],
    responses=problem_responses(
        *_AUTH, (404, "not_found"), (422, "validation_error"), (429, "rate_limited")
    ),
)
async def search_practice_patients(
    practice_id: uuid.UUID,
    caller: PracticeSide,
    desk: Desk,
    q: Annotated[str, Query(min_length=2, max_length=100)],
) -> list[schemas.KnownPatient]:
    return [schemas.KnownPatient(**p) for p in await desk.patients(caller, practice_id, q)]


@router.post(
    "/api/v1/practices/{practice_id}/appointments",
    summary="Book for a patient of the practice, or for someone without an account (by phone)",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.Booked,
    responses=problem_responses(
        *_UNSAFE,
        (404, "not_found"),
        (409, "slot_unavailable"),
        (422, "validation_error"),
        (422, "idempotency_key_reused"),
        (429, "rate_limited"),
    ),
)
async def book_for_patient(
    practice_id: uuid.UUID,
    body: schemas.PracticeBookingIn,
    caller: PracticeSide,
    desk: Desk,
    response: Response,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", min_length=1, max_length=255)
    ] = None,
) -> schemas.Booked:
    booked = await desk.book_for(
        caller,
        practice_id,
        visit_reason_id=body.visit_reason_id,
        start=body.start,
        patient_id=body.patient_id,
        contact=body.patient.model_dump() if body.patient is not None else None,
        idempotency_key=idempotency_key,
    )
    if booked.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return schemas.Booked.model_validate(booked.body)


@router.post(
    "/api/v1/appointments/{appointment_id}/status",
    summary="Record a visit's outcome once it has started: completed or no-show",
    response_model=schemas.AppointmentRead,
    responses=problem_responses(*_UNSAFE, (404, "not_found"), (409, "invalid_transition")),
)
async def record_outcome(
    appointment_id: uuid.UUID, body: schemas.OutcomeIn, caller: PracticeSide, desk: Desk
) -> schemas.AppointmentRead:
    return appointment_read(await desk.record_outcome(caller, appointment_id, body.status))


# a practice's calendar feed (app.booking.feed) ---------------------------------------------------


@router.post(
    "/api/v1/me/calendar-feed",
    summary="A secret calendar feed of my agenda (no visit reason, no phone); replaces the last",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.FeedRead,
    responses=problem_responses(*_UNSAFE),
)
async def create_calendar_feed(practitioner: CurrentPractitioner, feeds: Feeds) -> schemas.FeedRead:
    return schemas.FeedRead(url=await feeds.create(practitioner))


@router.get(
    "/api/v1/me/calendar-feed",
    summary="Whether my calendar feed is live, and since when (its URL was shown once)",
    response_model=schemas.FeedStatus,
    responses=problem_responses(*_AUTH),
)
async def calendar_feed_status(
    practitioner: CurrentPractitioner, feeds: Feeds
) -> schemas.FeedStatus:
    since = await feeds.since(practitioner)
    return schemas.FeedStatus(active=since is not None, created_at=since)


@router.delete(
    "/api/v1/me/calendar-feed",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke my calendar feed at once",
    responses=problem_responses(*_UNSAFE),
)
async def revoke_calendar_feed(practitioner: CurrentPractitioner, feeds: Feeds) -> Response:
    await feeds.revoke(practitioner)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/api/v1/calendar/{token}.ics",
    summary="A practice's calendar feed, for the calendar application given its secret URL",
    response_class=Response,
    responses={
        200: {"content": {"text/calendar": {}}, "description": "RFC 5545 calendar"},
        **problem_responses((404, "not_found"), (429, "rate_limited")),
    },
    openapi_extra=PUBLIC,
)
async def read_calendar_feed(token: Annotated[str, Path(max_length=100)], feeds: Feeds) -> Response:
    # built on each fetch (and, like every API answer, never stored by a cache): a change shows
    # at the calendar application's next poll
    return Response(await feeds.calendar(token), media_type="text/calendar; charset=utf-8")
