"""The one row ``/readyz`` writes: readiness covers writes, not only reads (docs/security.md
"Reliability")."""

from __future__ import annotations

from datetime import datetime
from typing import cast

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime


class ReadinessProbe(SQLModel, table=True):
    __tablename__ = "readiness_probe"

    id: int = Field(primary_key=True)
    probed_at: datetime = Field(sa_type=UTCDateTime)


probe_table = cast(sa.Table, ReadinessProbe.__table__)  # type: ignore[attr-defined]
