"""All SQL of the OAuth domain, bound to the request's async session.

Single use is enforced by the database, not by a check in Python: claiming a code or rotating a
refresh token is one ``UPDATE ... WHERE used_at IS NULL`` whose row count says who won, so two
requests racing with the same code or refresh token cannot both succeed (on SQLite the write lock
serializes them; on PostgreSQL the row lock does).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.accounts.models import Account
from app.core.repository import changed
from app.oauth.models import OAuthAuthorizationCode, OAuthClient, OAuthToken


class OAuthRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # clients
    async def add_client(self, client: OAuthClient) -> None:
        self.session.add(client)
        await self.session.flush()

    async def client(self, client_id: str) -> OAuthClient | None:
        result = await self.session.execute(
            select(OAuthClient).where(col(OAuthClient.client_id) == client_id)
        )
        return result.scalar_one_or_none()

    async def client_names(self, client_ids: set[str]) -> dict[str, str]:
        if not client_ids:
            return {}
        query = select(col(OAuthClient.client_id), col(OAuthClient.name)).where(
            col(OAuthClient.client_id).in_(client_ids)
        )
        return {client_id: name for client_id, name in await self.session.execute(query)}

    async def clients(self) -> Sequence[OAuthClient]:
        result = await self.session.execute(
            select(OAuthClient).order_by(col(OAuthClient.created_at))
        )
        return result.scalars().all()

    async def set_client_enabled(self, client_id: str, enabled: bool, now: datetime) -> bool:
        result = await self.session.execute(
            update(OAuthClient)
            .where(col(OAuthClient.client_id) == client_id)
            .values(enabled=enabled, updated_at=now)
        )
        return changed(result) == 1

    # authorization codes
    async def add_code(self, code: OAuthAuthorizationCode) -> None:
        self.session.add(code)
        await self.session.flush()

    async def code_by_hash(self, code_hash: str) -> OAuthAuthorizationCode | None:
        result = await self.session.execute(
            select(OAuthAuthorizationCode).where(col(OAuthAuthorizationCode.code_hash) == code_hash)
        )
        return result.scalar_one_or_none()

    async def claim_code(self, code_id: uuid.UUID, now: datetime) -> bool:
        """Mark the code used; False when someone (an attacker, a retry) already did."""
        result = await self.session.execute(
            update(OAuthAuthorizationCode)
            .where(
                col(OAuthAuthorizationCode.id) == code_id,
                col(OAuthAuthorizationCode.used_at).is_(None),
            )
            .values(used_at=now)
        )
        return changed(result) == 1

    # tokens
    async def add_token(self, token: OAuthToken) -> None:
        self.session.add(token)
        await self.session.flush()

    async def token_by_access_hash(self, access_hash: str) -> OAuthToken | None:
        result = await self.session.execute(
            select(OAuthToken).where(col(OAuthToken.access_hash) == access_hash)
        )
        return result.scalar_one_or_none()

    async def token_by_refresh_hash(self, refresh_hash: str) -> OAuthToken | None:
        result = await self.session.execute(
            select(OAuthToken).where(col(OAuthToken.refresh_hash) == refresh_hash)
        )
        return result.scalar_one_or_none()

    async def token_with_owner(
        self, access_hash: str
    ) -> tuple[OAuthToken, OAuthClient, Account | None] | None:
        """The token, its client and (for a delegated token) its patient, in one query."""
        result = await self.session.execute(
            select(OAuthToken, OAuthClient, Account)
            .join(OAuthClient, col(OAuthClient.client_id) == col(OAuthToken.client_id))
            .outerjoin(Account, col(Account.id) == col(OAuthToken.account_id))
            .where(col(OAuthToken.access_hash) == access_hash)
        )
        row = result.one_or_none()
        return None if row is None else (row[0], row[1], row[2])

    async def rotate(self, token_id: uuid.UUID, now: datetime) -> bool:
        """Spend a refresh token; False when it was already spent or revoked (a reuse)."""
        result = await self.session.execute(
            update(OAuthToken)
            .where(
                col(OAuthToken.id) == token_id,
                col(OAuthToken.rotated_at).is_(None),
                col(OAuthToken.revoked_at).is_(None),
            )
            .values(rotated_at=now, revoked_at=now)
        )
        return changed(result) == 1

    async def revoke(self, *conditions: Any, now: datetime) -> int:
        result = await self.session.execute(
            update(OAuthToken)
            .where(col(OAuthToken.revoked_at).is_(None), *conditions)
            .values(revoked_at=now)
        )
        return changed(result)

    async def revoke_token(self, token_id: uuid.UUID, now: datetime) -> int:
        return await self.revoke(col(OAuthToken.id) == token_id, now=now)

    async def revoke_family(self, family_id: uuid.UUID, now: datetime) -> int:
        return await self.revoke(col(OAuthToken.family_id) == family_id, now=now)

    async def revoke_from_code(self, code_id: uuid.UUID, now: datetime) -> int:
        """Every token descending from a code: the family it started, rotations included."""
        families = select(col(OAuthToken.family_id)).where(col(OAuthToken.code_id) == code_id)
        return await self.revoke(col(OAuthToken.family_id).in_(families), now=now)

    async def revoke_for_account(
        self, account_id: uuid.UUID, now: datetime, client_id: str | None = None
    ) -> int:
        conditions: list[Any] = [col(OAuthToken.account_id) == account_id]
        if client_id is not None:
            conditions.append(col(OAuthToken.client_id) == client_id)
        return await self.revoke(*conditions, now=now)

    async def revoke_for_client(self, client_id: str, now: datetime) -> int:
        return await self.revoke(col(OAuthToken.client_id) == client_id, now=now)

    async def authorizations(self, account_id: uuid.UUID) -> list[tuple[str, datetime, datetime]]:
        """Per client this patient's tokens came from: (client_id, first issued, last issued)."""
        result = await self.session.execute(
            select(
                col(OAuthToken.client_id),
                func.min(col(OAuthToken.issued_at)),
                func.max(col(OAuthToken.issued_at)),
            )
            .where(col(OAuthToken.account_id) == account_id)
            .group_by(col(OAuthToken.client_id))
        )
        return [(str(r[0]), r[1], r[2]) for r in result.all()]

    async def last_approved_scope(self, account_id: uuid.UUID, client_id: str) -> str:
        """The scope of the patient's latest approval for this client (each approval issues one
        code, kept after use; a denial issues none)."""
        result = await self.session.execute(
            select(col(OAuthAuthorizationCode.scope))
            .where(
                col(OAuthAuthorizationCode.account_id) == account_id,
                col(OAuthAuthorizationCode.client_id) == client_id,
            )
            .order_by(col(OAuthAuthorizationCode.created_at).desc())
            .limit(1)
        )
        return str(result.scalar_one_or_none() or "")

    async def live_scopes(self, account_id: uuid.UUID, client_id: str, now: datetime) -> set[str]:
        """Scopes of the tokens still usable (access or refresh) for this patient and client."""
        result = await self.session.execute(
            select(col(OAuthToken.scope)).where(
                col(OAuthToken.account_id) == account_id,
                col(OAuthToken.client_id) == client_id,
                col(OAuthToken.revoked_at).is_(None),
                or_(
                    col(OAuthToken.access_expires_at) > now,
                    col(OAuthToken.refresh_expires_at) > now,
                ),
            )
        )
        return {s for row in result.all() for s in str(row[0]).split()}
