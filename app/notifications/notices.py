"""The messages of a change to an appointment (``app.booking.notices``), written after the commit.

Written in the change's own transaction, just before it commits (``app.booking.notices``). The
patient is told of every booking, move and cancellation, whoever made it, with an iCalendar
``REQUEST`` (booked, moved) or ``CANCEL`` carrying the appointment's ``UID`` and ``SEQUENCE``. The
practitioner is told of those the patient or an application made, unless they turned it off
(``new_booking_mail``); never of their own. Each message is in its reader's language.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.mails import language_of
from app.booking.ics import CalendarEntry, Method, appointment_ics, summary_of
from app.booking.notices import Change
from app.booking.views import zone_named
from app.core import clock
from app.core.mail import MailQueue
from app.core.messages import Attachment
from app.core.settings import Settings
from app.notifications.messages import spoken_time, write_mail
from app.notifications.repository import NotificationRepository, Practice
from app.outbox.service import Renderer
from app.practice.places import place_line
from app.schedule.timegrid import in_zone


def place_of(practice: Practice) -> str:
    return place_line(practice.address, practice.city)


def invitation(
    appointment_id: uuid.UUID,
    start: datetime,
    end: datetime,
    sequence: int,
    summary: str,
    practice: Practice,
    method: Method,
) -> Attachment:
    entry = CalendarEntry(
        appointment_id=appointment_id,
        start=start,
        end=end,
        sequence=sequence,
        cancelled=method is Method.CANCEL,
        summary=summary,
        address=practice.address,
        city=practice.city,
    )
    return Attachment(
        filename="invite.ics" if method is not Method.CANCEL else "cancel.ics",
        content_type=f"text/calendar; method={method.value}; charset=utf-8",
        content=appointment_ics(entry, clock.now(), method),
    )


async def _tell_contact(
    session: AsyncSession,
    queue: MailQueue,
    data: dict[str, Any],
    change: Change,
    appointment_id: uuid.UUID,
    base: str,
) -> None:
    """Someone the practice booked for without an account, at the address they gave: the same
    notice as a patient's, in French (the practice's language; no account says otherwise), with
    the practice's public page instead of an account link."""
    practice = await NotificationRepository(session).practice(
        uuid.UUID(data["practitioner_id"]), appointment_id
    )
    if practice is None or not data.get("contact_email"):
        return
    zone = zone_named(practice.timezone)
    start = in_zone(datetime.fromisoformat(data["start"]), zone)
    end = in_zone(datetime.fromisoformat(data["end"]), zone)
    method = Method.CANCEL if change is Change.CANCELLED else Method.REQUEST
    written = write_mail(
        f"appointment-{change.value}",
        "fr",
        practitioner=practice.display_name,
        when=spoken_time(start, "fr"),
        place=place_of(practice),
        link=f"{base}/practitioners/{data['practitioner_id']}",
        by=str(data["by"]),
        relative="",
        reason=data.get("cancel_reason") or "",
    )
    summary = summary_of(practice.display_name, "fr")
    ics = invitation(appointment_id, start, end, int(data["sequence"]), summary, practice, method)
    queue.queue(written.to(data["contact_email"], None, f"appointment-{change.value}", (ics,)))


def notice_renderer(settings: Settings) -> Renderer:
    base = settings.public_url.rstrip("/")

    async def render(session: AsyncSession, queue: MailQueue, data: dict[str, Any]) -> None:
        change = Change(data["change"])
        appointment_id = uuid.UUID(data["appointment_id"])
        if data["patient_id"] is None:
            await _tell_contact(session, queue, data, change, appointment_id, base)
            return
        parties = await NotificationRepository(session).parties(
            uuid.UUID(data["practitioner_id"]), uuid.UUID(data["patient_id"]), appointment_id
        )
        if parties is None:  # an account gone: nobody to tell
            return
        zone = zone_named(parties.timezone)
        start = in_zone(datetime.fromisoformat(data["start"]), zone)
        end = in_zone(datetime.fromisoformat(data["end"]), zone)
        sequence, by = int(data["sequence"]), str(data["by"])
        method = Method.CANCEL if change is Change.CANCELLED else Method.REQUEST

        def calendar(summary: str) -> tuple[Attachment, ...]:
            return (invitation(appointment_id, start, end, sequence, summary, parties, method),)

        language = language_of(parties.patient_language)
        written = write_mail(
            f"appointment-{change.value}",
            language,
            practitioner=parties.display_name,
            when=spoken_time(start, language),
            place=place_of(parties),
            link=f"{base}/account",
            by=by,
            # whose visit it is, when the patient booked for a relative
            relative=data.get("relative_name") or "",
            reason=data.get("cancel_reason") or "",
        )
        queue.queue(
            written.to(
                parties.patient_email,
                parties.patient_id,
                f"appointment-{change.value}",
                calendar(summary_of(parties.display_name, language)),
            )
        )
        if by == "practitioner" or not parties.new_booking_mail:
            return
        pro_language = language_of(parties.practitioner_language)
        written = write_mail(
            f"practice-{change.value}",
            pro_language,
            # a relative's visit is known to the practice by the relative's name
            patient=data.get("relative_name") or parties.patient_name,
            when=spoken_time(start, pro_language),
            link=f"{base}/pro/agenda",
            by=by,
        )
        queue.queue(
            written.to(
                parties.practitioner_email,
                parties.practitioner_id,
                f"practice-{change.value}",
                calendar(summary_of(parties.patient_name, pro_language)),
            )
        )

    return render
