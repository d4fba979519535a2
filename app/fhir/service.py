"""The FHIR interactions, each translated to the booking domain's services and back.

Search parameters follow FHIR R4's search rules where they are used: ``reference`` parameters take
``Type/id`` or a bare id, ``token`` parameters ``code`` or ``system|code``, dates a prefix
(``ge``, ``gt``, ``lt``, ``le``) and a date or a date-time. Pages are searchset Bundles whose
``next`` link carries an opaque ``_cursor`` (keyset, never an offset: a slot booked between two
pages must not shift the next one).
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from app.accounts.principal import Principal
from app.booking.appointments import AppointmentService
from app.booking.directory import DirectoryService
from app.booking.views import Booked
from app.core import clock
from app.core.errors import Forbidden, NotFound, Unprocessable
from app.fhir import resources
from app.schedule.slots import FreeSlots

#: a page of a search, unless ``_count`` says otherwise, and at most
DEFAULT_COUNT = 50
MAX_COUNT = 100


class InvalidSearch(Unprocessable):
    """A FHIR search or resource the API cannot take (``validation_error``, as the JSON API)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(
            f"{field}: {message}", errors=[{"field": field, "message": message, "type": "value"}]
        )


class FhirResourceNotFound(NotFound):
    """No such resource (or not one the caller may see)."""


def reference_id(value: str, resource_type: str, field: str) -> uuid.UUID:
    """``Type/id`` or ``id`` (R4 search, "reference"), the id being one of ours (a UUID)."""
    raw = value.removeprefix(f"{resource_type}/")
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise InvalidSearch(field, f"not a {resource_type} reference") from None


def token_code(value: str, system: str) -> str:
    """``code`` or ``system|code`` (R4 search, "token"); another system names nothing here."""
    named, bar, code = value.rpartition("|")
    if bar and named and named != system:
        return ""
    return code


def _instant(field: str, value: str, zone: ZoneInfo) -> datetime:
    """A FHIR date or date-time; a date is midnight where the practice is. A ``+`` offset
    written into a URL unencoded arrives as a space (form decoding): it is read back as ``+``,
    since no date-time holds a space."""
    value = value.replace(" ", "+")
    try:
        if len(value) == 10:
            return datetime.combine(datetime.fromisoformat(value).date(), time(), zone)
        at = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidSearch(field, "not a FHIR date or dateTime") from None
    if at.tzinfo is None:
        raise InvalidSearch(field, "a dateTime needs its time zone offset")
    return at


def _window(bounds: list[str], zone: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    lower: datetime | None = None
    upper: datetime | None = None
    for bound in bounds:
        prefix, value = (bound[:2], bound[2:]) if bound[:2].isalpha() else ("eq", bound)
        at = _instant("start", value, zone)
        if prefix in {"ge", "gt"}:
            lower = at + timedelta(minutes=1) if prefix == "gt" else at
        elif prefix in {"lt", "le"}:
            upper = at + timedelta(minutes=1) if prefix == "le" else at
        else:
            raise InvalidSearch("start", "use ge, gt, lt or le")
    return lower, upper


def _encode(parts: tuple[int, int, str]) -> str:
    text = f"{parts[0]}.{parts[1]}.{parts[2]}".encode()
    return base64.urlsafe_b64encode(text).decode().rstrip("=")


def _decode(cursor: str) -> tuple[int, int, str]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        start, end, reason = text.split(".")
        return int(start), int(end), str(uuid.UUID(reason))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidSearch("_cursor", "not a cursor this server gave") from None


def page_url(base: str, path: str, params: list[tuple[str, str]]) -> str:
    return f"{base}/{path}" + (f"?{urlencode(params)}" if params else "")


class FhirService:
    def __init__(self, base: str) -> None:
        #: the absolute base of every link and fullUrl (``ERDV_PUBLIC_URL`` + ``/fhir/r4``)
        self.base = base

    # --- the directory -------------------------------------------------------------------------

    async def practitioner(self, directory: DirectoryService, pid: uuid.UUID) -> dict[str, Any]:
        return resources.practitioner(await directory.profile(pid))

    async def practitioner_role(
        self, directory: DirectoryService, pid: uuid.UUID
    ) -> dict[str, Any]:
        return resources.practitioner_role(await directory.profile(pid))

    async def roles(
        self,
        directory: DirectoryService,
        *,
        specialty: str | None,
        practitioner: str | None,
        count: int,
        cursor: str | None,
    ) -> dict[str, Any]:
        """PractitionerRole search: by specialty (the profession list's codes), or one
        practitioner's role; listed practitioners only, in the directory's neutral order."""
        params = [("_count", str(count))]
        if practitioner is not None:
            pid = reference_id(practitioner, "Practitioner", "practitioner")
            params.append(("practitioner", f"Practitioner/{pid}"))
            try:
                found = [await directory.profile(pid)]
            except NotFound:
                found = []
            views, following = found, None
        else:
            code = None
            if specialty is not None:
                code = token_code(specialty, resources.SPECIALTY_SYSTEM)
                params.append(("specialty", specialty))
            if code == "":
                views, following = [], None
            else:
                page = await directory.search(
                    profession=None,
                    specialty=code,
                    city=None,
                    q=None,
                    limit=count,
                    cursor=cursor,
                )
                views, following = page.items, page.next_cursor
        here = params + ([("_cursor", cursor)] if cursor else [])
        return resources.bundle(
            self.base,
            [resources.practitioner_role(v) for v in views],
            self_url=page_url(self.base, "PractitionerRole", here),
            next_url=(
                page_url(self.base, "PractitionerRole", [*params, ("_cursor", following)])
                if following
                else None
            ),
        )

    async def location(self, directory: DirectoryService, site_id: uuid.UUID) -> dict[str, Any]:
        site, _profile = await directory.site(site_id)
        return resources.location(site)

    async def schedule(self, directory: DirectoryService, pid: uuid.UUID) -> dict[str, Any]:
        return resources.schedule(await directory.profile(pid), clock.now())

    async def schedules(self, directory: DirectoryService, actor: str) -> dict[str, Any]:
        """A practitioner's schedule (``actor=Practitioner/{id}``): one per practice."""
        pid = reference_id(actor, "Practitioner", "actor")
        try:
            found = [resources.schedule(await directory.profile(pid), clock.now())]
        except NotFound:
            found = []
        params = [("actor", f"Practitioner/{pid}")]
        return resources.bundle(
            self.base,
            found,
            self_url=page_url(self.base, "Schedule", params),
            total=len(found),
        )

    # --- slots -----------------------------------------------------------------------------------

    async def slots(
        self,
        directory: DirectoryService,
        *,
        schedule: str,
        start: list[str],
        status: str | None,
        service_type: str | None,
        count: int,
        cursor: str | None,
    ) -> dict[str, Any]:
        """Free slots of one schedule, from the JSON API's engine (``DirectoryService.slots``):
        the same window rules (a week by default, 31 days at most) and the same answer."""
        pid = reference_id(schedule, "Schedule", "schedule")
        if status is not None and status != "free":
            raise InvalidSearch("status", "only free slots are published")
        zone, labels = await directory.zone_and_reasons(pid)
        lower, upper = _window(start, ZoneInfo(zone))
        reason: uuid.UUID | None = None
        if service_type is not None:
            code = token_code(service_type, resources.VISIT_REASON_SYSTEM)
            if code not in labels:
                raise InvalidSearch("service-type", "not a visit reason of this practitioner")
            reason = uuid.UUID(code)
        free = await directory.slots(pid, lower, upper, reason)
        rows = free.rows
        after = _decode(cursor) if cursor else None
        if after is not None:
            rows = [r for r in rows if (r[0], r[1], r[4]) > after]
        page, more = rows[:count], len(rows) > count
        params = [("schedule", f"Schedule/{pid}"), ("status", "free"), ("_count", str(count))]
        params += [("start", bound) for bound in start]
        if service_type is not None:
            params.append(("service-type", service_type))
        here = params + ([("_cursor", cursor)] if cursor else [])
        following = None
        if more:
            last = page[-1]
            following = page_url(
                self.base, "Slot", [*params, ("_cursor", _encode((last[0], last[1], last[4])))]
            )
        return resources.bundle(
            self.base,
            resources.slots(pid, FreeSlots(page), labels),
            self_url=page_url(self.base, "Slot", here),
            next_url=following,
            total=len(rows) if after is None else None,
        )

    # --- appointments ----------------------------------------------------------------------------

    async def appointment(
        self, appointments: AppointmentService, principal: Principal, appointment_id: uuid.UUID
    ) -> dict[str, Any]:
        return resources.appointment(await appointments.read(principal, appointment_id))

    async def appointments(
        self, appointments: AppointmentService, principal: Principal, patient: str | None
    ) -> dict[str, Any]:
        """The token's patient's appointments, upcoming then past; another patient's are not
        for this token to ask (403)."""
        if patient is not None:
            if reference_id(patient, "Patient", "patient") != principal.account_id:
                raise Forbidden("This token acts for another patient.")
        views = await appointments.my_appointments(principal, upcoming=True)
        views += await appointments.my_appointments(principal, upcoming=False)
        params = [("patient", f"Patient/{principal.account_id}")]
        return resources.bundle(
            self.base,
            [resources.appointment(v) for v in views],
            self_url=page_url(self.base, "Appointment", params),
            total=len(views),
        )

    async def book(
        self,
        appointments: AppointmentService,
        principal: Principal,
        body: Any,
        idempotency_key: str | None,
    ) -> tuple[Booked, dict[str, Any]]:
        """``POST /Appointment``: an Appointment with status ``booked`` naming one free Slot,
        booked as ``POST /api/v1/appointments`` books (the same checks, races, audit and
        notices); its patient, if named, is the token's."""
        if not isinstance(body, dict) or body.get("resourceType") != "Appointment":
            raise InvalidSearch("resourceType", "an Appointment is expected")
        try:
            sent = resources.parse("Appointment", body)
        except ValidationError as error:
            raise Unprocessable(
                "The Appointment is not a valid FHIR R4 resource.",
                errors=[
                    {
                        "field": ".".join(str(p) for p in e["loc"]) or "body",
                        "message": e["msg"],
                        "type": e["type"],
                    }
                    for e in error.errors()[:20]
                ],
            ) from None
        if sent.status != "booked":
            raise InvalidSearch("status", "book with status 'booked'")
        refs = [s.reference or "" for s in sent.slot or []]
        if len(refs) != 1 or not refs[0].startswith("Slot/"):
            raise InvalidSearch("slot", "name exactly one Slot/{id}")
        for participant in sent.participant or []:
            ref = (participant.actor.reference or "") if participant.actor else ""
            if ref.startswith("Patient/") and ref != f"Patient/{principal.account_id}":
                raise Forbidden("This token acts for another patient.")
        named = resources.parse_slot_id(refs[0].removeprefix("Slot/"))
        if named is None:
            raise FhirResourceNotFound("No such slot.")
        reason, start = named
        owner = await appointments.practice_of_reason(reason)
        if owner is None:
            raise FhirResourceNotFound("No such slot.")
        booked = await appointments.book(
            principal,
            practitioner_id=owner,
            visit_reason_id=reason,
            start=start,
            idempotency_key=idempotency_key,
        )
        return booked, resources.booked_appointment(booked.body, principal.account_id)
