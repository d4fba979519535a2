"""A real SMTP server (aiosmtpd) on a free port, for tests of what erdv mails.

Every message it accepts is parsed with the standard ``email`` package and kept; it is also written
as an ``.eml`` file where the file backend would have put it, so the helpers that read a sign-up's
link from the outbox (``tests/factories.py``) work the same over SMTP.
"""

from __future__ import annotations

import email
import email.policy
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import icalendar
from aiosmtpd.controller import Controller

from tests.helpers.cli import free_port


class SmtpSink:
    def __init__(self, outbox_dir: Path) -> None:
        self.outbox_dir = outbox_dir
        self.messages: list[EmailMessage] = []
        self.envelopes: list[list[str]] = []
        self._lock = threading.Lock()
        self.port = free_port()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        with self._lock:
            self.messages.append(parsed)
            self.envelopes.append(list(envelope.rcpt_tos))
            self.outbox_dir.mkdir(parents=True, exist_ok=True)
            path = self.outbox_dir / f"{len(self.messages):06d}-{os.urandom(3).hex()}.eml"
            path.write_bytes(envelope.content)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if m["To"] == address]


@contextmanager
def smtp_sink(outbox_dir: Path) -> Iterator[SmtpSink]:
    sink = SmtpSink(outbox_dir)
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


# the appointment mails' invitations (docs/api.md "Notifications")


def about_appointments(smtp: SmtpSink, address: str) -> list[EmailMessage]:
    """The mails to ``address`` that carry an invitation (not the sign-up's, for instance)."""
    return [
        m
        for m in smtp.to(address)
        if any(p.get_content_type() == "text/calendar" for p in m.iter_attachments())
    ]


def calendar_of(message: EmailMessage) -> icalendar.Calendar:
    parts = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1, [p.get_content_type() for p in message.iter_attachments()]
    calendar = icalendar.Calendar.from_ical(parts[0].get_content())
    assert calendar["METHOD"] == parts[0].get_param("method")
    return calendar


def event_of(message: EmailMessage) -> icalendar.Event:
    (event,) = calendar_of(message).walk("VEVENT")
    assert isinstance(event, icalendar.Event), event
    return event
