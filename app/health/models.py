"""The one row ``/readyz`` writes: readiness covers writes, not only reads (docs/security.md
"Reliability")."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime
from app.core.repository import table_of


class ReadinessProbe(SQLModel, table=True):
    __tablename__ = "readiness_probe"

    id: int = Field(primary_key=True)
    probed_at: datetime = Field(sa_type=UTCDateTime)


probe_table = table_of(ReadinessProbe)
