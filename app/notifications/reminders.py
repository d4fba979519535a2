"""Reminders: one per appointment, offset (``ERDV_REMINDER_HOURS``) and channel, never twice.

**Planning** is a periodic job (``app.jobs``), so one process runs it at a time (``app.core.jobs``
claims each run). Each run stages the reminders that came due since the last run ended (less a
margin, for bookings that committed late), so a reminder due while every server was down goes out
at the next run, as long as the appointment is still ahead. Each is staged under a once-only key,
``reminder:<channel>:<hours>:<appointment>:<sequence>``: a second run, or another process, finds
the key taken and stages nothing (a unique index, ``app.outbox``).

**Consent** (charter C8): the mail goes only to a patient who granted ``reminders-email`` at its
current version, the SMS only to one who granted ``reminders-sms`` and has a phone number. Both
are checked when the reminder is staged and again when it is written, just before delivery: a
withdrawal, a cancellation or a move in between drops it (a move plans new reminders: the key
carries the appointment's sequence).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.mails import language_of
from app.booking.models import AppointmentStatus
from app.booking.views import zone_named
from app.charter.model import PurposeId
from app.charter.registry import default_charter
from app.core import clock
from app.core.jobs import last_finished
from app.core.mail import MailQueue
from app.core.messages import Sms
from app.core.settings import Settings
from app.notifications.messages import spoken_time, write_mail, write_sms
from app.notifications.notices import place_of
from app.notifications.repository import NotificationRepository
from app.outbox.models import Channel
from app.outbox.service import Renderer, Stager
from app.schedule.timegrid import in_zone

JOB_NAME = "reminders"
#: the outbox kind of a planned reminder (its renderer writes the mail or SMS)
REMINDER_KIND = "reminder"
#: how far back each run looks before the last run's end: a booking that committed after that run
#: read the appointments, with a time it set before, is still caught
MARGIN = timedelta(minutes=10)

_PURPOSES = {Channel.MAIL: PurposeId.REMINDERS_EMAIL, Channel.SMS: PurposeId.REMINDERS_SMS}


def reminder_key(channel: Channel, hours: int, appointment_id: uuid.UUID, sequence: int) -> str:
    return f"reminder:{channel.value}:{hours}:{appointment_id}:{sequence}"


async def plan_reminders(session: AsyncSession, settings: Settings) -> str:
    """Stage every reminder due since the last run (the job; see the module docstring)."""
    now = clock.now()
    longest = timedelta(hours=max(settings.reminder_hours))
    previous = await last_finished(session, JOB_NAME)
    # first run: whatever is due and still ahead
    since = now - longest if previous is None else min(previous - MARGIN, now)
    repository = NotificationRepository(session)
    charter = default_charter()
    queue = MailQueue(lambda: session, Stager(settings))
    planned = 0
    for hours in settings.reminder_hours:
        offset = timedelta(hours=hours)
        for channel, purpose_id in _PURPOSES.items():
            version = charter.purpose(purpose_id).version
            due = await repository.due_reminders(since, now, offset, purpose_id.value, version)
            keys = {reminder_key(channel, hours, row.id, row.sequence): row for row in due}
            for key in keys.keys() - await repository.staged_keys(list(keys)):
                row = keys[key]
                data = {
                    "appointment_id": str(row.id),
                    "sequence": row.sequence,
                    "channel": channel.value,
                    "hours": hours,
                }
                queue.prepare(REMINDER_KIND, data, dedupe_key=key)
                planned += 1
    return f"planned {planned} reminders"


def reminder_renderer(settings: Settings) -> Renderer:
    base = settings.public_url.rstrip("/")

    async def render(session: AsyncSession, queue: MailQueue, data: dict[str, Any]) -> None:
        repository = NotificationRepository(session)
        appointment = await repository.appointment(uuid.UUID(data["appointment_id"]))
        now = clock.now()
        if (
            appointment is None
            or appointment.status != AppointmentStatus.BOOKED.value
            or appointment.sequence != int(data["sequence"])
            or appointment.start_at <= now
        ):
            return  # cancelled, moved (its new time has reminders of its own) or past
        channel = Channel(data["channel"])
        purpose = default_charter().purpose(_PURPOSES[channel])
        if not await repository.granted(appointment.patient_id, purpose.id.value, purpose.version):
            return  # consent withdrawn since the reminder was planned
        parties = await repository.parties(
            appointment.practitioner_id, appointment.patient_id, uuid.UUID(data["appointment_id"])
        )
        if parties is None:
            return
        language = language_of(parties.patient_language)
        start: datetime = in_zone(appointment.start_at, zone_named(parties.timezone))
        facts = {
            "practitioner": parties.display_name,
            "when": spoken_time(start, language),
            "link": f"{base}/account",
        }
        if channel is Channel.SMS:
            if parties.patient_phone:
                queue.queue(
                    Sms(
                        to=parties.patient_phone,
                        body=write_sms("reminder", language, **facts),
                        recipient_id=str(parties.patient_id),
                        topic="reminder",
                    )
                )
            return
        written = write_mail("reminder", language, place=place_of(parties), **facts)
        queue.queue(written.to(parties.patient_email, parties.patient_id, "reminder"))

    return render
