"""The practitioner's side: the agenda over a window, and the reversibility export (charter C12)."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime, timedelta
from typing import Any

from app.accounts.principal import Principal
from app.audit.models import AuditAction
from app.booking.base import BookingBase
from app.booking.errors import (
    PractitionerNotFound,
    query_window,
)
from app.booking.views import FHIR_STATUS, AppointmentView, zone_named
from app.core import clock
from app.schedule.timegrid import in_zone


class AgendaService(BookingBase):
    """The practitioner's agenda and the reversibility export (charter C12)."""

    async def agenda(
        self,
        principal: Principal,
        start: datetime | None,
        end: datetime | None,
        practice_id: uuid.UUID | None = None,
    ) -> list[AppointmentView]:
        """A practice's appointments (the practitioner's own, or ``practice_id``'s for a caller
        the desk let in: ``app.booking.desk``) with patients' names and phones; each patient whose
        data is read gets an ``agenda.read`` entry in their access log (C9), naming the reader
        (a secretary shows as one)."""
        practice_id = practice_id or principal.account_id
        now = clock.now()
        start = start or now.replace(hour=0, minute=0, second=0, microsecond=0)
        end = end or start + timedelta(days=7)
        query_window(start, end)
        rows = await self.repository.agenda(practice_id, start, end, limit=1000)
        views = []
        seen: set[uuid.UUID] = set()
        for row in rows:
            if row.patient_id is not None and row.patient_id not in seen:
                seen.add(row.patient_id)
                await self._record(
                    AuditAction.AGENDA_READ,
                    actor=principal.actor,
                    subject_id=row.patient_id,
                    object_type="agenda",
                    object_id=practice_id,
                )
            views.append(
                dataclasses.replace(
                    self._view_for(principal, row),
                    patient_name=row.full_name,
                    patient_phone=row.phone,
                    patient_email=row.contact_email,
                    no_shows=int(row.no_shows or 0),
                )
            )
        return views

    async def export(self, principal: Principal) -> dict[str, Any]:
        """C12 reversibility: the practitioner leaves with their agenda and their patients'
        contact details, at any time (``_bundle``)."""
        return await self._bundle(principal, principal.account_id)

    async def export_for_admin(self, admin: Principal, practice_id: uuid.UUID) -> dict[str, Any]:
        """The same export, by an admin for a practitioner who cannot take it themselves and
        asks: their practice closed less than ``ERDV_PRACTICE_CLOSING_DAYS`` ago
        (``app.booking.closing``), or their account suspended (the contract's clause 7 leaves
        them the means to export). 404 for any other practice, whose practitioner exports it."""
        if not (
            await self.repository.closed_and_kept(practice_id)
            or await self.repository.suspended_practitioner(practice_id)
        ):
            raise PractitionerNotFound()
        return await self._bundle(admin, practice_id)

    async def _bundle(self, caller: Principal, practice_id: uuid.UUID) -> dict[str, Any]:
        """The practice's agenda as a FHIR R4 ``Bundle`` (Practitioner, Patient, Appointment
        resources). A visit for a patient's relative names the relative as its Patient, with
        the account holder as the contact to reach. No visit reason (C7, C8); each patient
        whose contact details leave gets an audit entry."""
        if self.throttle is not None:
            await self.throttle.spend_export(caller.account_id)
        practice, rows = await self.repository.export_rows(practice_id)
        if practice is None:
            raise PractitionerNotFound()
        tz = zone_named(practice.timezone)
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
        holders: set[uuid.UUID] = set()
        people: dict[uuid.UUID, dict[str, Any]] = {}
        for row in rows:
            if row.patient_id is None or row.erased:  # anonymised or erased: names nobody
                continue
            holders.add(row.patient_id)
            telecom = [{"system": "email", "value": row.email}]
            if row.phone:
                telecom.insert(0, {"system": "phone", "value": row.phone})
            if row.relative_id is None:
                people.setdefault(
                    row.patient_id,
                    {
                        "resourceType": "Patient",
                        "id": str(row.patient_id),
                        "name": [{"text": row.full_name}],
                        "telecom": telecom,
                    },
                )
            else:
                # the relative's name as the agenda shows it, never their birth date (the
                # practice is not given it anywhere else); a removed relative names nobody
                holder: dict[str, Any] = {
                    "relationship": [{"text": "account holder"}],
                    "telecom": telecom,
                }
                if row.full_name:
                    holder["name"] = {"text": row.full_name}
                relative: dict[str, Any] = {
                    "resourceType": "Patient",
                    "id": str(row.relative_id),
                    "contact": [holder],
                }
                if row.relative_name:
                    relative["name"] = [{"text": row.relative_name}]
                people.setdefault(row.relative_id, relative)
        # someone the practice booked for without an account: a Patient of that visit alone
        walk_ins: dict[uuid.UUID, uuid.UUID] = {}
        for row in rows:
            if row.patient_id is None and row.contact_name:
                person_id = uuid.uuid5(uuid.NAMESPACE_URL, f"erdv:walk-in:{row.id}")
                walk_ins[row.id] = person_id
                telecom = [
                    {"system": system, "value": value}
                    for system, value in (
                        ("phone", row.contact_phone),
                        ("email", row.contact_email),
                    )
                    if value
                ]
                people[person_id] = {
                    "resourceType": "Patient",
                    "id": str(person_id),
                    "name": [{"text": row.contact_name}],
                    **({"telecom": telecom} if telecom else {}),
                }
        entries.extend(
            {"fullUrl": f"urn:uuid:{person_id}", "resource": resource}
            for person_id, resource in people.items()
        )
        for row in rows:
            named = row.patient_id is not None and not row.erased
            person = (row.relative_id or row.patient_id) if named else walk_ins.get(row.id)
            entries.append(
                {
                    "fullUrl": f"urn:uuid:{row.id}",
                    "resource": {
                        "resourceType": "Appointment",
                        "id": str(row.id),
                        "status": FHIR_STATUS[row.status],
                        "start": in_zone(row.start_at, tz).isoformat(),
                        "end": in_zone(row.end_at, tz).isoformat(),
                        "created": row.created_at.isoformat(),
                        "participant": [
                            {"actor": {"reference": practitioner_ref}, "status": "accepted"},
                            *(
                                [
                                    {
                                        "actor": {"reference": f"Patient/{person}"},
                                        "status": "accepted",
                                    }
                                ]
                                if named or person is not None
                                else []
                            ),
                        ],
                    },
                }
            )
        await self._record(
            AuditAction.PRACTICE_EXPORTED,
            actor=caller.actor,
            object_type="practice",
            object_id=practice.id,
            details={"patients": len(people), "appointments": len(rows)},
        )
        for patient_id in holders:
            await self._record(
                AuditAction.PRACTICE_EXPORTED,
                actor=caller.actor,
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
