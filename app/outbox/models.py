"""The outbox table: one row per message to deliver, whatever its channel.

A row says *what* it is (``kind``: ``mail``, ``sms`` or ``webhook`` for a message written by the
request, or the kind of a message written later by its renderer, ``app.renderers``), *how* it
travels (``channel``: ``mail``, ``sms`` or ``webhook``), *whose* it is and what about
(``recipient_id``, ``topic``: the recipient's list of notifications; a webhook has neither, so it
is never listed there), and where its delivery
stands (``status``, ``attempts``, ``next_attempt_at``, ``last_error``). What it says is in
``payload``: JSON, encrypted (AES-GCM bound to the row id, ``app.core.crypto``) because it holds
addresses and single-use links; it is erased once the message is delivered (data minimisation), and
kept for a dead message so that it can be retried.

Statuses::

    pending ──claim──▶ sending ──delivered──▶ sent
       ▲                  │  └──nothing to send (a render found no account, a webhook whose
       │                  │     patient no longer authorizes its client)──▶ done
       └──failed, tries left (next_attempt_at = now + growing delay)
                          └──failed on the last try, or refused for good──▶ dead ──retry──▶ pending

``sending`` is a lease: ``next_attempt_at`` is when it ends. A process that crashed while a message
was its to deliver leaves it ``sending``; another process takes it over once the lease has passed
(that counts as a try).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime
from app.core.repository import table_of


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DONE = "done"
    DEAD = "dead"


class Channel(StrEnum):
    MAIL = "mail"
    SMS = "sms"
    #: a signed HTTP POST to an OAuth client's endpoint (``app.webhooks``)
    WEBHOOK = "webhook"


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox_message"
    # the worker's one query: due messages in order
    __table_args__ = (
        sa.Index("ix_outbox_message_due", "status", "next_attempt_at"),
        # a person's own notifications, newest first (GET /api/v1/me/notifications)
        sa.Index("ix_outbox_message_recipient", "recipient_id", "created_at"),
        # once-only messages (a reminder per appointment, offset and channel): the second
        # process to stage one finds the key taken and stages nothing
        sa.UniqueConstraint("dedupe_key", name="uq_outbox_message_dedupe_key"),
    )

    id: uuid.UUID = Field(sa_type=sa.Uuid, primary_key=True)
    kind: str = Field(max_length=64)
    channel: str = Field(max_length=16)
    payload: str | None = Field(default=None, sa_type=sa.Text)
    status: str = Field(max_length=16)
    attempts: int = Field(default=0)
    created_at: datetime = Field(sa_type=UTCDateTime)
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=200)
    #: whose message it is, and what it is about (``appointment-booked``, ``reminder``...): the
    #: recipient's list of notifications; no content, kept after the payload is erased
    recipient_id: uuid.UUID | None = Field(default=None, sa_type=sa.Uuid)
    topic: str | None = Field(default=None, max_length=32)
    dedupe_key: str | None = Field(default=None, max_length=200)


outbox_table = table_of(OutboxMessage)


def payload_aad(message_id: uuid.UUID) -> str:
    """The associated data of a message's encrypted payload: valid in this row only."""
    return f"outbox_message:{message_id}"
