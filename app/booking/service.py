"""Directory, slots and appointments: the rules of booking, over the pure slot core.

**Who may book what.** Only listed practitioners (``app.practice.models.listed_clause``) are found,
shown or booked; anyone else answers 404. A patient books a slot the slot list would show at that
instant (``slots.find_slot``: opening hours, visit reason, absences, bookings, minimum notice,
horizon), and only with the current privacy notice acknowledged (409 ``consent_required``). A visit
reason closed to new patients is bookable only by patients the practitioner already saw.

**No double booking** is the database's job, not this module's: the check above is advisory, and
the appointment's cells (``booking_cell``, primary key (practitioner, cell)) are inserted in the same
transaction. Whichever request commits first wins; the others find the key taken (their insert
skips the conflicting cells, after waiting for the winner's outcome) and answer 409
``slot_unavailable``. The request's transaction then rolls back, so nothing of a refused booking
(appointment, cells, audit entry, which is only written at commit) survives.

**Idempotency-Key.** The first successful answer is kept per (caller, key) for 24 hours, with a keyed
fingerprint of the body: a retry gets that answer again (201, same appointment) and books nothing;
the same key with another body is refused with 422 ``idempotency_key_reused`` (the choice of
draft-ietf-httpapi-idempotency-key-header). A refused booking is not remembered, so its retry is
evaluated afresh. Requests with one key take turns on it (a lock held until
each commits), so a duplicate that arrives while the first is booking waits for it and answers with
its response; the key's primary key stays the last line of defence.

**Visit reasons are health data** (C7-C9): the appointment keeps the reason's id and label only
encrypted, bound to the appointment id; they are erased at cancellation and after the visit (the
``visit-reason-retention`` job), and never put into a mail, an ICS file, an export, a log line, an
audit entry or the stored idempotent answer.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.accounts.principal import Principal
from app.audit.models import AuditAction
from app.audit.service import Actor, AuditTrail
from app.booking.errors import (
    AlreadyCancelled,
    AppointmentNotFound,
    CancelDeadlinePassed,
    IdempotencyKeyReused,
    InvalidQuery,
    PractitionerNotFound,
    SlotUnavailable,
)
from app.booking.mails import cancelled_by_practice
from app.booking.models import AppointmentStatus, Channel
from app.booking.repository import LONGEST_VISIT, BookingRepository, Inserted
from app.charter.registry import Gate
from app.consent.service import require
from app.core import clock
from app.core.crypto import ColumnCipher, DecryptionError, derive_key, hash_token
from app.core.mail import MailQueue
from app.core.settings import Settings
from app.practice import professions
from app.practice.errors import AbsenceConflicts
from app.practice.models import Practice
from app.practice.profile import directory_url, search_key
from app.schedule.hours import blocks_of
from app.schedule.slots import (
    MAX_WINDOW,
    BookingRules,
    FreeSlots,
    Interval,
    Schedule,
    Slot,
    Window,
    find_slot,
    lay_free,
)
from app.schedule.timegrid import ScheduleError, cells, in_zone
from app.throttle.service import Throttle

MAX_PAGE = 50
MAX_LIST = 200
IDEMPOTENCY_TTL = timedelta(hours=24)
#: where a search first looks for each result's next slot (most agendas have one within a week)
NEXT_SLOT_FIRST_SPAN = timedelta(days=7)


# ---------------------------------------------------------------------------------------------------
# Shapes the router renders


@dataclass(frozen=True)
class VisitReasonView:
    id: uuid.UUID
    label: str
    duration_minutes: int
    new_patients: bool


@dataclass(frozen=True)
class ProfileView:
    id: uuid.UUID
    display_name: str
    profession: str | None
    specialty: str | None
    city: str
    address: str
    timezone: str
    convention_sector: str | None
    fees: str
    directory_url: str | None
    visit_reasons: list[VisitReasonView]
    booking_rules: dict[str, int]
    #: free slots, only when a search asked for them (``slots_days``)
    slots: FreeSlots | None = None
    #: the earliest bookable slot (one row), searches only; empty when there is none
    next_slot: FreeSlots | None = None


@dataclass(frozen=True)
class Page:
    items: list[ProfileView]
    next_cursor: str | None


@dataclass(frozen=True)
class AppointmentView:
    id: uuid.UUID
    practitioner_id: uuid.UUID
    patient_id: uuid.UUID
    visit_reason_id: uuid.UUID | None
    visit_reason: str | None
    start: datetime
    end: datetime
    status: str
    channel: str
    created_at: datetime
    cancelled_at: datetime | None
    practitioner_name: str
    address: str
    city: str
    #: the practitioner's IANA zone: start and end are given in it, and a client shows them there
    timezone: str
    #: until when the patient may still cancel or move it online (the practice's deadline)
    changes_until: datetime | None = None
    patient_name: str | None = None
    patient_phone: str | None = None


@dataclass(frozen=True)
class Booked:
    """A booking's answer: ``replayed`` when it is the stored first answer to a retried key."""

    status_code: int
    body: dict[str, Any]
    replayed: bool = False


def _changes_until(row: Any, tz: ZoneInfo) -> datetime | None:
    """The last instant a patient may cancel or move a booked appointment online (``_check_deadline``
    refuses after it), so a client offers only what will work."""
    deadline = getattr(row, "cancel_deadline_minutes", None)
    if deadline is None or row.status != AppointmentStatus.BOOKED.value:
        return None
    return in_zone(row.start_at - timedelta(minutes=deadline), tz)


def _context(appointment_id: uuid.UUID) -> str:
    """AES-GCM associated data: a ciphertext moved to another appointment does not decrypt."""
    return f"appointment:{appointment_id}:visit_reason"


def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _rules(row: Any) -> BookingRules:
    return BookingRules(
        min_notice_minutes=row.min_notice_minutes, max_horizon_days=row.max_horizon_days
    )


def _caller_key(principal: Principal, key: str) -> str:
    """Idempotency keys are per caller: the patient on the web and each application acting for
    them have their own key space. Stored hashed: no client-chosen string lands in the table."""
    caller = principal.actor.client_id or "web"
    return hashlib.sha256(f"{caller}\x1f{key}".encode()).hexdigest()


def _channel(principal: Principal) -> str:
    return Channel.OAUTH.value if principal.actor.client_id else Channel.WEB.value


def encode_cursor(search_name: str, practitioner_id: uuid.UUID) -> str:
    raw = json.dumps([search_name, str(practitioner_id)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        name, practitioner_id = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        return str(name), uuid.UUID(str(practitioner_id))
    except (ValueError, TypeError, binascii.Error, UnicodeError) as error:
        raise InvalidQuery(
            "This cursor is not valid.", errors=[{"field": "cursor", "message": "invalid cursor"}]
        ) from error


class BookingService:
    def __init__(
        self,
        session: AsyncSession,
        settings: Settings,
        audit: AuditTrail,
        throttle: Throttle | None = None,
        mail: MailQueue | None = None,
    ) -> None:
        self.session = session
        self.settings = settings
        self.audit = audit
        self.throttle = throttle
        self.mail = mail
        self.repository = BookingRepository(session)
        # one cipher per secret and process (ColumnCipher.from_secret): nothing derived per request
        self.cipher = ColumnCipher.from_secret(settings.encryption_key_bytes)

    async def _record(self, action: AuditAction, **kwargs: Any) -> None:
        # Mandatory (issue 20): a channel that reads personal data without a recorder cannot be
        # built, so none can forget the patient's access log (charter C9).
        await self.audit.record(action, **kwargs)

    # -----------------------------------------------------------------------------------------------
    # Directory (public)

    async def search(
        self,
        *,
        profession: str | None,
        specialty: str | None,
        city: str | None,
        q: str | None,
        limit: int,
        cursor: str | None,
        slots_days: int | None = None,
    ) -> Page:
        """C13: profession and specialty filter by exact id; the order is alphabetical by name
        (accents and case ignored), then id: neutral, the same for everyone, never paid for.

        With ``slots_days``, each result carries its free slots from now on for that many days: the
        result page a patient scans, in one request and one more statement (every practitioner's
        busy time at once) rather than one slot request per result."""
        if profession is not None and professions.profession(profession) is None:
            raise InvalidQuery(
                f"Unknown profession {profession!r}; see GET /api/v1/professions.",
                errors=[{"field": "profession", "message": "unknown profession"}],
            )
        if specialty is not None:
            owner = professions.SPECIALTY_PROFESSION.get(specialty)
            if owner is None or (profession is not None and owner != profession):
                raise InvalidQuery(
                    f"{specialty!r} is not a specialty of the chosen profession.",
                    errors=[{"field": "specialty", "message": "unknown specialty"}],
                )
        rows = await self.repository.search(
            profession=profession,
            specialty=specialty,
            city_key=search_key(city) if city else None,
            name=search_key(q) if q else None,
            after=decode_cursor(cursor) if cursor else None,
            limit=limit + 1,
        )
        more = len(rows) > limit
        rows = rows[:limit]
        reasons = await self.repository.visit_reasons([r.id for r in rows]) if rows else []
        items = self._profiles(rows, reasons)
        now = clock.now()
        durations: dict[uuid.UUID, dict[str, int]] = {}
        for reason in reasons:
            durations.setdefault(reason.practitioner_id, {})[str(reason.id)] = (
                reason.duration_minutes
            )
        laid: dict[uuid.UUID, FreeSlots] = {}
        laid_until = now
        if slots_days is not None and rows:
            window = Window(now, now + timedelta(days=slots_days))
            busy = await self.repository.busy_of_many(
                [r.id for r in rows], window.start, window.end + LONGEST_VISIT
            )
            laid = {
                row.id: self._free(row, durations.get(row.id, {}), busy[row.id], window, now, None)
                for row in rows
            }
            laid_until = window.end
        first = await self._next_slots(rows, durations, now, laid, laid_until)
        items = [
            dataclasses.replace(item, slots=laid.get(item.id), next_slot=first[item.id])
            for item in items
        ]
        last = rows[-1] if more and rows else None
        return Page(items, encode_cursor(last.search_name, last.id) if last else None)

    async def _next_slots(
        self,
        rows: Sequence[Any],
        durations: dict[uuid.UUID, dict[str, int]],
        now: datetime,
        laid: dict[uuid.UUID, FreeSlots],
        laid_until: datetime,
    ) -> dict[uuid.UUID, FreeSlots]:
        """Each result's earliest bookable slot, in a few statements for the whole page.

        Slots already ``laid`` from now until ``laid_until`` (a search that asked for them) give
        it at no cost. Otherwise the first week is searched for every result at once (one
        statement for all their busy time); only results with nothing free so far are searched
        further, a window at a time, until their booking horizon: a full agenda costs more
        statements, never one per result. Days are laid only up to the first free one
        (``earliest_only``).
        """
        found = {row.id: FreeSlots([]) for row in rows}
        pending = []
        for row in rows:
            known = laid.get(row.id)
            if known:
                found[row.id] = FreeSlots(known.rows[:1])
            elif durations.get(row.id) and laid_until < now + timedelta(days=row.max_horizon_days):
                pending.append(row)
        start = laid_until
        span = NEXT_SLOT_FIRST_SPAN if start == now else MAX_WINDOW
        while pending:
            window = Window(start, start + span)
            busy = await self.repository.busy_of_many(
                [row.id for row in pending], window.start, window.end + LONGEST_VISIT
            )
            later = []
            for row in pending:
                free = self._free(
                    row, durations[row.id], busy[row.id], window, now, None, earliest_only=True
                )
                if free.rows:
                    found[row.id] = FreeSlots(free.rows[:1])
                elif window.end < now + timedelta(days=row.max_horizon_days):
                    later.append(row)
            pending, start, span = later, window.end, MAX_WINDOW
        return found

    def _profiles(self, rows: Sequence[Any], reasons: Sequence[Any]) -> list[ProfileView]:
        by_practice: dict[uuid.UUID, list[VisitReasonView]] = {}
        for r in reasons:
            by_practice.setdefault(r.practitioner_id, []).append(
                VisitReasonView(r.id, r.label, r.duration_minutes, r.new_patients)
            )
        return [
            ProfileView(
                id=row.id,
                display_name=row.display_name,
                profession=row.profession,
                specialty=row.specialty,
                city=row.city,
                address=row.address,
                timezone=row.timezone,
                convention_sector=row.convention_sector,
                fees=row.fees,
                directory_url=directory_url(row.rpps),
                visit_reasons=by_practice.get(row.id, []),
                booking_rules={
                    "min_notice_minutes": row.min_notice_minutes,
                    "max_horizon_days": row.max_horizon_days,
                    "cancel_deadline_minutes": row.cancel_deadline_minutes,
                },
            )
            for row in rows
        ]

    async def profile(self, practitioner_id: uuid.UUID) -> ProfileView:
        row, reasons = await self.repository.profile_and_reasons(practitioner_id)
        if row is None:
            raise PractitionerNotFound()
        return self._profiles([row], reasons)[0]

    async def slots(
        self,
        practitioner_id: uuid.UUID,
        start: datetime | None,
        end: datetime | None,
        visit_reason_id: uuid.UUID | None,
    ) -> FreeSlots:
        """Free, bookable-now slots starting in ``[start, end)`` (at most 31 days; default a week
        from now): one statement, whatever the agenda holds."""
        now = clock.now()
        start = start or now
        end = end or start + timedelta(days=7)
        try:
            window = Window(start, end)
        except ScheduleError as error:
            raise InvalidQuery(str(error)) from error
        context = await self.repository.slot_context(practitioner_id, start, end + LONGEST_VISIT)
        if context is None:
            raise PractitionerNotFound()
        return self._free(
            context.practice,
            context.durations,
            context.busy,
            window,
            now,
            str(visit_reason_id) if visit_reason_id else None,
        )

    @staticmethod
    def _free(
        row: Any,
        durations: dict[str, int],
        busy: Sequence[Any],
        window: Window,
        now: datetime,
        visit_reason_id: str | None,
        *,
        earliest_only: bool = False,
    ) -> FreeSlots:
        try:
            schedule = Schedule(
                _zone(row.timezone), tuple(blocks_of(row.weekly, set(durations))), durations
            )
            return lay_free(
                schedule,
                window,
                now=now,
                rules=_rules(row),
                absences=[Interval(b.start_at, b.end_at) for b in busy],
                visit_reason_id=visit_reason_id,
                earliest_only=earliest_only,
            )
        except ScheduleError as error:
            raise InvalidQuery(str(error)) from error

    # -----------------------------------------------------------------------------------------------
    # Booking

    def _fingerprint(self, principal: Principal, body: dict[str, str]) -> str:
        """Keyed (HMAC), because a plain hash of (practitioner, reason, time) is easy to invert."""
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
        key = derive_key(self.settings.secret_key_bytes, "idempotency-fingerprint")
        return hash_token(key, f"{principal.account_id}:{canonical}")

    async def _replay(self, principal: Principal, key: str, fingerprint: str) -> Booked | None:
        stored = await self.repository.replayed(principal.account_id, key)
        if stored is None:
            return None
        if stored.request_hash != fingerprint:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was first sent with another body; use a new key."
            )
        body: dict[str, Any] = json.loads(stored.response)
        # the stored answer leaves the visit reason out (C7): add it back while it still exists
        body["visit_reason_id"] = None
        found = await self.repository.appointment(stored.appointment_id)
        if found is not None and not principal.via_token:  # C6, C7: never to an application
            reason = self._reason(found)
            body["visit_reason_id"] = str(reason[0]) if reason else None
        return Booked(stored.status_code, body, replayed=True)

    async def book(
        self,
        principal: Principal,
        *,
        practitioner_id: uuid.UUID,
        visit_reason_id: uuid.UUID,
        start: datetime,
        idempotency_key: str | None,
    ) -> Booked:
        fingerprint = self._fingerprint(
            principal,
            {
                "practitioner_id": str(practitioner_id),
                "visit_reason_id": str(visit_reason_id),
                "start": start.astimezone(UTC).isoformat(),
            },
        )
        if idempotency_key is not None:
            idempotency_key = _caller_key(principal, idempotency_key)
            # Wait on the key, don't race it: a duplicate sent while the first request is still
            # booking waits here until that one ends, then finds its answer. Reading first and
            # claiming the key only at the insert let the duplicate see the slot taken by its own
            # first request and answer 409 (issue 21).
            await self.repository.hold_key(principal.account_id, idempotency_key)
            replay = await self._replay(principal, idempotency_key, fingerprint)
            if replay is not None:
                return replay  # the answer already given: books nothing, counts nothing
        await require(self.session, principal.account_id, Gate.BOOKING)
        # The allowance is spent by attempts that may book. Its counter is the booking's first
        # write: on SQLite the write lock is taken there (app.core.sqlite), so the reads above
        # run before it, without holding up the other writers (bench B11).
        if self.throttle is not None:
            await self.throttle.hit(
                f"booking:account:{principal.account_id}", self.throttle.policies.booking
            )
        context = await self.repository.booking_context(
            practitioner_id, visit_reason_id, principal.account_id
        )
        if context is None:
            raise PractitionerNotFound()
        if context.duration_minutes is None or not context.active:
            raise InvalidQuery(
                "This practitioner offers no such visit reason.",
                errors=[{"field": "visit_reason_id", "message": "unknown visit reason"}],
            )
        if not context.new_patients and not context.known:
            raise SlotUnavailable("This visit reason is only for patients already followed here.")
        duration = timedelta(minutes=context.duration_minutes)
        now = clock.now()
        busy = await self.repository.busy(practitioner_id, start, start + duration)
        slot = self._find(context, str(visit_reason_id), start, now, busy)
        if slot is None:
            raise SlotUnavailable(
                "This time is not free for this visit reason; pick a listed slot."
            )
        appointment_id = uuid.uuid4()
        secret = json.dumps({"id": str(visit_reason_id), "label": context.label})
        body = {
            "id": str(appointment_id),
            "practitioner_id": str(practitioner_id),
            "start": slot.start.isoformat(),
            "end": slot.end.isoformat(),
            "status": AppointmentStatus.BOOKED.value,
            "channel": _channel(principal),
            "created_at": now.isoformat(),
        }
        appointment = {
            "id": appointment_id,
            "practitioner_id": practitioner_id,
            "patient_id": principal.account_id,
            "start_at": slot.start.astimezone(UTC),
            "end_at": slot.end.astimezone(UTC),
            "status": AppointmentStatus.BOOKED.value,
            "channel": _channel(principal),
            "visit_reason_ct": self.cipher.encrypt(secret, context=_context(appointment_id)),
            "created_at": now,
        }
        idempotency = None
        if idempotency_key is not None:
            idempotency = {
                "account_id": principal.account_id,
                "key": idempotency_key,
                "request_hash": fingerprint,
                "appointment_id": appointment_id,
                "status_code": 201,
                "response": json.dumps(body),  # no visit reason in it (see _replay)
                "created_at": now,
            }
        inserted = await self.repository.insert_booking(
            appointment, cells(slot.start, slot.end), idempotency
        )
        if inserted is Inserted.KEY_TAKEN and idempotency_key is not None:
            # a concurrent request with this key won: answer as it did
            replay = await self._replay(principal, idempotency_key, fingerprint)
            if replay is not None:
                return replay
        if inserted is not Inserted.BOOKED:
            raise SlotUnavailable("This time was just booked by someone else.")
        await self._record(
            AuditAction.APPOINTMENT_BOOKED,
            actor=principal.actor,
            subject_id=principal.account_id,
            object_type="appointment",
            object_id=appointment_id,
        )
        # C6, C7: an application booking for the patient is not told the reason back
        shown = None if principal.via_token else str(visit_reason_id)
        return Booked(201, body | {"visit_reason_id": shown})

    def _find(
        self, context: Any, reason_id: str, start: datetime, now: datetime, busy: Sequence[Any]
    ) -> Slot | None:
        try:
            schedule = Schedule(
                _zone(context.timezone),
                tuple(blocks_of(context.weekly, {reason_id})),
                {reason_id: context.duration_minutes},
            )
            return find_slot(
                schedule,
                start,
                reason_id,
                now=now,
                rules=_rules(context),
                absences=[Interval(b.start_at, b.end_at) for b in busy],
            )
        except ScheduleError:
            return None

    # -----------------------------------------------------------------------------------------------
    # One appointment

    def _reason(self, row: Any) -> tuple[uuid.UUID, str] | None:
        if row.visit_reason_ct is None:
            return None
        try:
            data = json.loads(self.cipher.decrypt(row.visit_reason_ct, context=_context(row.id)))
        except DecryptionError:
            return None
        return uuid.UUID(data["id"]), str(data["label"])

    def _view(self, row: Any, *, with_reason: bool = True) -> AppointmentView:
        tz = _zone(row.timezone)
        reason = self._reason(row) if with_reason else None
        return AppointmentView(
            id=row.id,
            practitioner_id=row.practitioner_id,
            patient_id=row.patient_id,
            visit_reason_id=reason[0] if reason else None,
            visit_reason=reason[1] if reason else None,
            start=in_zone(row.start_at, tz),
            end=in_zone(row.end_at, tz),
            status=row.status,
            channel=row.channel,
            created_at=row.created_at,
            cancelled_at=row.cancelled_at,
            # the agenda's rows are the practitioner's own: no name or address to repeat
            practitioner_name=getattr(row, "display_name", ""),
            address=getattr(row, "address", ""),
            city=getattr(row, "city", ""),
            timezone=row.timezone,
            changes_until=_changes_until(row, tz),
        )

    async def _mine(self, principal: Principal, appointment_id: uuid.UUID) -> Any:
        """The appointment if the caller is its patient or its practitioner; else 404 (API.md)."""
        row = await self.repository.appointment(appointment_id)
        if row is None:
            raise AppointmentNotFound()
        if principal.role is Role.PATIENT and row.patient_id == principal.account_id:
            return row
        if principal.role is Role.PRACTITIONER and row.practitioner_id == principal.account_id:
            return row
        raise AppointmentNotFound()

    def _view_for(self, principal: Principal, row: Any) -> AppointmentView:
        """The appointment as ``principal`` may see it: the visit reason is for the patient and
        the practitioner (charter C6, C7), never for a third-party application, whatever its
        scopes (the consent page describes ``appointments:read`` as practitioner, date and time)."""
        return self._view(row, with_reason=not principal.via_token)

    async def read(self, principal: Principal, appointment_id: uuid.UUID) -> AppointmentView:
        row = await self._mine(principal, appointment_id)
        if principal.role is Role.PRACTITIONER or principal.via_token:
            # C9: a read of a patient's data by someone else (the practitioner, or an
            # application acting with the patient's token) is in the patient's access log
            await self._record(
                AuditAction.APPOINTMENT_READ,
                actor=principal.actor,
                subject_id=row.patient_id,
                object_type="appointment",
                object_id=row.id,
            )
        return self._view_for(principal, row)

    async def calendar(self, principal: Principal, appointment_id: uuid.UUID) -> str:
        """An iCalendar file (RFC 5545): who, where and when, never why (C7)."""
        from app.booking.ics import appointment_ics

        row = await self._mine(principal, appointment_id)
        await self._record(
            AuditAction.APPOINTMENT_CALENDAR_EXPORTED,
            actor=principal.actor,
            subject_id=row.patient_id,
            object_type="appointment",
            object_id=row.id,
        )
        return appointment_ics(self._view(row, with_reason=False), clock.now())

    async def cancel(self, principal: Principal, appointment_id: uuid.UUID) -> AppointmentView:
        """The patient until ``cancel_deadline_minutes`` before the start, the practitioner at any
        time (the patient is then told by mail). Cancelling erases the visit reason (C7)."""
        row = await self._mine(principal, appointment_id)
        if row.status != AppointmentStatus.BOOKED.value:
            raise AlreadyCancelled()
        now = clock.now()
        self._check_deadline(principal, row, now)
        if not await self.repository.cancel([row.id], principal.role.value, now):
            raise AlreadyCancelled()  # a concurrent cancel got there first
        await self._record(
            AuditAction.APPOINTMENT_CANCELLED,
            actor=principal.actor,
            subject_id=row.patient_id,
            object_type="appointment",
            object_id=row.id,
            details={"by": principal.role.value},
        )
        if principal.role is Role.PRACTITIONER:
            contact = await self.repository.contact_of(row.patient_id)
            if contact is not None:
                self._notify_cancelled(
                    contact, row.display_name, in_zone(row.start_at, _zone(row.timezone))
                )
        found = await self.repository.appointment(row.id)
        return self._view_for(principal, found)

    def _check_deadline(self, principal: Principal, row: Any, now: datetime) -> None:
        if principal.role is not Role.PATIENT:
            return
        if now > row.start_at - timedelta(minutes=row.cancel_deadline_minutes):
            raise CancelDeadlinePassed(
                "The practice's deadline for changes online has passed; call the practice."
            )

    async def reschedule(
        self, principal: Principal, appointment_id: uuid.UUID, start: datetime
    ) -> AppointmentView:
        """Move a booked appointment, same visit reason, atomically: the new cells are taken and
        the old ones freed in one savepoint, so a taken time leaves the original untouched."""
        row = await self._mine(principal, appointment_id)
        if row.status != AppointmentStatus.BOOKED.value:
            raise AlreadyCancelled()
        now = clock.now()
        self._check_deadline(principal, row, now)
        reason = self._reason(row)
        if reason is None:
            raise SlotUnavailable("This appointment can no longer be moved online.")
        context = await self.repository.booking_context(
            row.practitioner_id, reason[0], row.patient_id
        )
        if context is None or context.duration_minutes is None or not context.active:
            raise SlotUnavailable("This visit reason is no longer offered.")
        duration = row.end_at - row.start_at
        busy = await self.repository.busy(
            row.practitioner_id, start, start + duration, exclude=row.id
        )
        slot = self._find(context, str(reason[0]), start, now, busy)
        if slot is None or slot.end - slot.start != duration:
            raise SlotUnavailable(
                "This time is not free for this visit reason; pick a listed slot."
            )
        try:
            async with self.session.begin_nested():
                moved = await self.repository.move(
                    row.id,
                    row.practitioner_id,
                    row.start_at,
                    slot.start.astimezone(UTC),
                    slot.end.astimezone(UTC),
                    cells(slot.start, slot.end),
                )
                if not moved:
                    raise SlotUnavailable("This appointment changed meanwhile; reload it.")
        except IntegrityError as error:
            raise SlotUnavailable("This time was just booked by someone else.") from error
        await self._record(
            AuditAction.APPOINTMENT_RESCHEDULED,
            actor=principal.actor,
            subject_id=row.patient_id,
            object_type="appointment",
            object_id=row.id,
        )
        found = await self.repository.appointment(row.id)
        return self._view_for(principal, found)

    # -----------------------------------------------------------------------------------------------
    # Lists

    async def my_appointments(
        self, principal: Principal, *, upcoming: bool
    ) -> list[AppointmentView]:
        rows = await self.repository.of_patient(
            principal.account_id, clock.now(), upcoming=upcoming, limit=MAX_LIST
        )
        if principal.via_token:  # C9: an application read the patient's appointments
            await self._record(
                AuditAction.APPOINTMENTS_LISTED,
                actor=principal.actor,
                subject_id=principal.account_id,
                object_type="appointment_list",
                details={"scope": "upcoming" if upcoming else "past", "count": len(rows)},
            )
        return [self._view_for(principal, r) for r in rows]

    async def agenda(
        self, principal: Principal, start: datetime | None, end: datetime | None
    ) -> list[AppointmentView]:
        """The practitioner's own appointments with patients' names and phones; each patient whose
        data is read gets an ``agenda.read`` entry in their access log (C9)."""
        now = clock.now()
        start = start or now.replace(hour=0, minute=0, second=0, microsecond=0)
        end = end or start + timedelta(days=7)
        try:
            Window(start, end)
        except ScheduleError as error:
            raise InvalidQuery(str(error)) from error
        rows = await self.repository.agenda(principal.account_id, start, end, limit=1000)
        views = []
        seen: set[uuid.UUID] = set()
        for row in rows:
            if row.patient_id not in seen:
                seen.add(row.patient_id)
                await self._record(
                    AuditAction.AGENDA_READ,
                    actor=principal.actor,
                    subject_id=row.patient_id,
                    object_type="agenda",
                    object_id=principal.account_id,
                )
            views.append(
                dataclasses.replace(
                    self._view_for(principal, row),
                    patient_name=row.full_name,
                    patient_phone=row.phone,
                )
            )
        return views

    async def export(self, principal: Principal) -> dict[str, Any]:
        """C12 reversibility: the practitioner leaves with their agenda and their patients'
        contact details, as a FHIR R4 ``Bundle`` (Practitioner, Patient, Appointment resources).
        No visit reason (C7, C8); each patient whose contact details leave gets an audit entry."""
        if self.throttle is not None:
            await self.throttle.spend_export(principal.account_id)
        practice, rows = await self.repository.export_rows(principal.account_id)
        if practice is None:
            raise PractitionerNotFound()
        tz = _zone(practice.timezone)
        practitioner_ref = f"Practitioner/{practice.id}"
        entries: list[dict[str, Any]] = [
            {
                "fullUrl": f"urn:uuid:{practice.id}",
                "resource": {
                    "resourceType": "Practitioner",
                    "id": str(practice.id),
                    "identifier": (
                        [{"system": "urn:oid:1.2.250.1.71.4.2.1", "value": practice.rpps}]
                        if practice.rpps
                        else []
                    ),
                    "name": [{"text": practice.display_name}],
                    "address": [{"text": practice.address, "city": practice.city}],
                },
            }
        ]
        patients: dict[uuid.UUID, Any] = {}
        for row in rows:
            patients.setdefault(row.patient_id, row)
        for patient_id, row in patients.items():
            telecom = [{"system": "email", "value": row.email}]
            if row.phone:
                telecom.insert(0, {"system": "phone", "value": row.phone})
            entries.append(
                {
                    "fullUrl": f"urn:uuid:{patient_id}",
                    "resource": {
                        "resourceType": "Patient",
                        "id": str(patient_id),
                        "name": [{"text": row.full_name}],
                        "telecom": telecom,
                    },
                }
            )
        for row in rows:
            entries.append(
                {
                    "fullUrl": f"urn:uuid:{row.id}",
                    "resource": {
                        "resourceType": "Appointment",
                        "id": str(row.id),
                        "status": row.status,
                        "start": in_zone(row.start_at, tz).isoformat(),
                        "end": in_zone(row.end_at, tz).isoformat(),
                        "created": row.created_at.isoformat(),
                        "participant": [
                            {"actor": {"reference": practitioner_ref}, "status": "accepted"},
                            {
                                "actor": {"reference": f"Patient/{row.patient_id}"},
                                "status": "accepted",
                            },
                        ],
                    },
                }
            )
        await self._record(
            AuditAction.PRACTICE_EXPORTED,
            actor=principal.actor,
            object_type="practice",
            object_id=practice.id,
            details={"patients": len(patients), "appointments": len(rows)},
        )
        for patient_id in patients:
            await self._record(
                AuditAction.PRACTICE_EXPORTED,
                actor=principal.actor,
                subject_id=patient_id,
                object_type="practice",
                object_id=practice.id,
            )
        return {
            "resourceType": "Bundle",
            "type": "collection",
            "timestamp": clock.now().isoformat(),
            "total": len(entries),
            "entry": entries,
        }

    # -----------------------------------------------------------------------------------------------
    # Mail

    def _notify_cancelled(self, patient: Any, practitioner: str, start: datetime) -> None:
        """Tell the patient (``email``, ``language``), in their language; no visit reason in the
        mail (C7, SECURITY.md "Data protection")."""
        if self.mail is None:
            return
        self.mail.queue(
            cancelled_by_practice(
                patient.email,
                patient.language,
                practitioner=practitioner,
                start=start,
                link=self.settings.public_url.rstrip("/") + "/",
            )
        )


async def cancel_for_absence(
    session: AsyncSession,
    audit: AuditTrail,
    mail: MailQueue | None,
    *,
    practice: Practice,
    start: datetime,
    end: datetime,
    cancel: bool,
    actor: Actor,
    settings: Settings,
) -> int:
    """The appointments inside a new absence: 409 ``absence_conflicts`` unless ``cancel``; else
    they are cancelled (visit reasons erased, cells freed) and each patient gets a mail."""
    service = BookingService(session, settings, audit, None, mail)
    rows = await service.repository.booked_between(practice.id, start, end)
    if not rows:
        return 0
    if not cancel:
        raise AbsenceConflicts(len(rows))
    now = clock.now()
    count = await service.repository.cancel([r.id for r in rows], Role.PRACTITIONER.value, now)
    tz = _zone(practice.timezone)
    for r in rows:
        await audit.record(
            AuditAction.APPOINTMENT_CANCELLED,
            actor=actor,
            subject_id=r.patient_id,
            object_type="appointment",
            object_id=r.id,
            details={"by": "practitioner", "absence": True},
        )
        service._notify_cancelled(r, practice.display_name, in_zone(r.start_at, tz))
    return count


async def purge_visit_reasons(session: AsyncSession, settings: Settings) -> str:
    """C7 retention job: erase visit reasons ``ERDV_VISIT_REASON_GRACE_HOURS`` after the visit
    (and any a cancellation left, defensively), drop day-old idempotency records; audited."""
    repository = BookingRepository(session)
    now = clock.now()
    erased = await repository.erase_visit_reasons(
        now - timedelta(hours=settings.visit_reason_grace_hours)
    )
    forgotten = await repository.forget_idempotency_keys(now - IDEMPOTENCY_TTL)
    await AuditTrail.for_settings(session, settings).record(
        AuditAction.VISIT_REASONS_PURGED,
        actor=Actor.system(),
        object_type="appointment",
        details={"erased": erased, "grace_hours": settings.visit_reason_grace_hours},
    )
    return f"erased {erased} visit reasons, forgot {forgotten} idempotency keys"


#: the retention job runs hourly: a reason may outlive its grace by up to one run
RETENTION_JOB_SLACK = timedelta(hours=1)


async def kept_visit_reasons(session: AsyncSession, settings: Settings) -> int:
    """Visit reasons still stored past their grace (plus one job interval) or after a
    cancellation: charter C7 is met when this is zero."""
    grace = timedelta(hours=settings.visit_reason_grace_hours) + RETENTION_JOB_SLACK
    return await BookingRepository(session).count_kept_visit_reasons(clock.now() - grace)
