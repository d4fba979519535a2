"""Request and response bodies of the team routes (docs/api.md "Practice team")."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from app.accounts.schemas import normalize_email
from app.core.schemas import Schema


class InvitationIn(Schema):
    email: str = Field(max_length=254)
    role: Literal["secretary"] = "secretary"

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return normalize_email(value)


class MemberRead(BaseModel):
    id: uuid.UUID
    email: str
    role: Literal["secretary"]
    status: Literal["invited", "active"]
    #: the member's name once they accepted
    full_name: str | None = None
    invited_at: datetime
    accepted_at: datetime | None = None


class PracticeRef(BaseModel):
    id: uuid.UUID
    display_name: str
