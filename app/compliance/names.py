"""Names for the access log's actors: accounts by their display name, applications by theirs."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.service import display_names
from app.oauth.service import client_names


async def actor_names(
    session: AsyncSession, account_ids: set[str], client_ids: set[str]
) -> dict[str, dict[str, str]]:
    """The ``NameResolver`` of ``app.audit.service.access_log``."""
    return {
        "account": await display_names(session, account_ids),
        "client": await client_names(session, client_ids),
    }
