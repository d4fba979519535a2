"""The waiting list's offers: a freed slot goes to the first patient waiting for it, held for them.

**When.** Time frees up when a visit is cancelled or moved (its old time), an absence is removed or
a date override opens hours (the practice domain's ``hours_widened``). In the transaction of that
change, ``offer_freed`` looks for the entries of that practitioner's waiting list in order of
request (``created_at``, then id) and offers each, in turn, the earliest free slot of its visit
reason that overlaps the freed time and starts before the entry's date, as a patient booking online
would see it (notice, horizon, the practice's hours). A freed afternoon can serve several entries,
one slot each; an entry holds at most one offer at a time, and is never offered the same time twice.

**The hold.** An offer holds its slot until ``hold_until`` (``ERDV_WAITLIST_HOLD_MINUTES``): the
slot lists and every booking count it as busy time (``statements._busy``), so the patient it was
offered to can claim it (``app.booking.waitlist``) without a race they could lose to a faster
stranger. The booking cells still have the last word: exactly one appointment, whatever the timing.
Once the hold ends the slot is free for anyone again at once; the ``waitlist-offers`` job then
offers it to the next entry (``lapse_offers``).

**Ending.** An entry ends when its patient books that practitioner, by any channel (``booked``),
leaves the list, or its date passes; a pending offer it held goes back to the list at once.

Every offer, claim and lapse is audited with the patient as subject (C9: they see it in their
access log); the offer is mailed to the patient (``app.notifications.waitlist``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditAction
from app.audit.service import Actor, AuditTrail
from app.booking.availability import free_in
from app.booking.base import BookingBase
from app.booking.errors import InvalidQuery
from app.booking.statements import LONGEST_VISIT
from app.core import clock
from app.core.crypto import DecryptionError
from app.core.mail import MailQueue
from app.core.settings import Settings
from app.outbox.service import Stager
from app.practice.hooks import HoursWidened
from app.schedule.model import MAX_WINDOW, Window
from app.schedule.timegrid import CELL

#: the outbox kind of an offer's mail (its renderer: ``app.notifications.waitlist``)
WAITLIST_OFFER = "waitlist-offer"
#: the mail telling a waiting patient that the practice closed, and their request with it
WAITLIST_ENDED = "waitlist-ended"
JOB_NAME = "waitlist-offers"
#: offers made for one freed stretch at most (a removed week-long absence is many slots; the
#: rest is offered as those lapse or as later changes free more)
MAX_OFFERS = 20


def waitlist_aad(entry_id: uuid.UUID) -> str:
    return f"waitlist:{entry_id}:visit_reason"


class Sealed(Protocol):
    """An entry's id and the visit reason sealed with it."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def visit_reason_ct(self) -> str: ...


class Holds(BookingBase):
    """Offers, holds and the end of entries (see the module docstring)."""

    def reason_of(self, entry: Sealed) -> str | None:
        """The entry's visit reason id, or None if it cannot be read (key rotated away)."""
        try:
            return str(
                json.loads(
                    self.cipher.decrypt(
                        entry.visit_reason_ct, associated_data=waitlist_aad(entry.id)
                    )
                )["id"]
            )
        except (DecryptionError, KeyError, ValueError):
            return None

    async def offer_freed(self, practitioner_id: uuid.UUID, start: datetime, end: datetime) -> int:
        """Offer what ``[start, end)`` freed to the waiting entries, in order; how many offers."""
        now = clock.now()
        start = max(start, now)
        # the engine's window reaches a visit back; with it, at most ``MAX_WINDOW`` (the rest of a
        # longer stretch is offered as these offers lapse, or as later changes free it)
        end = min(end, start + MAX_WINDOW - LONGEST_VISIT, now + timedelta(days=366))
        if start >= end:
            return 0
        entries = await self.repository.waiting(practitioner_id, now)
        if not entries:
            return 0
        # slots overlapping the freed time start at most one visit before it
        window = Window(start - LONGEST_VISIT + CELL, end)
        inputs = await self.repository.slot_inputs(
            practitioner_id, window.start, window.end + LONGEST_VISIT
        )
        if inputs is None:  # not listed (suspended, closed): nothing to offer
            return 0
        busy = list(inputs.busy)
        made = 0
        for entry in entries:
            reason = self.reason_of(entry)
            if reason is None or reason not in inputs.durations:
                continue
            try:
                free = free_in(
                    inputs.practice, {reason: inputs.durations[reason]}, busy, window, now, reason
                )
            except InvalidQuery:  # hours the engine cannot lay: nothing to offer, the change stands
                continue
            offered = await self.repository.offered_starts(entry.id)
            slot = next(
                (
                    s
                    for s in free.as_slots()
                    if s.end > start
                    and s.start < end
                    and s.start < entry.before_at
                    and s.start not in offered
                ),
                None,
            )
            if slot is None:
                continue
            offer_id = uuid.uuid4()
            hold = timedelta(minutes=self.settings.waitlist_hold_minutes)
            await self.repository.add_offer(
                {
                    "id": offer_id,
                    "entry_id": entry.id,
                    "practitioner_id": practitioner_id,
                    "start_at": slot.start,
                    "end_at": slot.end,
                    "site_id": uuid.UUID(slot.site_id) if slot.site_id else None,
                    "hold_until": now + hold,
                    "pending": True,
                    "created_at": now,
                }
            )
            busy.append(_Held(slot.start, slot.end))
            await self._record(
                AuditAction.WAITLIST_OFFERED,
                actor=Actor.system(),
                subject_id=entry.patient_id,
                object_type="waitlist_entry",
                object_id=entry.id,
                details={"hold_minutes": self.settings.waitlist_hold_minutes},
            )
            if self.mail is not None:  # written after the commit, once the hold exists
                self.mail.prepare(WAITLIST_OFFER, {"offer_id": str(offer_id)})
            made += 1
            if made >= MAX_OFFERS:
                break
        return made

    async def lapse_offers(self) -> int:
        """Offers whose hold ended unclaimed lapse; their entries wait again, and each slot goes
        to the next entry in order (the job)."""
        now = clock.now()
        lapsed = await self.repository.lapse_offers(now)
        for offer in lapsed:
            await self._record(
                AuditAction.WAITLIST_OFFER_LAPSED,
                actor=Actor.system(),
                subject_id=offer.patient_id,
                object_type="waitlist_entry",
                object_id=offer.entry_id,
            )
        for offer in lapsed:
            await self.offer_freed(offer.practitioner_id, offer.start_at, offer.end_at)
        return len(lapsed)

    async def end_stale(self) -> int:
        """Delete the requests past their date or ended by a booking; a slot one of them still
        held goes to the next entry. How many slots were held."""
        held = await self.repository.end_stale_entries(clock.now())
        for practitioner_id, start, end in held:
            await self.offer_freed(practitioner_id, start, end)
        return len(held)

    async def end_entries(
        self, patient_id: uuid.UUID, practitioner_id: uuid.UUID, entry_ids: Sequence[uuid.UUID] = ()
    ) -> int:
        """End the patient's entries with that practitioner (all, or ``entry_ids``); a slot one of
        them held goes to the next entry at once."""
        held = await self.repository.end_entries(patient_id, practitioner_id, entry_ids)
        for start, end in held:
            await self.offer_freed(practitioner_id, start, end)
        return len(held)


class _Held:
    """A hold just made, as busy time for the next entries of the same pass."""

    __slots__ = ("end_at", "start_at")

    def __init__(self, start_at: datetime, end_at: datetime) -> None:
        self.start_at = start_at
        self.end_at = end_at


async def offer_widened_hours(session: AsyncSession, event: HoursWidened) -> None:
    """The practice domain's ``hours_widened``: an absence removed, a date opened."""
    holds = Holds(session, event.settings, event.audit, None, event.mail)
    await holds.offer_freed(event.practice_id, event.start, event.end)


async def lapse_job(session: AsyncSession, settings: Settings) -> str:
    """The ``waitlist-offers`` job: lapse unclaimed offers and end the requests past their date
    or ended by a booking; each slot so released goes to the next entry in order."""
    mail = MailQueue(lambda: session, Stager(settings))
    holds = Holds(session, settings, AuditTrail.for_settings(session, settings), None, mail)
    lapsed = await holds.lapse_offers()
    ended = await holds.end_stale()
    return f"{lapsed} offers lapsed, {ended} held slots of ended requests offered again"
