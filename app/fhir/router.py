"""``/fhir/r4``: the FHIR R4 RESTful API over the booking services (docs/integrate.md "FHIR").

Who may call each interaction is the JSON API's own dependency for the same data (``app.booking.
dependencies``): public reads take no token, or one with ``practitioners:read`` / ``slots:read``;
the patient's appointments need ``appointments:read`` and booking ``appointments:write``, through
the same throttles. Every answer is ``application/fhir+json``; every error an OperationOutcome
(``app.fhir.outcomes``).
"""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse

from app.booking.dependencies import (
    AppointmentReader,
    Appointments,
    Booker,
    Directory,
    DirectoryReader,
    SlotReader,
)
from app.core.access import PUBLIC
from app.core.deps import settings_of
from app.core.errors import Unprocessable
from app.core.problems import problem_responses
from app.fhir import resources
from app.fhir.service import DEFAULT_COUNT, MAX_COUNT, FhirResourceNotFound, FhirService

PREFIX = "/fhir/r4"
router = APIRouter(prefix=PREFIX, tags=["fhir"])

_FHIR_JSON = {resources.FHIR_MEDIA_TYPE: {"schema": {"type": "object"}}}
Count = Annotated[int, Query(alias="_count", ge=1, le=MAX_COUNT)]
Cursor = Annotated[str | None, Query(alias="_cursor", max_length=200)]


def _outcomes(*codes: tuple[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses``: the problem codes a route may answer, as OperationOutcomes."""
    return problem_responses(*codes, content=_FHIR_JSON)


_PUBLIC_ERRORS = ((401, "invalid_token"), (403, "insufficient_scope"), (429, "rate_limited"))
_PATIENT_ERRORS = (
    (401, "not_authenticated"),
    (401, "mfa_required"),
    (401, "invalid_token"),
    (403, "forbidden"),
    (403, "insufficient_scope"),
)


class FhirResponse(JSONResponse):
    """Every resource this API answers is checked against its R4 structure here, once, as it is
    written (``resources.validated``; a Bundle with the resources it carries). The response is
    made in the route, inside the request's transaction: a document built wrong is a 500 that
    rolls the request back, never sent."""

    media_type = resources.FHIR_MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        return super().render(resources.validated(content))


def _service(request: Request) -> FhirService:
    return FhirService(settings_of(request).public_url.rstrip("/") + PREFIX)


def _id(value: str) -> uuid.UUID:
    """Our resources' ids are UUIDs: any other id names nothing (404, as FHIR reads answer)."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise FhirResourceNotFound("No such resource.") from None


@router.get(
    "/metadata",
    summary="The server's CapabilityStatement (FHIR R4)",
    response_class=FhirResponse,
    responses={200: {"content": _FHIR_JSON}},
    openapi_extra=PUBLIC,
)
async def capability_statement(request: Request) -> FhirResponse:
    return FhirResponse(resources.capability_statement(_service(request).base))


@router.get(
    "/Practitioner/{practitioner_id}",
    summary="A listed practitioner",
    response_class=FhirResponse,
    responses={200: {"content": _FHIR_JSON}, **_outcomes((404, "not_found"), *_PUBLIC_ERRORS)},
    openapi_extra=PUBLIC,
)
async def read_practitioner(
    practitioner_id: str, request: Request, directory: Directory, _caller: DirectoryReader
) -> FhirResponse:
    return FhirResponse(await _service(request).practitioner(directory, _id(practitioner_id)))


@router.get(
    "/PractitionerRole/{practitioner_id}",
    summary="A listed practitioner's role: profession, specialty, sites",
    response_class=FhirResponse,
    responses={200: {"content": _FHIR_JSON}, **_outcomes((404, "not_found"), *_PUBLIC_ERRORS)},
    openapi_extra=PUBLIC,
)
async def read_practitioner_role(
    practitioner_id: str, request: Request, directory: Directory, _caller: DirectoryReader
) -> FhirResponse:
    return FhirResponse(await _service(request).practitioner_role(directory, _id(practitioner_id)))


@router.get(
    "/PractitionerRole",
    summary="Search roles by specialty (the profession list's codes), in the directory's order",
    response_class=FhirResponse,
    responses={
        200: {"content": _FHIR_JSON},
        **_outcomes((422, "validation_error"), *_PUBLIC_ERRORS),
    },
    openapi_extra=PUBLIC,
)
async def search_practitioner_roles(
    request: Request,
    directory: Directory,
    _caller: DirectoryReader,
    specialty: Annotated[str | None, Query(max_length=100)] = None,
    practitioner: Annotated[str | None, Query(max_length=100)] = None,
    count: Count = DEFAULT_COUNT,
    cursor: Cursor = None,
) -> FhirResponse:
    return FhirResponse(
        await _service(request).roles(
            directory, specialty=specialty, practitioner=practitioner, count=count, cursor=cursor
        )
    )


@router.get(
    "/Location/{site_id}",
    summary="A site of a listed practitioner",
    response_class=FhirResponse,
    responses={200: {"content": _FHIR_JSON}, **_outcomes((404, "not_found"), *_PUBLIC_ERRORS)},
    openapi_extra=PUBLIC,
)
async def read_location(
    site_id: str, request: Request, directory: Directory, _caller: DirectoryReader
) -> FhirResponse:
    return FhirResponse(await _service(request).location(directory, _id(site_id)))


@router.get(
    "/Schedule/{practitioner_id}",
    summary="A listed practitioner's schedule (one per practice)",
    response_class=FhirResponse,
    responses={200: {"content": _FHIR_JSON}, **_outcomes((404, "not_found"), *_PUBLIC_ERRORS)},
    openapi_extra=PUBLIC,
)
async def read_schedule(
    practitioner_id: str, request: Request, directory: Directory, _caller: SlotReader
) -> FhirResponse:
    return FhirResponse(await _service(request).schedule(directory, _id(practitioner_id)))


@router.get(
    "/Schedule",
    summary="Search schedules by actor (Practitioner/{id})",
    response_class=FhirResponse,
    responses={
        200: {"content": _FHIR_JSON},
        **_outcomes((422, "validation_error"), *_PUBLIC_ERRORS),
    },
    openapi_extra=PUBLIC,
)
async def search_schedules(
    request: Request,
    directory: Directory,
    _caller: SlotReader,
    actor: Annotated[str, Query(max_length=100)],
) -> FhirResponse:
    return FhirResponse(await _service(request).schedules(directory, actor))


@router.get(
    "/Slot",
    summary="Free slots of a schedule (start=ge…&start=lt…, a week by default, 31 days at most)",
    response_class=FhirResponse,
    responses={
        200: {"content": _FHIR_JSON},
        **_outcomes((404, "not_found"), (422, "validation_error"), *_PUBLIC_ERRORS),
    },
    openapi_extra=PUBLIC,
)
async def search_slots(
    request: Request,
    directory: Directory,
    _caller: SlotReader,
    schedule: Annotated[str, Query(max_length=100)],
    start: Annotated[list[str], Query(max_length=40)] = [],  # noqa: B006 - FastAPI's default
    status: Annotated[str | None, Query(max_length=20)] = None,
    service_type: Annotated[str | None, Query(alias="service-type", max_length=100)] = None,
    count: Count = DEFAULT_COUNT,
    cursor: Cursor = None,
) -> FhirResponse:
    return FhirResponse(
        await _service(request).slots(
            directory,
            schedule=schedule,
            start=start,
            status=status,
            service_type=service_type,
            count=count,
            cursor=cursor,
        )
    )


@router.get(
    "/Appointment/{appointment_id}",
    summary="One of the token's patient's appointments (never its visit reason)",
    response_class=FhirResponse,
    responses={200: {"content": _FHIR_JSON}, **_outcomes(*_PATIENT_ERRORS, (404, "not_found"))},
)
async def read_appointment(
    appointment_id: str, request: Request, patient: AppointmentReader, booking: Appointments
) -> FhirResponse:
    return FhirResponse(await _service(request).appointment(booking, patient, _id(appointment_id)))


@router.get(
    "/Appointment",
    summary="The token's patient's appointments (patient=Patient/{id} must be that patient)",
    response_class=FhirResponse,
    responses={
        200: {"content": _FHIR_JSON},
        **_outcomes(*_PATIENT_ERRORS, (422, "validation_error")),
    },
)
async def search_appointments(
    request: Request,
    patient: AppointmentReader,
    booking: Appointments,
    patient_ref: Annotated[str | None, Query(alias="patient", max_length=100)] = None,
) -> FhirResponse:
    return FhirResponse(await _service(request).appointments(booking, patient, patient_ref))


@router.post(
    "/Appointment",
    summary="Book a free Slot: an Appointment with status booked naming it (Idempotency-Key)",
    status_code=201,
    response_class=FhirResponse,
    responses={
        201: {"content": _FHIR_JSON},
        **_outcomes(
            *_PATIENT_ERRORS,
            (403, "csrf_failed"),
            (404, "not_found"),
            (409, "slot_unavailable"),
            (409, "consent_required"),
            (422, "validation_error"),
            (422, "idempotency_key_reused"),
            (429, "rate_limited"),
        ),
    },
    openapi_extra={
        "requestBody": {"required": True, "content": _FHIR_JSON | {"application/json": {}}}
    },
)
async def book_appointment(
    request: Request,
    patient: Booker,
    booking: Appointments,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", min_length=1, max_length=255)
    ] = None,
) -> FhirResponse:
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        raise Unprocessable(
            "The body is not JSON.",
            errors=[{"field": "body", "message": "Request body is not valid JSON"}],
        ) from None
    service = _service(request)
    booked, resource = await service.book(booking, patient, body, idempotency_key)
    headers = {"Location": f"{service.base}/Appointment/{resource['id']}"}
    if booked.replayed:
        headers["Idempotent-Replayed"] = "true"
    return FhirResponse(resource, status_code=booked.status_code, headers=headers)
