"""Response bodies of the audit endpoints."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class AccessLogEntry(BaseModel):
    """One line of "who accessed my data" (charter C9): no ids of other people, no health data."""

    seq: int
    at: datetime
    actor_role: str
    actor_name: str
    action: str
    outcome: str
    via: str


class VerifyReport(BaseModel):
    ok: bool
    entries: int
    head: str
    first_bad: str | None
    first_bad_seq: int | None = None
    reason: str | None = None
