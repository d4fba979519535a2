"""Waiting-list routes (API "Sites, date overrides and waiting list"): the patient's own requests."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Response, status

from app.booking import schemas
from app.booking.dependencies import PatientSelf, Waitlists
from app.booking.waitlist import EntryView
from app.core.problems import problem_responses

router = APIRouter(tags=["waitlist"])
_AUTH = ((401, "not_authenticated"), (401, "mfa_required"), (403, "forbidden"))
_UNSAFE = (*_AUTH, (403, "csrf_failed"))


def _read(view: EntryView) -> schemas.WaitlistEntryRead:
    return schemas.WaitlistEntryRead.model_validate(view, from_attributes=True)


@router.post(
    "/api/v1/practitioners/{practitioner_id}/waitlist",
    summary="Ask for an earlier slot: the first freed slot that fits is offered and held for you",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.WaitlistEntryRead,
    responses=problem_responses(
        *_UNSAFE,
        (404, "not_found"),
        (409, "already_waiting"),
        (409, "slot_unavailable"),
        (409, "consent_required"),
        (422, "validation_error"),
    ),
)
async def join_waitlist(
    practitioner_id: uuid.UUID,
    body: schemas.WaitlistIn,
    patient: PatientSelf,
    waitlists: Waitlists,
) -> schemas.WaitlistEntryRead:
    return _read(await waitlists.join(patient, practitioner_id, body.visit_reason_id, body.before))


@router.get(
    "/api/v1/me/waitlist",
    summary="My requests for an earlier slot, in order, with the slot held for each if any",
    response_model=list[schemas.WaitlistEntryRead],
    responses=problem_responses(*_AUTH),
)
async def my_waitlist(
    patient: PatientSelf, waitlists: Waitlists
) -> list[schemas.WaitlistEntryRead]:
    return [_read(view) for view in await waitlists.mine(patient)]


@router.get(
    "/api/v1/me/waitlist/{entry_id}",
    summary="One of my requests for an earlier slot",
    response_model=schemas.WaitlistEntryRead,
    responses=problem_responses(*_AUTH, (404, "not_found")),
)
async def my_waitlist_entry(
    entry_id: uuid.UUID, patient: PatientSelf, waitlists: Waitlists
) -> schemas.WaitlistEntryRead:
    return _read(await waitlists.one(patient, entry_id))


@router.delete(
    "/api/v1/me/waitlist/{entry_id}",
    summary="Leave the waiting list (a slot held for me goes to the next patient)",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(*_UNSAFE, (404, "not_found")),
)
async def leave_waitlist(
    entry_id: uuid.UUID, patient: PatientSelf, waitlists: Waitlists
) -> Response:
    await waitlists.leave(patient, entry_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/api/v1/waitlist/{entry_id}/claim",
    summary="Book the slot held for my request",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.Booked,
    responses=problem_responses(
        *_UNSAFE,
        (404, "not_found"),
        (409, "offer_unavailable"),
        (409, "slot_unavailable"),
        (422, "idempotency_key_reused"),
        (429, "rate_limited"),
    ),
)
async def claim_offer(
    entry_id: uuid.UUID,
    patient: PatientSelf,
    waitlists: Waitlists,
    response: Response,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", min_length=1, max_length=255)
    ] = None,
) -> schemas.Booked:
    booked = await waitlists.claim(patient, entry_id, idempotency_key)
    if booked.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return schemas.Booked.model_validate(booked.body)
