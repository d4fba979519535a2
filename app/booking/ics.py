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

from app.practice.places import place_line


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


def summary_of(name: str | None, language: str) -> str:
    """The event's title in its reader's language (docs/api.md "Notifications": every message,
    calendar files included, in the account's language): whom the visit is with, never why (C7)."""
    if language == "en":
        return f"Appointment: {name}" if name else "Appointment"
    return f"Rendez-vous : {name}" if name else "Rendez-vous"


def _escape(text: str) -> str:
    """TEXT values (RFC 5545 3.3.11): backslash, semicolon, comma and newlines escaped."""
    return (
        text.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def _fold(line: str) -> str:
    """Lines longer than 75 octets are folded (3.1), never inside a UTF-8 sequence."""
    if len(line) <= 75 and line.isascii():
        return line
    out: list[str] = []
    current = ""
    for char in line:
        limit = 75 if not out else 74
        if len((current + char).encode("utf-8")) > limit:
            out.append(current)
            current = char
        else:
            current += char
    out.append(current)
    return "\r\n ".join(out)


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def appointment_ics(entry: CalendarEntry, now: datetime, method: Method = Method.PUBLISH) -> str:
    """Written directly: a booking's notices carry two of these, and the icalendar package took
    longer to build one than the booking took (bench/README.md "Performance rules in the code").
    The tests read every file back with icalendar."""
    return calendar_ics([entry], now, method)


def calendar_ics(
    entries: list[CalendarEntry], now: datetime, method: Method = Method.PUBLISH
) -> str:
    """One calendar of ``entries`` (a practice's feed: ``app.booking.feed``), each event with its
    appointment's UID and SEQUENCE, so a subscribed calendar updates them in place."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//erdv//booking//FR",
        "CALSCALE:GREGORIAN",
        f"METHOD:{method.value}",
    ]
    for entry in entries:
        location = place_line(entry.address, entry.city)
        lines += [
            "BEGIN:VEVENT",
            f"UID:{entry.appointment_id}@erdv",
            f"DTSTAMP:{_utc(now)}",
            f"DTSTART:{_utc(entry.start)}",
            f"DTEND:{_utc(entry.end)}",
            f"SEQUENCE:{entry.sequence}",
            f"SUMMARY:{_escape(entry.summary)}",
            *([f"LOCATION:{_escape(location)}"] if location else []),
            "STATUS:" + ("CANCELLED" if entry.cancelled else "CONFIRMED"),
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"
