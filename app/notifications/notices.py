"""The messages of a change to an appointment (``app.booking.notices``), written after the commit.

The patient is told of every booking, move and cancellation, whoever made it, with an iCalendar
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
from app.booking.ics import CalendarEntry, Method, appointment_ics
from app.booking.notices import Change
from app.booking.views import zone_named
from app.core import clock
from app.core.mail import MailQueue
from app.core.messages import Attachment, Mail
from app.core.settings import Settings
from app.notifications.messages import spoken_time, write_mail
from app.notifications.repository import NotificationRepository, Practice
from app.outbox.service import Renderer
from app.schedule.timegrid import in_zone


def place_of(practice: Practice) -> str:
    return ", ".join(part for part in (practice.address, practice.city) if part)


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


def notice_renderer(settings: Settings) -> Renderer:
    base = settings.public_url.rstrip("/")

    async def render(session: AsyncSession, queue: MailQueue, data: dict[str, Any]) -> None:
        repository = NotificationRepository(session)
        change = Change(data["change"])
        appointment_id = uuid.UUID(data["appointment_id"])
        practice = await repository.practice(uuid.UUID(data["practitioner_id"]))
        patient = await repository.person(uuid.UUID(data["patient_id"]))
        if practice is None or patient is None:  # an account gone since: nobody to tell
            return
        zone = zone_named(practice.timezone)
        start = in_zone(datetime.fromisoformat(data["start"]), zone)
        end = in_zone(datetime.fromisoformat(data["end"]), zone)
        sequence, by = int(data["sequence"]), str(data["by"])
        method = Method.CANCEL if change is Change.CANCELLED else Method.REQUEST

        language = language_of(patient.language)
        written = write_mail(
            f"appointment-{change.value}",
            language,
            practitioner=practice.display_name,
            when=spoken_time(start, language),
            place=place_of(practice),
            link=f"{base}/account",
            by=by,
        )
        queue.queue(
            Mail(
                to=patient.email,
                subject=written.subject,
                body=written.text,
                html=written.html,
                attachments=(
                    invitation(
                        appointment_id,
                        start,
                        end,
                        sequence,
                        f"Rendez-vous : {practice.display_name}",
                        practice,
                        method,
                    ),
                ),
                recipient_id=str(patient.id),
                topic=f"appointment-{change.value}",
            )
        )

        if by == "practitioner" or not practice.new_booking_mail:
            return
        practitioner = await repository.person(uuid.UUID(data["practitioner_id"]))
        if practitioner is None:
            return
        pro_language = language_of(practitioner.language)
        written = write_mail(
            f"practice-{change.value}",
            pro_language,
            patient=patient.full_name,
            when=spoken_time(start, pro_language),
            link=f"{base}/pro/agenda",
            by=by,
        )
        queue.queue(
            Mail(
                to=practitioner.email,
                subject=written.subject,
                body=written.text,
                html=written.html,
                attachments=(
                    invitation(
                        appointment_id,
                        start,
                        end,
                        sequence,
                        f"Rendez-vous : {patient.full_name}",
                        practice,
                        method,
                    ),
                ),
                recipient_id=str(practitioner.id),
                topic=f"practice-{change.value}",
            )
        )

    return render
