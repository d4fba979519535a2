"""Outgoing mail: a ``file`` backend (dev outbox of ``.eml`` files) and an ``smtp`` backend.

- ``file`` writes each message as an RFC 5322 ``.eml`` under ``<data dir>/outbox/``, atomically (a
  temporary file renamed into place), so a reader never sees half a message (API.md, dev outbox).
- ``smtp`` uses the standard library's ``smtplib`` in a worker thread (it blocks), with STARTTLS and
  authentication per settings.

Requests do not send mail themselves: they queue it on ``Mail`` (a request dependency) and the queue is
delivered **after** the response has been sent, and only if the request succeeded. So a mail never
announces a change that rolled back, and its latency (an SMTP round trip) cannot tell a caller whether
an address is registered (register and forgot-password answer alike, SECURITY.md "Passwords").

Mails carry links built from ``ERDV_PUBLIC_URL`` and never a visit reason, a password or a code.
"""

from __future__ import annotations

import asyncio
import logging
import os
import smtplib
import ssl
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Annotated, Protocol

from fastapi import Depends, Request

from app.core import clock
from app.core.settings import MailBackend, Settings

logger = logging.getLogger("erdv.mail")


@dataclass(frozen=True)
class Mail:
    """One plain-text message to one recipient."""

    to: str
    subject: str
    body: str


def build_message(mail: Mail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(clock.now())
    message["Message-ID"] = make_msgid(domain="erdv.localhost")
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(mail.body)
    return message


class Mailer(Protocol):
    async def send(self, mail: Mail) -> None: ...


class FileMailer:
    """Writes ``<outbox>/<timestamp>-<random>.eml`` files (development and tests)."""

    def __init__(self, outbox: Path, sender: str) -> None:
        self.outbox = outbox
        self.sender = sender

    async def send(self, mail: Mail) -> None:
        await asyncio.to_thread(self._write, build_message(mail, self.sender))

    def _write(self, message: EmailMessage) -> None:
        self.outbox.mkdir(parents=True, exist_ok=True)
        stamp = clock.now().strftime("%Y%m%dT%H%M%S%f")
        # written under a name that does not end in .eml, then renamed: whoever reads "*.eml"
        # (a person, a test, a mail viewer) never meets a half-written or vanishing file
        fd, tmp = tempfile.mkstemp(dir=self.outbox, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(message.as_bytes())
                handle.flush()
                os.fsync(handle.fileno())
            final = self.outbox / f"{stamp}-{os.urandom(4).hex()}.eml"
            os.replace(tmp, final)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


class SmtpMailer:
    """Sends through an SMTP relay (``ERDV_SMTP_*``); ``smtplib`` blocks, so it runs in a thread."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send(self, mail: Mail) -> None:
        await asyncio.to_thread(self._send, build_message(mail, self.settings.mail_from))

    def _send(self, message: EmailMessage) -> None:
        s = self.settings
        with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_seconds) as smtp:
            smtp.ehlo()
            if s.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if s.smtp_username:
                password = s.smtp_password.get_secret_value() if s.smtp_password else ""
                smtp.login(s.smtp_username, password)
            smtp.send_message(message)


def build_mailer(settings: Settings) -> Mailer:
    if settings.mail_backend is MailBackend.SMTP:
        return SmtpMailer(settings)
    return FileMailer(settings.outbox_dir, settings.mail_from)


class MailQueue:
    """Mail queued during a request, delivered after the response if the request succeeded."""

    def __init__(self, mailer: Mailer) -> None:
        self.mailer = mailer
        self.pending: list[Mail] = []

    def queue(self, mail: Mail) -> None:
        self.pending.append(mail)

    async def deliver(self) -> None:
        pending, self.pending = self.pending, []
        for mail in pending:
            try:
                await self.mailer.send(mail)
            except (
                Exception
            ) as error:  # a failed mail must not turn a committed success into an error
                # the type only: SMTP errors carry recipient addresses (personal data)
                logger.error(
                    "mail delivery failed",
                    extra={"subject": mail.subject, "error": type(error).__name__},
                )


async def _request_mail(request: Request) -> AsyncIterator[MailQueue]:
    """Request scope: the code after ``yield`` runs once the response has been sent."""
    queue = MailQueue(request.app.state.mailer)
    try:
        yield queue
    except BaseException:
        queue.pending.clear()  # the request failed: what it meant to announce did not happen
        raise
    await queue.deliver()


OutgoingMail = Annotated[MailQueue, Depends(_request_mail, scope="request")]
