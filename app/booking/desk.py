"""The practice's desk (issue #25, docs/api.md "Practice team"): its practitioner or one of its
secretaries reads the agenda, books for a patient (an existing patient account, or someone
without an account: a name, a phone, an address), and records what became of a visit.
A patient account is named by its id, and only the practice's own patients (an appointment
there, by any channel) can be named: found by name (``patients``) or from the agenda. A new
patient books online, or is booked as someone without an account; an account id alone never
links a patient to a practice, nor shows it their name and phone.

Who may act for practice ``P`` is decided here, on every request: ``P``'s practitioner, or an
account with an active membership in ``P``'s team (``app.team``); anyone else gets the same 404
as for a practice that does not exist. A practice-entered booking goes through the same cells as
any other (``insert_booking``), so a secretary and a patient racing for one slot leave exactly one
appointment, and through the same idempotency keys (the caller's). The practice's own booking
rules (minimum notice, horizon, "existing patients only") are for patients booking online: the
practice books any free time of its opening hours that has not started.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from app.accounts.models import Role
from app.accounts.principal import Principal
from app.audit.models import AuditAction
from app.booking.agenda import AgendaService
from app.booking.appointments import AppointmentService
from app.booking.availability import PRACTICE_RULES, bookable_slot, free_in
from app.booking.errors import (
    AppointmentNotFound,
    InvalidQuery,
    InvalidTransition,
    PatientNotFound,
    PractitionerNotFound,
    SlotUnavailable,
    query_window,
)
from app.booking.models import AppointmentStatus, Channel
from app.booking.notices import APPOINTMENT_NOTICE, Change, notice
from app.booking.statements import LONGEST_VISIT
from app.booking.views import AppointmentView, Booked, caller_key, zone_named
from app.core import clock
from app.practice.repository import PracticeRepository
from app.schedule.hours import load_weekly
from app.schedule.slots import FreeSlots
from app.schedule.timegrid import in_zone
from app.team.service import works_for

OUTCOMES = frozenset({AppointmentStatus.COMPLETED.value, AppointmentStatus.NO_SHOW.value})


@dataclass(frozen=True)
class HeldSlot:
    """A slot the waiting list holds for a patient until ``hold_until`` (its times in the
    practice's zone), shown in the practice's agenda so a missing slot has its reason."""

    start: datetime
    end: datetime
    site_id: uuid.UUID | None
    hold_until: datetime


class DeskService(AppointmentService):
    """The practice side of the agenda, for its practitioner and its secretaries."""

    async def let_in(self, principal: Principal, practice_id: uuid.UUID) -> None:
        if principal.role is Role.PRACTITIONER and principal.account_id == practice_id:
            return
        if principal.role is Role.SECRETARY and await works_for(
            self.session, principal.account_id, practice_id
        ):
            return
        raise PractitionerNotFound()

    async def agenda(
        self,
        principal: Principal,
        practice_id: uuid.UUID,
        start: datetime | None,
        end: datetime | None,
    ) -> list[AppointmentView]:
        await self.let_in(principal, practice_id)
        agenda = AgendaService(self.session, self.settings, self.audit, self.throttle, self.mail)
        return await agenda.agenda(principal, start, end, practice_id=practice_id)

    async def hours(self, principal: Principal, practice_id: uuid.UUID) -> dict[str, Any]:
        """What the desk's grid needs: the zone, the weekly opening blocks and the active visit
        reasons (the practitioner's own list, as the practice's agenda shows it)."""
        await self.let_in(principal, practice_id)
        practices = PracticeRepository(self.session)
        practice = await practices.get(practice_id)
        if practice is None:  # pragma: no cover - let_in saw it
            raise PractitionerNotFound()
        reasons = await practices.visit_reasons(practice_id)
        return {
            "display_name": practice.display_name,
            "timezone": practice.timezone,
            "weekly": load_weekly(practice.weekly),
            "visit_reasons": [
                {
                    "id": r.id,
                    "label": r.label,
                    "duration_minutes": r.duration_minutes,
                    "new_patients": r.new_patients,
                    "generic": r.generic,
                }
                for r in reasons
            ],
        }

    async def holds(
        self,
        principal: Principal,
        practice_id: uuid.UUID,
        start: datetime | None,
        end: datetime | None,
    ) -> list[HeldSlot]:
        """The slots the waiting list holds in the window (the agenda's default: today and six
        more days), in the practice's zone: the time a patient was offered and may still claim,
        which neither the desk's slot list nor a patient's offers meanwhile
        (``app.booking.holds``). Times only: who waits stays the patient's own business
        (``app.booking.waitlist``), so nobody's data is read and nothing is audited."""
        await self.let_in(principal, practice_id)
        now = clock.now()
        start = start or now.replace(hour=0, minute=0, second=0, microsecond=0)
        end = end or start + timedelta(days=7)
        query_window(start, end)
        practice = await PracticeRepository(self.session).get(practice_id)
        if practice is None:  # pragma: no cover - let_in saw it
            raise PractitionerNotFound()
        tz = zone_named(practice.timezone)
        return [
            HeldSlot(
                in_zone(row.start_at, tz),
                in_zone(row.end_at, tz),
                row.site_id,
                in_zone(row.hold_until, tz),
            )
            for row in await self.repository.holds_between(practice_id, start, end, now)
        ]

    async def slots(
        self,
        principal: Principal,
        practice_id: uuid.UUID,
        start: datetime | None,
        end: datetime | None,
        visit_reason_id: uuid.UUID | None,
    ) -> FreeSlots:
        """The free slots the practice may book (``PRACTICE_RULES``: from now, a year ahead),
        which the patients' list hides within the minimum notice (a patient calling for this
        afternoon)."""
        await self.let_in(principal, practice_id)
        now = clock.now()
        start = start or now
        end = end or start + timedelta(days=7)
        window = query_window(start, end)
        practices = PracticeRepository(self.session)
        practice = await practices.get(practice_id)
        if practice is None:  # pragma: no cover - let_in saw it
            raise PractitionerNotFound()
        durations = {
            str(r.id): r.duration_minutes for r in await practices.visit_reasons(practice_id)
        }
        busy = await self.repository.busy(practice_id, start, end + LONGEST_VISIT)
        return free_in(
            practice,
            durations,
            busy,
            window,
            now,
            str(visit_reason_id) if visit_reason_id else None,
            rules=PRACTICE_RULES,
        )

    async def patients(
        self, principal: Principal, practice_id: uuid.UUID, query: str
    ) -> list[dict[str, Any]]:
        """The practice's own patients (accounts it has seen or booked) whose name matches, for
        booking one of them again; never anyone else's patients. Each is a read of the patient's
        data: in their access log."""
        await self.let_in(principal, practice_id)
        # a search of personal data, on the account's directory allowance (docs/security.md
        # "Throttling": search is rate-limited per account), so a stolen desk session cannot
        # walk the practice's patients by every two-letter prefix at machine speed
        if self.throttle is not None:
            await self.throttle.spend_directory_read(principal.account_id)
        rows = await self.repository.known_patients(practice_id, query, limit=20)
        for row in rows:
            await self._record(
                AuditAction.AGENDA_READ,
                actor=principal.actor,
                subject_id=row.id,
                object_type="agenda",
                object_id=practice_id,
            )
        return [{"id": r.id, "full_name": r.full_name, "phone": r.phone} for r in rows]

    async def book_for(
        self,
        principal: Principal,
        practice_id: uuid.UUID,
        *,
        visit_reason_id: uuid.UUID,
        start: datetime,
        patient_id: uuid.UUID | None,
        contact: dict[str, str | None] | None,
        idempotency_key: str | None,
    ) -> Booked:
        await self.let_in(principal, practice_id)
        fingerprint = self._fingerprint(
            principal,
            {
                "practice_id": str(practice_id),
                "visit_reason_id": str(visit_reason_id),
                "start": start.astimezone(UTC).isoformat(),
                "patient": str(patient_id) if patient_id else json.dumps(contact, sort_keys=True),
            },
        )
        if idempotency_key is not None:
            idempotency_key = caller_key(principal, idempotency_key)
            await self.repository.hold_key(principal.account_id, idempotency_key)
            replay = await self._replay(principal, idempotency_key, fingerprint)
            if replay is not None:
                return replay
        # only the practice's own patients, as its search finds them: an account id alone,
        # learnt anywhere, must not link a patient to a practice they never chose, nor show it
        # their name and phone in its agenda (object-level access, SECURITY.md)
        if patient_id is not None and not await self.repository.is_patient_of(
            practice_id, patient_id
        ):
            raise PatientNotFound()
        # Booking is rate-limited per account (docs/security.md "Throttling"), the desk's on an
        # allowance of its own: a replay above books nothing and spends nothing, and the counter
        # comes just before the booking inputs are read, as a patient's booking spends its own.
        if self.throttle is not None:
            await self.throttle.hit(
                f"desk-booking:account:{principal.account_id}", self.throttle.policies.desk_booking
            )
        offer = await self.repository.booking_inputs(
            practice_id, visit_reason_id, patient_id or uuid.UUID(int=0)
        )
        if offer is None:
            raise PractitionerNotFound()
        if offer.duration_minutes is None or not offer.active:
            raise InvalidQuery(
                "This practice offers no such visit reason.",
                errors=[{"field": "visit_reason_id", "message": "unknown visit reason"}],
            )
        now = clock.now()
        end = start + timedelta(minutes=offer.duration_minutes)
        busy = await self.repository.busy(practice_id, start, end)
        slot = bookable_slot(offer, str(visit_reason_id), start, now, busy, rules=PRACTICE_RULES)
        if slot is None:
            raise SlotUnavailable("This time is not free for this visit reason.")
        channel = Channel.PRACTICE.value
        contact = contact or {}
        who = (
            {"patient_id": patient_id}
            if patient_id is not None
            else {
                "contact_name": contact.get("full_name"),
                "contact_phone": contact.get("phone"),
                "contact_email": contact.get("email"),
            }
        )
        appointment, body = self._new_appointment(
            practice_id, slot, (visit_reason_id, offer.label), channel, now, **who
        )
        appointment_id = appointment["id"]
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
            subject_id=patient_id,
            object_type="appointment",
            object_id=appointment_id,
            details={"channel": channel},
        )
        email = contact.get("email") if patient_id is None else None
        if self.mail is not None and (patient_id is not None or email):
            self.mail.write_at_commit(
                APPOINTMENT_NOTICE,
                notice(
                    Change.BOOKED,
                    appointment_id=appointment_id,
                    patient_id=patient_id,
                    practitioner_id=practice_id,
                    start=slot.start,
                    end=slot.end,
                    sequence=0,
                    by=Role.PRACTITIONER.value,  # the practice's own booking
                    contact_email=email,
                ),
            )
        return Booked(201, body | {"visit_reason_id": str(visit_reason_id)})

    async def record_outcome(
        self, principal: Principal, appointment_id: uuid.UUID, outcome: str
    ) -> AppointmentView:
        """``completed`` or ``no_show``, once the visit has started (409 ``invalid_transition``
        before, or for a cancelled one); the practice may correct one outcome into the other.
        Audited in the patient's access log."""
        row = await self.repository.appointment(appointment_id)
        if row is None or principal.role is Role.PATIENT:
            raise AppointmentNotFound()
        try:
            await self.let_in(principal, row.practitioner_id)
        except PractitionerNotFound:
            raise AppointmentNotFound() from None
        if outcome not in OUTCOMES:  # pragma: no cover - the schema allows only these
            raise InvalidTransition("Record completed or no_show.")
        if row.status not in OUTCOMES | {AppointmentStatus.BOOKED.value}:
            raise InvalidTransition("A cancelled appointment has no outcome.")
        if clock.now() < row.start_at:
            raise InvalidTransition("An outcome is recorded once the visit has started.")
        if not await self.repository.set_outcome(row.id, outcome):
            raise InvalidTransition("This appointment changed meanwhile; reload it.")
        await self._record(
            AuditAction.APPOINTMENT_OUTCOME,
            actor=principal.actor,
            subject_id=row.patient_id,
            object_type="appointment",
            object_id=row.id,
            details={"outcome": outcome},
        )
        return self._view_for(principal, await self._reread(row.id))
