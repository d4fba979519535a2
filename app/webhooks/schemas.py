"""Request and response bodies of the webhook admin routes (docs/api.md "Admin")."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import Path
from pydantic import BaseModel, Field

from app.core.schemas import Schema

#: the closed list of events (``app.webhooks.models.WebhookEvent``); any other is a 422
EventName = Literal["appointment.booked", "appointment.rescheduled", "appointment.cancelled"]


class WebhookCreate(Schema):
    #: https, never an internal address (``app.webhooks.addresses``)
    url: str = Field(min_length=1, max_length=2000)
    events: list[EventName] = Field(min_length=1)


class WebhookCreated(BaseModel):
    id: uuid.UUID
    #: ``whsec_...``, shown once: erdv keeps it encrypted and never shows it again
    secret: str


class WebhookRead(BaseModel):
    id: uuid.UUID
    client_id: str
    url: str
    events: list[str]
    #: false once the receiver answered 410 Gone
    enabled: bool
    created_at: datetime


WebhookIdPath = Annotated[uuid.UUID, Path()]
