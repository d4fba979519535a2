"""Changing the trail as someone with the database's superuser can: on PostgreSQL, with the
append-only triggers switched off (``session_replication_role = replica``), which a superuser may do
and the application's role may not (docs/security.md, "Audit trail")."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


@asynccontextmanager
async def tampering(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(sa.text("SET LOCAL session_replication_role = replica"))
        yield connection
