"""``/readyz``'s write: one row, rewritten by every probe."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import upsert
from app.health.models import probe_table


async def record_probe(session: AsyncSession, at: datetime) -> None:
    await upsert(session, probe_table, {"id": 1, "probed_at": at}, keys=["id"])
