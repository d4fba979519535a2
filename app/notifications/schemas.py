"""Bodies of ``/api/v1/me/notifications``."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel

from app.core.schemas import Schema


class NotificationRead(BaseModel):
    """One message sent (or being sent) to me: what about, how, and how it went; never its text."""

    id: uuid.UUID
    kind: str
    channel: str
    status: str
    created_at: datetime
    sent_at: datetime | None


class NotificationSettings(Schema):
    """The practitioner's switch: a mail for each booking and cancellation a patient or an
    application makes."""

    new_booking_mail: bool
