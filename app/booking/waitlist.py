"""The patient's side of the waiting list (API "Sites, date overrides and waiting list", issue #26).

A patient asks for an earlier slot with a practitioner: ``POST /practitioners/{id}/waitlist
{visit_reason_id, before}``. The request waits in order of arrival; when a matching slot frees up it
is offered and held for them (``app.booking.holds``), and ``POST /waitlist/{id}/claim`` books it,
through the same booking path as any patient (cells, idempotency of the slot, notices, audit). The
request then ends, as it does when the patient books that practitioner in any other way, leaves
(``DELETE /me/waitlist/{id}``), or its date passes.

The visit reason is sealed like an appointment's (C7) and never shown to anyone but the patient;
the list is the patient's own: nobody else, the practice included, reads who waits.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.accounts.principal import Principal
from app.audit.models import AuditAction
from app.booking.appointments import AppointmentService
from app.booking.errors import (
    AlreadyWaiting,
    InvalidQuery,
    NoOffer,
    WaitlistEntryNotFound,
)
from app.booking.holds import Holds, waitlist_aad
from app.booking.models import WaitlistStatus
from app.booking.rows import WaitlistRow
from app.booking.views import Booked, caller_key, zone_named
from app.charter.model import Gate
from app.consent.service import require
from app.core import clock
from app.schedule.timegrid import in_zone

#: requests a patient may have at once, across practitioners
MAX_ENTRIES = 10


@dataclass(frozen=True)
class Offer:
    start: datetime
    end: datetime
    site_id: uuid.UUID | None
    hold_until: datetime


@dataclass(frozen=True)
class EntryView:
    id: uuid.UUID
    practitioner_id: uuid.UUID
    practitioner_name: str
    #: the practice's zone: the times are given in it, and shown there
    timezone: str
    visit_reason_id: uuid.UUID | None
    before: datetime
    status: str
    created_at: datetime
    offer: Offer | None


class WaitlistService(AppointmentService):
    """Join, list, leave and claim (see the module docstring)."""

    @property
    def holds(self) -> Holds:
        return Holds(self.session, self.settings, self.audit, self.throttle, self.mail)

    async def join(
        self,
        principal: Principal,
        practitioner_id: uuid.UUID,
        visit_reason_id: uuid.UUID,
        before: datetime,
    ) -> EntryView:
        await require(self.session, principal.account_id, Gate.BOOKING)
        offer, _duration = await self._offer_to(principal, practitioner_id, visit_reason_id)
        now = clock.now()
        if before <= now + timedelta(minutes=offer.min_notice_minutes):
            raise InvalidQuery(
                "'before' must leave time for a slot: a later date.",
                errors=[{"field": "before", "message": "too soon"}],
            )
        if before > now + timedelta(days=offer.max_horizon_days):
            raise InvalidQuery(
                f"This practitioner books at most {offer.max_horizon_days} days ahead.",
                errors=[{"field": "before", "message": "beyond the booking horizon"}],
            )
        # a request a booking ended gives way to this one at once (one per practitioner)
        await self.repository.drop_ended(principal.account_id, practitioner_id)
        if await self.repository.count_entries(principal.account_id) >= MAX_ENTRIES:
            raise InvalidQuery(
                f"At most {MAX_ENTRIES} waiting-list requests at once.",
                errors=[{"field": "body", "message": f"at most {MAX_ENTRIES} requests"}],
            )
        entry_id = uuid.uuid4()
        sealed = self.cipher.encrypt(
            json.dumps({"id": str(visit_reason_id)}), associated_data=waitlist_aad(entry_id)
        )
        added = await self.repository.add_entry(
            {
                "id": entry_id,
                "patient_id": principal.account_id,
                "practitioner_id": practitioner_id,
                "visit_reason_ct": sealed,
                "before_at": before,
                "status": WaitlistStatus.WAITING.value,
                "created_at": now,
            }
        )
        if not added:
            raise AlreadyWaiting(
                "You already wait for an earlier slot here; leave that request to ask another."
            )
        await self._record(
            AuditAction.WAITLIST_JOINED,
            actor=principal.actor,
            subject_id=principal.account_id,
            object_type="waitlist_entry",
            object_id=entry_id,
        )
        return await self.one(principal, entry_id)

    async def mine(self, principal: Principal) -> list[EntryView]:
        rows = await self.repository.entries_of(principal.account_id)
        return [self._view_of(row) for row in rows]

    async def one(self, principal: Principal, entry_id: uuid.UUID) -> EntryView:
        for view in await self.mine(principal):
            if view.id == entry_id:
                return view
        raise WaitlistEntryNotFound()

    def _view_of(self, row: WaitlistRow) -> EntryView:
        tz = zone_named(row.timezone)
        reason = self.holds.reason_of(row)
        offer = None
        if (
            row.offer_id is not None
            and row.offer_start is not None
            and row.offer_end is not None
            and row.hold_until is not None
            and row.hold_until > clock.now()
        ):
            offer = Offer(
                in_zone(row.offer_start, tz),
                in_zone(row.offer_end, tz),
                row.offer_site_id,
                row.hold_until,
            )
        return EntryView(
            id=row.id,
            practitioner_id=row.practitioner_id,
            practitioner_name=row.display_name,
            timezone=row.timezone,
            visit_reason_id=uuid.UUID(reason) if reason else None,
            before=in_zone(row.before_at, tz),
            status=WaitlistStatus.OFFERED.value if offer else WaitlistStatus.WAITING.value,
            created_at=row.created_at,
            offer=offer,
        )

    async def leave(self, principal: Principal, entry_id: uuid.UUID) -> None:
        found = await self.repository.offer_of(entry_id, principal.account_id)
        if found is None:
            raise WaitlistEntryNotFound()
        await self.holds.end_entries(principal.account_id, found.practitioner_id, [entry_id])
        await self._record(
            AuditAction.WAITLIST_LEFT,
            actor=principal.actor,
            subject_id=principal.account_id,
            object_type="waitlist_entry",
            object_id=entry_id,
        )

    async def claim(
        self, principal: Principal, entry_id: uuid.UUID, idempotency_key: str | None
    ) -> Booked:
        """Book the slot held for the request: 409 ``offer_unavailable`` if none is held now.
        The booking is any patient's (``AppointmentService.book``), the request's own hold left
        out of the busy time; the request then ends."""
        # the key is the claim's: bound to the request, so that a retry after the request ended
        # (it ends with the booking) finds the first answer
        key = f"waitlist:{entry_id}:{idempotency_key}" if idempotency_key is not None else None
        found = await self.repository.offer_of(entry_id, principal.account_id)
        if found is None:
            replay = await self._replay_claim(principal, key)
            if replay is not None:
                return replay
            raise WaitlistEntryNotFound()
        if found.offer_id is None or found.hold_until <= clock.now():
            raise NoOffer("No slot is held for this request now; it stays on the list.")
        reason = self.holds.reason_of(found)
        if reason is None:
            raise NoOffer("This request can no longer be served; ask again.")
        booked = await self.book(
            principal,
            practitioner_id=found.practitioner_id,
            visit_reason_id=uuid.UUID(reason),
            start=found.start_at,
            idempotency_key=key,
            held_by=found.offer_id,
        )
        await self.repository.end_entries(principal.account_id, found.practitioner_id, [entry_id])
        await self._record(
            AuditAction.WAITLIST_CLAIMED,
            actor=principal.actor,
            subject_id=principal.account_id,
            object_type="waitlist_entry",
            object_id=entry_id,
            details={"appointment_id": str(booked.body["id"])},
        )
        return booked

    async def _replay_claim(self, principal: Principal, key: str | None) -> Booked | None:
        """The first answer to a claim sent again with its key, once its request has ended."""
        if key is None:
            return None
        scoped = caller_key(principal, key)
        stored = await self.repository.replayed(principal.account_id, scoped)
        if stored is None:
            return None
        return await self._replay(principal, scoped, stored.request_hash)
