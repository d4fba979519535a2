"""The waiting list's mails (``app.booking.holds``): a freed slot offered to a patient, and the end
of a request when its practice closes.

Written after the commit that made the offer, by the outbox: nothing is sent for an offer that
rolled back. By then the hold may have been claimed, left or lapsed: the mail then says nothing at
all. It names the practitioner, the time, the site's address and how long the slot is held, never
the visit reason (C7), and links to the patient's request, where one click books it.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.mails import language_of
from app.booking.views import zone_named
from app.core import clock
from app.core.mail import MailQueue
from app.core.settings import Settings
from app.notifications.messages import spoken_time, write_mail
from app.notifications.notices import place_of
from app.notifications.repository import NotificationRepository
from app.outbox.service import Renderer
from app.practice.places import place_line
from app.schedule.timegrid import in_zone


def waitlist_renderer(settings: Settings) -> Renderer:
    base = settings.public_url.rstrip("/")

    async def render(session: AsyncSession, queue: MailQueue, data: dict[str, Any]) -> None:
        repository = NotificationRepository(session)
        offer = await repository.waitlist_offer(uuid.UUID(data["offer_id"]))
        if offer is None or not offer.pending or offer.hold_until <= clock.now():
            return  # claimed, left or lapsed meanwhile: nothing to offer any more
        parties = await repository.parties(offer.practitioner_id, offer.patient_id)
        if parties is None:
            return
        language = language_of(parties.patient_language)
        zone = zone_named(offer.timezone or parties.timezone)
        start = in_zone(offer.start_at, zone)
        written = write_mail(
            "waitlist-offer",
            language,
            practitioner=parties.display_name,
            when=spoken_time(start, language),
            until=spoken_time(in_zone(offer.hold_until, zone), language),
            place=place_line(offer.address, offer.city) or place_of(parties),
            link=f"{base}/waitlist/{offer.entry_id}",
        )
        queue.queue(written.to(parties.patient_email, parties.patient_id, "waitlist-offer"))

    return render


def waitlist_ended_renderer(settings: Settings) -> Renderer:
    """The practice closed (C12): the patients who were waiting for an earlier slot are told their
    request ended, and where to look for another practitioner. Rendered at once, in the closing's
    transaction (``MailQueue.write_now``), while the practice's name can still be read."""
    base = settings.public_url.rstrip("/")

    async def render(session: AsyncSession, queue: MailQueue, data: dict[str, Any]) -> None:
        repository = NotificationRepository(session)
        parties = await repository.parties(
            uuid.UUID(data["practitioner_id"]), uuid.UUID(data["patient_id"])
        )
        if parties is None:
            return
        written = write_mail(
            "waitlist-ended",
            language_of(parties.patient_language),
            practitioner=parties.display_name,
            link=f"{base}/",
        )
        queue.queue(written.to(parties.patient_email, parties.patient_id, "waitlist-ended"))

    return render
