"""What erdv sends: a mail, an SMS, a signed webhook to an OAuth client, or a message written after
the commit (``Deferred``), and the one failure every transport reports the same way
(``PermanentFailure``). The transports are ``app.core.mail``, ``app.core.sms`` and, injected into the
outbox by the composition root, a ``WebhookSender`` (``app.webhooks.delivery``); the outbox
(``app.outbox``) stages and delivers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Attachment:
    """A file sent with a mail: an iCalendar invitation (RFC 6047) is ``text/calendar`` with its
    ``method`` parameter."""

    filename: str
    content_type: str
    content: str


@dataclass(frozen=True)
class Mail:
    """One message to one recipient: plain text, and optionally the same text as HTML (no remote
    image, no tracker) and attachments. ``recipient_id`` and ``topic`` say whose it is and what it
    is about, for the recipient's list of notifications; neither is part of the message."""

    to: str
    subject: str
    body: str
    html: str | None = None
    attachments: tuple[Attachment, ...] = ()
    recipient_id: str | None = None
    topic: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Mail:
        """Back from ``dataclasses.asdict`` (the outbox's JSON payload)."""
        attachments = tuple(Attachment(**a) for a in data.get("attachments") or ())
        return cls(**{**data, "attachments": attachments})


@dataclass(frozen=True)
class Deferred:
    """A message whose content its kind's renderer decides once the transaction has committed.

    ``dedupe_key`` makes it once-only across every process: a second message with the same key is
    not staged (a unique index; reminders use it, one per appointment, offset and channel)."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)
    dedupe_key: str | None = None
    #: written by its renderer in the staging transaction itself, just before it commits, rather
    #: than after it (``MailQueue.write_at_commit``)
    at_commit: bool = False


@dataclass(frozen=True)
class Sms:
    """One text message to one number (E.164). ``recipient_id`` and ``topic`` say whose it is and
    what it is about, for the recipient's list of notifications; neither leaves the outbox."""

    to: str
    body: str
    recipient_id: str | None = None
    topic: str | None = None


@dataclass(frozen=True)
class Webhook:
    """One event for one endpoint of an OAuth client (docs/integrate.md "Webhooks").

    ``body`` is the JSON text exactly as it will be signed and sent, fixed when the event is
    staged, so that every retry carries the same bytes under the same ``webhook-id`` (the outbox
    row id; Standard Webhooks "Idempotency"). ``patient_id`` and ``client_id`` let the sender check,
    at each try, that the patient still authorizes the client. No ``recipient_id``: a webhook is no
    person's notification and never shows in ``GET /api/v1/me/notifications``."""

    endpoint_id: str
    client_id: str
    patient_id: str
    event: str
    body: str


Outgoing = Mail | Sms | Webhook | Deferred


class WebhookSender(Protocol):
    """Delivers one webhook (one try). The outbox knows only this shape: the sender, which reads
    the webhooks' own tables, is built above it and handed to it (``app.main``), so the outbox
    imports no domain. Raises what a failed try raises (retried), ``PermanentFailure`` (dead) or
    ``NothingToSend`` (ended without sending)."""

    async def send(self, webhook: Webhook, *, message_id: str) -> None: ...

    async def aclose(self) -> None: ...


class NothingToSend(Exception):
    """The message no longer has anyone to go to (a webhook whose endpoint was removed, or whose
    patient withdrew the client's authorization): the outbox ends it as ``done``, neither sent
    nor dead, and never tries it again. Carries a reason without personal data."""


class PermanentFailure(Exception):
    """The relay refused the message for good (an SMTP 5yz reply, RFC 5321 4.2.1): trying again
    would fail again, so the outbox marks it dead at once. Carries the reply code only (replies
    quote recipient addresses, which are personal data)."""

    def __init__(self, code: int, *, transport: str = "SMTP") -> None:
        super().__init__(f"{transport} {code}")
        self.code = code
