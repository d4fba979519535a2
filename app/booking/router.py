"""Directory, slots and appointments (docs/api.md "Practitioners and agenda", "Appointments")."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Response, status

from app.accounts.models import Relative
from app.accounts.relatives import RelativeService
from app.audit.dependencies import Audit
from app.auth.authenticator import CurrentPatient
from app.booking import schemas
from app.booking.dependencies import (
    Agenda,
    AgendaReader,
    AppointmentChanger,
    AppointmentReader,
    Appointments,
    AppointmentViewer,
    Booker,
    Directory,
    DirectoryReader,
    Exporter,
    SlotReader,
)
from app.booking.views import MAX_PAGE, AppointmentView, ProfileView
from app.core.access import PUBLIC
from app.core.problems import problem_responses
from app.core.request_db import DbSession
from app.core.schemas import Instant

router = APIRouter(tags=["booking"])

_AUTH = (
    (401, "not_authenticated"),
    (401, "mfa_required"),
    (401, "invalid_token"),
    (403, "forbidden"),
    (403, "insufficient_scope"),
)
_UNSAFE = (*_AUTH, (403, "csrf_failed"))
From = Annotated[Instant | None, Query(alias="from", description="RFC 3339 with offset")]
To = Annotated[Instant | None, Query(alias="to", description="RFC 3339 with offset")]


def _profile(view: ProfileView) -> schemas.Profile:
    return schemas.Profile.model_validate(view, from_attributes=True)


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def appointment_read(view: AppointmentView) -> schemas.AppointmentRead:
    read = schemas.AppointmentRead.model_validate(view, from_attributes=True)
    if view.relative_id is not None:
        read.relative = schemas.RelativeRef(id=view.relative_id, full_name=view.relative_name or "")
    return read


@router.get(
    "/api/v1/practitioners",
    summary="Search listed practitioners (exact profession/specialty; alphabetical, never paid)",
    response_model=schemas.ProfilePage,
    responses=problem_responses((422, "validation_error"), (429, "rate_limited")),
    openapi_extra=PUBLIC,
)
async def search_practitioners(
    booking: Directory,
    _caller: DirectoryReader,
    profession: Annotated[str | None, Query(max_length=40)] = None,
    specialty: Annotated[str | None, Query(max_length=40)] = None,
    city: Annotated[str | None, Query(max_length=100)] = None,
    postcode: Annotated[
        str | None,
        Query(max_length=5, description="A postcode (exact) or a department (75, 2A, 974)"),
    ] = None,
    q: Annotated[str | None, Query(max_length=100, description="Part of the name")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
    slots_days: Annotated[
        int | None,
        Query(ge=1, le=14, description="Also give each result its free slots for this many days"),
    ] = None,
) -> Response:
    page = await booking.search(
        profession=profession,
        specialty=specialty,
        city=city,
        postcode=postcode,
        q=q,
        limit=limit,
        cursor=cursor,
        slots_days=slots_days,
    )
    # written as JSON directly, slots included (see list_slots): hundreds per result
    items = []
    for view in page.items:
        profile = _json(_profile(view).model_dump(mode="json"))
        slots = "null" if view.slots is None else schemas.slots_text(view.slots)
        first = schemas.slots_text(view.next_slot)[1:-1] if view.next_slot else ""
        items.append(f'{profile[:-1]},"slots":{slots},"next_slot":{first or "null"}}}')
    body = f'{{"items":[{",".join(items)}],"next_cursor":{_json(page.next_cursor)}}}'
    return Response(body.encode(), media_type="application/json")


@router.get(
    "/api/v1/practitioners/{practitioner_id}",
    summary="A listed practitioner's public profile",
    response_model=schemas.Profile,
    responses=problem_responses(
        (404, "not_found"), (422, "validation_error"), (429, "rate_limited")
    ),
    openapi_extra=PUBLIC,
)
async def get_practitioner(
    practitioner_id: uuid.UUID, booking: Directory, _caller: DirectoryReader
) -> schemas.Profile:
    return _profile(await booking.profile(practitioner_id))


@router.get(
    "/api/v1/practitioners/{practitioner_id}/slots",
    summary="Free slots bookable now, in the practitioner's time zone (window of 31 days at most)",
    response_model=list[schemas.SlotRead],
    responses=problem_responses(
        (404, "not_found"), (422, "validation_error"), (429, "rate_limited")
    ),
    openapi_extra=PUBLIC,
)
async def list_slots(
    practitioner_id: uuid.UUID,
    booking: Directory,
    _caller: SlotReader,
    start: From = None,
    end: To = None,
    visit_reason_id: uuid.UUID | None = None,
) -> Response:
    # Serialized here, not through ``response_model``: a week holds hundreds of slots, and building
    # then validating one model per slot was most of this route's time
    # (bench/README.md "Performance rules in the code").
    # The OpenAPI document still describes the body with ``SlotRead``.
    slots = await booking.slots(practitioner_id, start, end, visit_reason_id)
    return Response(schemas.slots_json(slots), media_type="application/json")


@router.post(
    "/api/v1/appointments",
    summary="Book a slot (Idempotency-Key: a retry returns the first answer)",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.Booked,
    responses=problem_responses(
        *_UNSAFE,
        (404, "not_found"),
        (409, "slot_unavailable"),
        (409, "consent_required"),
        (422, "validation_error"),
        (422, "idempotency_key_reused"),
        (429, "rate_limited"),
    ),
)
async def book_appointment(
    body: schemas.BookingIn,
    patient: Booker,
    booking: Appointments,
    response: Response,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", min_length=1, max_length=255)
    ] = None,
) -> schemas.Booked:
    booked = await booking.book(
        patient,
        practitioner_id=body.practitioner_id,
        visit_reason_id=body.visit_reason_id,
        start=body.start,
        idempotency_key=idempotency_key,
        relative_id=body.relative_id,
    )
    if booked.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return schemas.Booked.model_validate(booked.body)


@router.get(
    "/api/v1/me/appointments",
    summary="My appointments, upcoming (soonest first) or past (latest first)",
    response_model=list[schemas.AppointmentRead],
    responses=problem_responses(*_AUTH),
)
async def list_my_appointments(
    patient: AppointmentReader,
    booking: Appointments,
    scope: Literal["upcoming", "past"] = "upcoming",
) -> list[schemas.AppointmentRead]:
    views = await booking.my_appointments(patient, upcoming=scope == "upcoming")
    return [appointment_read(v) for v in views]


@router.get(
    "/api/v1/appointments/{appointment_id}.ics",
    summary="The appointment as an iCalendar file (no visit reason inside)",
    response_class=Response,
    responses={
        200: {"content": {"text/calendar": {}}, "description": "iCalendar (RFC 5545)"},
        **problem_responses(*_AUTH, (404, "not_found")),
    },
)
async def appointment_calendar(
    appointment_id: uuid.UUID, caller: AppointmentViewer, booking: Appointments
) -> Response:
    return Response(
        await booking.calendar(caller, appointment_id),
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="rendez-vous.ics"'},
    )


@router.get(
    "/api/v1/appointments/{appointment_id}",
    summary="One appointment, to its patient or its practitioner",
    response_model=schemas.AppointmentRead,
    responses=problem_responses(*_AUTH, (404, "not_found")),
)
async def get_appointment(
    appointment_id: uuid.UUID, caller: AppointmentViewer, booking: Appointments
) -> schemas.AppointmentRead:
    return appointment_read(await booking.read(caller, appointment_id))


@router.post(
    "/api/v1/appointments/{appointment_id}/cancel",
    summary="Cancel (the patient before the practice's deadline, the practitioner any time)",
    response_model=schemas.AppointmentRead,
    responses=problem_responses(
        *_UNSAFE, (404, "not_found"), (409, "cancel_deadline_passed"), (409, "already_cancelled")
    ),
)
async def cancel_appointment(
    appointment_id: uuid.UUID,
    caller: AppointmentChanger,
    booking: Appointments,
    body: schemas.CancelIn | None = None,
) -> schemas.AppointmentRead:
    reason = body.reason if body is not None else None
    return appointment_read(await booking.cancel(caller, appointment_id, reason=reason))


@router.post(
    "/api/v1/appointments/{appointment_id}/reschedule",
    summary="Move to another free slot, atomically (the old time is kept if the new one is taken)",
    response_model=schemas.AppointmentRead,
    responses=problem_responses(
        *_UNSAFE,
        (404, "not_found"),
        (409, "slot_unavailable"),
        (409, "cancel_deadline_passed"),
        (409, "already_cancelled"),
        (422, "validation_error"),
    ),
)
async def reschedule_appointment(
    appointment_id: uuid.UUID,
    body: schemas.RescheduleIn,
    caller: AppointmentChanger,
    booking: Appointments,
) -> schemas.AppointmentRead:
    return appointment_read(await booking.reschedule(caller, appointment_id, body.start))


@router.get(
    "/api/v1/me/agenda",
    summary="My agenda with patients' names and phones (each read is in the patients' access log)",
    response_model=list[schemas.AgendaItem],
    responses=problem_responses(*_AUTH, (422, "validation_error")),
)
async def read_my_agenda(
    practitioner: AgendaReader, booking: Agenda, start: From = None, end: To = None
) -> list[schemas.AgendaItem]:
    return agenda_items(await booking.agenda(practitioner, start, end))


def agenda_items(views: list[AppointmentView]) -> list[schemas.AgendaItem]:
    """The agenda's rows as the API gives them (``/me/agenda`` and a practice's desk)."""
    return [
        schemas.AgendaItem(
            id=v.id,
            visit_reason_id=v.visit_reason_id,
            visit_reason=v.visit_reason,
            start=v.start,
            end=v.end,
            status=v.status,
            channel=v.channel,
            created_at=v.created_at,
            cancelled_at=v.cancelled_at,
            patient=schemas.AgendaPatient(
                id=v.patient_id,
                full_name=v.patient_name or "",
                phone=v.patient_phone,
                email=v.patient_email,
                no_shows=v.no_shows,
            ),
        )
        for v in views
    ]


@router.get(
    "/api/v1/me/practice/export",
    summary="Reversibility export (C12): agenda and patient contacts as a FHIR Bundle",
    response_model=schemas.FhirBundle,
    responses=problem_responses(*_AUTH, (403, "reauth_required"), (429, "rate_limited")),
)
async def export_my_practice(practitioner: Exporter, booking: Agenda) -> schemas.FhirBundle:
    return schemas.FhirBundle.model_validate(await booking.export(practitioner))


# a patient's relatives: the people they book for -------------------------------------------

_RELATIVE_ERRORS = ((401, "not_authenticated"), (401, "mfa_required"), (403, "forbidden"))


def _relative(relative: Relative) -> schemas.RelativeOut:
    return schemas.RelativeOut(
        id=relative.id, full_name=relative.full_name, birth_date=relative.birth_date
    )


@router.get(
    "/api/v1/me/relatives",
    summary="My relatives, the people I book for (name and birth date only)",
    response_model=list[schemas.RelativeOut],
    responses=problem_responses(*_RELATIVE_ERRORS),
)
async def list_my_relatives(
    patient: CurrentPatient, session: DbSession, audit: Audit
) -> list[schemas.RelativeOut]:
    return [_relative(r) for r in await RelativeService(session, audit).list(patient)]


@router.post(
    "/api/v1/me/relatives",
    status_code=status.HTTP_201_CREATED,
    summary="Add a relative (at most 10)",
    response_model=schemas.RelativeOut,
    responses=problem_responses(*_RELATIVE_ERRORS, (422, "validation_error")),
)
async def add_my_relative(
    body: schemas.RelativeIn, patient: CurrentPatient, session: DbSession, audit: Audit
) -> schemas.RelativeOut:
    added = await RelativeService(session, audit).add(
        patient, body.full_name.strip(), body.birth_date
    )
    return _relative(added)


@router.patch(
    "/api/v1/me/relatives/{relative_id}",
    summary="Correct a relative's name or birth date",
    response_model=schemas.RelativeOut,
    responses=problem_responses(*_RELATIVE_ERRORS, (404, "not_found"), (422, "validation_error")),
)
async def change_my_relative(
    relative_id: uuid.UUID,
    body: schemas.RelativeUpdate,
    patient: CurrentPatient,
    session: DbSession,
    audit: Audit,
) -> schemas.RelativeOut:
    changes = body.changes()
    if isinstance(changes.get("full_name"), str):
        changes["full_name"] = str(changes["full_name"]).strip()
    return _relative(await RelativeService(session, audit).change(patient, relative_id, changes))


@router.delete(
    "/api/v1/me/relatives/{relative_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a relative: their appointments ahead are cancelled, their name goes",
    responses=problem_responses(*_RELATIVE_ERRORS, (404, "not_found")),
)
async def remove_my_relative(
    relative_id: uuid.UUID, patient: CurrentPatient, booking: Appointments
) -> Response:
    await booking.remove_relative(patient, relative_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
