"""iCalendar (RFC 5545) for one appointment: who, where and when; never the visit reason (C7).

One ``UID`` per appointment, whatever happens to it, and its ``SEQUENCE`` (``appointment.sequence``,
raised at each move and at the cancellation), so a calendar that receives an invitation, a change
and a cancellation in any order keeps the latest (RFC 5546 2.1.4). The same builder serves the
download (``METHOD:PUBLISH``) and the mails (``REQUEST`` for a booking or a move, ``CANCEL``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from icalendar import Calendar, Event


class Method(StrEnum):
    """RFC 5546 3.2: a download publishes; a mail requests (booked, moved) or cancels."""

    PUBLISH = "PUBLISH"
    REQUEST = "REQUEST"
    CANCEL = "CANCEL"


@dataclass(frozen=True)
class CalendarEntry:
    """What the file says: no reason, profession or specialty, nothing about health."""

    appointment_id: uuid.UUID
    start: datetime
    end: datetime
    sequence: int
    cancelled: bool
    summary: str
    address: str
    city: str


def appointment_ics(entry: CalendarEntry, now: datetime, method: Method = Method.PUBLISH) -> str:
    calendar = Calendar()
    calendar.add("prodid", "-//erdv//booking//FR")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method.value)
    event = Event()
    event.add("uid", f"{entry.appointment_id}@erdv")
    event.add("dtstamp", now.astimezone(UTC))
    event.add("dtstart", entry.start.astimezone(UTC))
    event.add("dtend", entry.end.astimezone(UTC))
    event.add("sequence", entry.sequence)
    event.add("summary", entry.summary)
    location = ", ".join(part for part in (entry.address, entry.city) if part)
    if location:
        event.add("location", location)
    event.add("status", "CANCELLED" if entry.cancelled else "CONFIRMED")
    calendar.add_component(event)
    ical: bytes = calendar.to_ical()
    return ical.decode("utf-8")
