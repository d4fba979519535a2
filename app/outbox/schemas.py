"""What an admin sees of outbox messages: their delivery, never their content or recipient."""

from __future__ import annotations

import uuid
from datetime import datetime

from app.core.schemas import Schema


class OutboxMessageRead(Schema):
    id: uuid.UUID
    kind: str
    channel: str
    #: what the message is about (``appointment-booked``, ``reminder``...), when it is a person's
    topic: str | None
    status: str
    attempts: int
    created_at: datetime
    #: when it is tried next (pending), or when its current try's lease ends (sending)
    next_attempt_at: datetime
    sent_at: datetime | None
    #: the error type and SMTP code of the last failed try
    last_error: str | None
