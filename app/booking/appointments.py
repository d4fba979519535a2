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
audit entry or the stored idempotent answer."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from app.accounts.models import Role
from app.accounts.principal import Principal
from app.accounts.relatives import RelativeNotFound, RelativeRepository, RelativeService
from app.audit.models import AuditAction
from app.booking.availability import PRACTICE_RULES, bookable_slot
from app.booking.base import BookingBase
from app.booking.errors import (
    AlreadyCancelled,
    AppointmentNotFound,
    CancelDeadlinePassed,
    IdempotencyKeyReused,
    InvalidQuery,
    PractitionerNotFound,
    SlotUnavailable,
)
from app.booking.holds import WAITLIST_ENDED, Holds
from app.booking.models import AppointmentStatus
from app.booking.notices import APPOINTMENT_NOTICE, Change, made_by, notice
from app.booking.rows import BookingOffer, Noticed, PracticeAppointment
from app.booking.statements import Inserted
from app.booking.views import (
    MAX_LIST,
    AppointmentView,
    Booked,
    caller_key,
    channel_of,
    visit_reason_aad,
)
from app.charter.model import Gate
from app.consent.service import require
from app.core import clock
from app.core.crypto import derive_key, hash_token
from app.schedule.model import Slot
from app.schedule.timegrid import cells
from app.team.service import works_for


class AppointmentService(BookingBase):
    """Book, read, cancel and move one appointment; list a patient's own."""

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

    def _new_appointment(
        self,
        practitioner_id: uuid.UUID,
        slot: Slot,
        reason: tuple[uuid.UUID, str | None],
        channel: str,
        now: datetime,
        **who: Any,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """A new booked appointment's row and its answer's body (without the visit reason: the
        caller adds it where it may be told). ``who``: ``patient_id``, and ``relative_id`` or a
        practice's ``contact_*`` columns. The visit reason is sealed (AES-GCM bound to the id):
        a generic one (C6) as any, it says nothing of why."""
        appointment_id = uuid.uuid4()
        secret = json.dumps({"id": str(reason[0]), "label": reason[1]})
        row = {
            "id": appointment_id,
            "practitioner_id": practitioner_id,
            "patient_id": None,
            "relative_id": None,
            "site_id": uuid.UUID(slot.site_id) if slot.site_id else None,
            "start_at": slot.start.astimezone(UTC),
            "end_at": slot.end.astimezone(UTC),
            "status": AppointmentStatus.BOOKED.value,
            "channel": channel,
            "visit_reason_ct": self.cipher.encrypt(
                secret, associated_data=visit_reason_aad(appointment_id)
            ),
            "created_at": now,
            "sequence": 0,
            "changed_at": now,
        } | who
        body = {
            "id": str(appointment_id),
            "practitioner_id": str(practitioner_id),
            "start": slot.start.isoformat(),
            "end": slot.end.isoformat(),
            "site_id": slot.site_id or None,
            "status": AppointmentStatus.BOOKED.value,
            "channel": channel,
            "created_at": now.isoformat(),
            "relative": None,
        }
        return row, body

    async def _insert(
        self,
        principal: Principal,
        appointment: dict[str, Any],
        slot: Slot,
        body: dict[str, Any],
        *,
        idempotency_key: str | None,
        fingerprint: str,
    ) -> Booked | None:
        """Insert the appointment with its cells (and its idempotency record, the answer ``body``
        without the visit reason: see ``_replay``) in one statement group: a concurrent request
        with the same key that won is answered as it was (returned); a slot someone else took
        is 409 ``slot_unavailable``; None once booked. Patients' and the practice's bookings
        alike (``app.booking.desk``)."""
        idempotency = None
        if idempotency_key is not None:
            idempotency = {
                "account_id": principal.account_id,
                "key": idempotency_key,
                "request_hash": fingerprint,
                "appointment_id": appointment["id"],
                "status_code": 201,
                "response": json.dumps(body),
                "created_at": appointment["created_at"],
            }
        inserted = await self.repository.insert_booking(
            appointment, cells(slot.start, slot.end), idempotency
        )
        if inserted is Inserted.KEY_TAKEN and idempotency_key is not None:
            replay = await self._replay(principal, idempotency_key, fingerprint)
            if replay is not None:
                return replay
        if inserted is not Inserted.BOOKED:
            raise SlotUnavailable("This time was just booked by someone else.")
        return None

    async def _offer_to(
        self, principal: Principal, practitioner_id: uuid.UUID, visit_reason_id: uuid.UUID
    ) -> tuple[BookingOffer, timedelta]:
        """The practice's hours and this visit reason with its length, if the patient may book
        it: 404 for a
        practice not listed, 422 for a reason it does not offer, 409 for a reason closed to new
        patients that this one is (a booking's checks, and a waiting-list request's)."""
        offer = await self.repository.booking_inputs(
            practitioner_id, visit_reason_id, principal.account_id
        )
        if offer is None:
            raise PractitionerNotFound()
        if offer.duration_minutes is None or not offer.active:
            raise InvalidQuery(
                "This practitioner offers no such visit reason.",
                errors=[{"field": "visit_reason_id", "message": "unknown visit reason"}],
            )
        if not offer.new_patients and not offer.known:
            raise SlotUnavailable("This visit reason is only for patients already followed here.")
        return offer, timedelta(minutes=offer.duration_minutes)

    async def book(
        self,
        principal: Principal,
        *,
        practitioner_id: uuid.UUID,
        visit_reason_id: uuid.UUID,
        start: datetime,
        idempotency_key: str | None,
        relative_id: uuid.UUID | None = None,
        held_by: uuid.UUID | None = None,
    ) -> Booked:
        """Book a free slot for the patient (or one of their relatives). ``held_by``: the
        waiting-list offer being claimed (``app.booking.waitlist``), whose hold on this very slot
        does not stand in its own way."""
        fingerprint = self._fingerprint(
            principal,
            {
                "practitioner_id": str(practitioner_id),
                "visit_reason_id": str(visit_reason_id),
                "start": start.astimezone(UTC).isoformat(),
            }
            | ({"relative_id": str(relative_id)} if relative_id else {}),
        )
        if idempotency_key is not None:
            idempotency_key = caller_key(principal, idempotency_key)
            # Wait on the key, don't race it: a duplicate sent while the first request is still
            # booking waits here until that one ends, then finds its answer. Reading first and
            # claiming the key only at the insert let the duplicate see the slot taken by its own
            # first request and answer 409 (docs/api.md "Idempotency keys").
            await self.repository.hold_key(principal.account_id, idempotency_key)
            replay = await self._replay(principal, idempotency_key, fingerprint)
            if replay is not None:
                return replay  # the answer already given: books nothing, counts nothing
        await require(self.session, principal.account_id, Gate.BOOKING)
        relative = None
        if relative_id is not None:
            # one of the caller's own relatives, or the same 404 as anything else's; never
            # through an application, which is not told of relatives (``_view_for``)
            if not principal.via_token:
                relative = await RelativeRepository(self.session).one(
                    principal.account_id, relative_id
                )
            if relative is None:
                raise RelativeNotFound()
        # The allowance is spent by attempts that may book. Its counter is the booking's first
        # write: on SQLite the write lock is taken there (app.core.sqlite), so the reads above run
        # before it, without holding up the other writers
        # (bench/README.md "Performance rules in the code").
        if self.throttle is not None:
            await self.throttle.hit(
                f"booking:account:{principal.account_id}", self.throttle.policies.booking
            )
        offer, duration = await self._offer_to(principal, practitioner_id, visit_reason_id)
        now = clock.now()
        busy = await self.repository.busy(practitioner_id, start, start + duration, exclude=held_by)
        slot = bookable_slot(offer, str(visit_reason_id), start, now, busy)
        if slot is None:
            raise SlotUnavailable(
                "This time is not free for this visit reason; pick a listed slot."
            )
        appointment, body = self._new_appointment(
            practitioner_id,
            slot,
            (visit_reason_id, offer.label),
            channel_of(principal),
            now,
            patient_id=principal.account_id,
            relative_id=relative_id,
        )
        appointment_id = appointment["id"]
        body["relative"] = (
            {"id": str(relative.id), "full_name": relative.full_name}
            if relative is not None
            else None
        )
        replay = await self._insert(
            principal,
            appointment,
            slot,
            body,
            idempotency_key=idempotency_key,
            fingerprint=fingerprint,
        )
        if replay is not None:
            return replay
        await self._record(
            AuditAction.APPOINTMENT_BOOKED,
            actor=principal.actor,
            subject_id=principal.account_id,
            object_type="appointment",
            object_id=appointment_id,
        )
        if self.mail is not None:
            self.mail.write_at_commit(
                APPOINTMENT_NOTICE,
                notice(
                    Change.BOOKED,
                    appointment_id=appointment_id,
                    patient_id=principal.account_id,
                    practitioner_id=practitioner_id,
                    start=slot.start,
                    end=slot.end,
                    sequence=0,
                    by=made_by(principal),
                    relative_name=relative.full_name if relative is not None else None,
                ),
            )
        # C6, C7: an application booking for the patient is not told the reason back
        shown = None if principal.via_token else str(visit_reason_id)
        return Booked(201, body | {"visit_reason_id": shown})

    async def practice_of_reason(self, visit_reason_id: uuid.UUID) -> uuid.UUID | None:
        """Whose visit reason this is, read in the booking's own transaction: a FHIR Slot names
        its reason and start only (``app.fhir``); ``book`` then checks the reason as always."""
        return await self.repository.practice_of_reason(visit_reason_id)

    async def _mine(self, principal: Principal, appointment_id: uuid.UUID) -> PracticeAppointment:
        """The appointment if the caller is its patient or its practitioner; else 404 (docs/api.md
        "Conventions")."""
        row = await self.repository.appointment(appointment_id)
        if row is None:
            raise AppointmentNotFound()
        if principal.role is Role.PATIENT and row.patient_id == principal.account_id:
            return row
        if principal.role is Role.PRACTITIONER and row.practitioner_id == principal.account_id:
            return row
        if principal.role is Role.SECRETARY and await works_for(
            self.session, principal.account_id, row.practitioner_id
        ):
            return row  # a secretary of its practice (app.team), checked on every request
        raise AppointmentNotFound()

    async def read(self, principal: Principal, appointment_id: uuid.UUID) -> AppointmentView:
        row = await self._mine(principal, appointment_id)
        if principal.role in (Role.PRACTITIONER, Role.SECRETARY) or principal.via_token:
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
        from app.booking.ics import CalendarEntry, appointment_ics, summary_of

        row = await self._mine(principal, appointment_id)
        language = await self.repository.language_of(principal.account_id)
        await self._record(
            AuditAction.APPOINTMENT_CALENDAR_EXPORTED,
            actor=principal.actor,
            subject_id=row.patient_id,
            object_type="appointment",
            object_id=row.id,
        )
        entry = CalendarEntry(
            appointment_id=row.id,
            start=row.start_at,
            end=row.end_at,
            # the same SEQUENCE as the last invitation mailed, so a calendar keeps the latest
            sequence=row.sequence,
            cancelled=row.status == AppointmentStatus.CANCELLED.value,
            summary=summary_of(row.display_name, language),
            address=row.address,
            city=row.city,
        )
        return appointment_ics(entry, clock.now())

    async def cancel(
        self, principal: Principal, appointment_id: uuid.UUID, *, reason: str | None = None
    ) -> AppointmentView:
        """The patient until ``cancel_deadline_minutes`` before the start, the practice at any
        time (the patient is then told by mail, with the practice's ``reason`` from the fixed
        list, if given). Cancelling erases the visit reason (C7)."""
        row = await self._mine(principal, appointment_id)
        if reason is not None and principal.role is Role.PATIENT:
            raise InvalidQuery(
                "Only the practice gives a reason for a cancellation.",
                errors=[{"field": "reason", "message": "for the practice only"}],
            )
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
            details={"by": principal.role.value, **({"reason": reason} if reason else {})},
        )
        self.announce(
            Change.CANCELLED,
            row,
            by=made_by(principal),
            sequence=row.sequence + 1,
            **({"cancel_reason": reason} if reason else {}),
        )
        # its time is free: the first patient waiting for such a slot is offered it
        await self._holds().offer_freed(row.practitioner_id, row.start_at, row.end_at)
        return self._view_for(principal, await self._reread(row.id))

    def _holds(self) -> Holds:
        return Holds(self.session, self.settings, self.audit, self.throttle, self.mail)

    async def _reread(self, appointment_id: uuid.UUID) -> PracticeAppointment:
        """The appointment just changed in this transaction, as it now stands."""
        found = await self.repository.appointment(appointment_id)
        if found is None:  # pragma: no cover - changed in this very transaction
            raise AppointmentNotFound()
        return found

    def _check_deadline(
        self, principal: Principal, row: PracticeAppointment, now: datetime
    ) -> None:
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
        # an anonymised visit names nobody: it moves into no one's agenda
        if reason is None or (row.patient_id is None and row.contact_name is None):
            raise SlotUnavailable("This appointment can no longer be moved online.")
        offer = await self.repository.booking_inputs(
            row.practitioner_id, reason[0], row.patient_id or uuid.UUID(int=0)
        )
        if offer is None or offer.duration_minutes is None or not offer.active:
            raise SlotUnavailable("This visit reason is no longer offered.")
        duration = row.end_at - row.start_at
        busy = await self.repository.busy(
            row.practitioner_id, start, start + duration, exclude=row.id
        )
        # the practice moves a visit under its own rules (``app.booking.desk``)
        practice_side = principal.role in (Role.PRACTITIONER, Role.SECRETARY)
        slot = bookable_slot(
            offer,
            str(reason[0]),
            start,
            now,
            busy,
            rules=PRACTICE_RULES if practice_side else None,
        )
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
                    now,
                    site_id=uuid.UUID(slot.site_id) if slot.site_id else None,
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
        self.announce(
            Change.RESCHEDULED,
            row,
            by=made_by(principal),
            start=slot.start,
            end=slot.end,
            sequence=row.sequence + 1,
        )
        # the time it left is free: the first patient waiting for such a slot is offered it
        await self._holds().offer_freed(row.practitioner_id, row.start_at, row.end_at)
        return self._view_for(principal, await self._reread(row.id))

    async def remove_relative(self, principal: Principal, relative_id: uuid.UUID) -> int:
        """A relative the patient removes: its appointments ahead are cancelled, each practice
        told as for any cancellation by the patient, then its name and birth date erased
        (``app.accounts.relatives``). How many appointments were cancelled."""
        relatives = RelativeService(self.session, self.audit)
        await relatives.get(principal, relative_id)  # 404 for anyone else's
        cancelled = await self._cancel_ahead(principal, "relative_removed", relative_id=relative_id)
        await relatives.erase(principal, relative_id)
        return cancelled

    async def cancel_for_erasure(self, principal: Principal) -> int:
        """The patient's account is being erased (GDPR art. 17): every appointment ahead is
        cancelled whatever the practice's deadline (an erasure cannot wait for it), each
        practitioner and the patient told as for any cancellation by the patient, and every
        visit reason of the patient's appointments, past ones too, erased (C7). The notices are
        written now, before the account stops naming anyone (``MailQueue.write_now``)."""
        # the waiting list's requests go first (a slot one held goes to the next patient), so
        # that the times the erasure frees are not offered back to this very patient
        for practitioner_id in await self.repository.waited_practitioners(principal.account_id):
            await self._holds().end_entries(principal.account_id, practitioner_id)
        cancelled = await self._cancel_ahead(principal, "erasure", at_once=True)
        await self.repository.forget_reasons_of_patient(principal.account_id)
        # replayable answers name the patient's relatives; they would outlive the erasure by a day
        await self.repository.forget_idempotency_keys_of(principal.account_id)
        return cancelled

    async def cancel_for_closing(self, principal: Principal) -> int:
        """The practitioner closes the account (C12, ``app.booking.closing``): every appointment
        of the practice that has not ended is cancelled, each patient told as for any
        cancellation by the practice, their notices written now (the practice's account is
        erased next), and the patients on its waiting list told their request ended; how many
        appointments."""
        now = clock.now()
        rows = await self.repository.booked_between(
            principal.account_id, now, now + timedelta(days=3660)
        )
        waiting = await self.repository.end_waitlist_of_practice(principal.account_id)
        if self.mail is not None:
            # each waiting patient is told their request ended, written now: the practice's
            # account, which the mail names, is erased next in this transaction
            for patient_id in waiting:
                await self.mail.write_now(
                    WAITLIST_ENDED,
                    {"practitioner_id": str(principal.account_id), "patient_id": str(patient_id)},
                )
        return await self._cancel_rows(principal, rows, "closing", now, at_once=True)

    async def _cancel_ahead(
        self,
        principal: Principal,
        why: str,
        *,
        relative_id: uuid.UUID | None = None,
        at_once: bool = False,
    ) -> int:
        """Cancel the patient's appointments that have not started (one relative's, if given),
        whatever the deadline, each audited with ``why`` and announced as a cancellation by the
        patient; how many."""
        now = clock.now()
        rows = await self.repository.ahead_of_patient(
            principal.account_id, now, relative_id=relative_id
        )
        return await self._cancel_rows(principal, rows, why, now, at_once=at_once)

    async def _cancel_rows(
        self,
        principal: Principal,
        rows: Sequence[Noticed],
        why: str,
        now: datetime,
        *,
        at_once: bool,
    ) -> int:
        """Cancel ``rows`` whatever the deadline, each audited with ``why`` and announced as a
        cancellation by the caller (written now if ``at_once``: an erasure or a closing follows
        that would erase what the notices read); how many."""
        if rows:
            await self.repository.cancel([r.id for r in rows], principal.role.value, now)
        by = made_by(principal)
        for row in rows:
            await self._record(
                AuditAction.APPOINTMENT_CANCELLED,
                actor=principal.actor,
                subject_id=row.patient_id,
                object_type="appointment",
                object_id=row.id,
                details={"by": principal.role.value, why: True},
            )
            if at_once:
                await self.announce_at_once(Change.CANCELLED, row, by=by, sequence=row.sequence + 1)
            else:
                self.announce(Change.CANCELLED, row, by=by, sequence=row.sequence + 1)
            # the time is free: the practice's waiting list is offered it
            await self._holds().offer_freed(row.practitioner_id, row.start_at, row.end_at)
        return len(rows)

    async def for_export(self, principal: Principal) -> list[AppointmentView]:
        """Every appointment of the patient, past and future, cancelled ones too, oldest first,
        each with its visit reason while it is still kept (C7 purges it after the visit): what
        the patient's export holds (GDPR art. 15 and 20). The export is audited by its caller."""
        rows = await self.repository.all_of_patient(principal.account_id)
        return [self._view(r) for r in rows]

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
