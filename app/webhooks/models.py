"""The ``webhook_endpoint`` table and the closed list of events (docs/integrate.md "Webhooks").

The signing secret is encrypted at rest (AES-GCM, ``app.core.crypto.ColumnCipher``, bound to the
row id), not hashed as erdv's other secrets are (CONVENTIONS.md habit 7): a webhook is signed by
erdv with the secret itself (an HMAC-SHA256 keyed with it, Standard Webhooks "Signature scheme"),
so erdv must read it back at each delivery. A hash would only let erdv *check* a secret someone
shows it, which is the receiver's job here, not erdv's. A ciphertext copied into another row does
not decrypt (the associated data names the row).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime
from app.core.repository import table_of


class WebhookEvent(StrEnum):
    """What an endpoint may subscribe to: the three changes of an appointment
    (``app.booking.notices.Change``), named as Standard Webhooks suggests (``<group>.<event>``)."""

    BOOKED = "appointment.booked"
    RESCHEDULED = "appointment.rescheduled"
    CANCELLED = "appointment.cancelled"


class WebhookEndpoint(SQLModel, table=True):
    __tablename__ = "webhook_endpoint"

    id: uuid.UUID = Field(sa_type=sa.Uuid, primary_key=True)
    #: the fan-out finds a patient's authorized clients' endpoints through this index
    client_id: str = Field(max_length=64, foreign_key="oauth_client.client_id", index=True)
    url: str = Field(max_length=2000)
    #: ``WebhookEvent`` values, a JSON list
    events: list[str] = Field(sa_type=sa.JSON)
    #: ``whsec_...``, encrypted (module docstring), associated data ``secret_aad(id)``
    secret_ct: str = Field(sa_type=sa.Text)
    #: off once the receiver answered 410 Gone (Standard Webhooks: the endpoint is gone)
    enabled: bool = Field(default=True)
    created_at: datetime = Field(sa_type=UTCDateTime)


endpoint_table = table_of(WebhookEndpoint)


def secret_aad(endpoint_id: uuid.UUID) -> str:
    """The associated data of an endpoint's encrypted secret: valid in this row only."""
    return f"webhook_endpoint:{endpoint_id}:secret"
