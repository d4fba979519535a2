"""Throttling state shared by every worker (docs/security.md "Throttling": never in process memory)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime


class ThrottleState(SQLModel, table=True):
    """Consecutive failures (or hits) for one key, e.g. ``login:email:<hmac>`` or ``login:ip:<ip>``.

    Keys never hold an email or a name in clear: account keys are HMACs or opaque ids.
    """

    __tablename__ = "throttle_state"

    key: str = Field(primary_key=True, max_length=128)
    failures: int = Field(default=0)
    #: the last failure; failures older than the policy's window are forgotten
    last_failure_at: datetime = Field(sa_type=UTCDateTime)
    #: no attempt is considered before this instant (a delay, never a permanent lock)
    blocked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
