"""Request and response bodies of the charter and consent endpoints (docs/api.md)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from app.core.schemas import Schema


class ConsentStatusOut(BaseModel):
    purpose_id: str
    purpose_version: int
    status: Literal["granted", "withdrawn", "none"]
    decided_at: datetime | None
    #: an earlier version that was granted: it no longer counts, the current text must be accepted
    granted_version: int | None = None
    #: the application a third-party-sharing decision is about
    client_id: str | None = None


class ConsentDecisionIn(Schema):
    purpose_id: str = Field(min_length=1, max_length=64)
    purpose_version: int = Field(ge=1)
    decision: Literal["grant", "withdraw"]


class ReceiptOut(BaseModel):
    id: uuid.UUID
    purpose_id: str
    purpose_version: int
    text_sha256: str
    decision: Literal["grant", "withdraw"]
    decided_at: datetime
    receipt_sha256: str
    client_id: str | None = None
