"""SQL for accounts, their mailed tokens and their sessions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Account, AccountToken, AuthSession

account_table = cast(sa.Table, Account.__table__)  # type: ignore[attr-defined]
token_table = cast(sa.Table, AccountToken.__table__)  # type: ignore[attr-defined]
session_table = cast(sa.Table, AuthSession.__table__)  # type: ignore[attr-defined]


def _count(result: Any) -> int:
    return int(result.rowcount or 0)


class AccountRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # accounts
    async def by_email(self, email: str) -> Account | None:
        result = await self.session.execute(
            sa.select(Account).where(account_table.c.email == email)
        )
        return result.scalar_one_or_none()

    async def get(self, account_id: uuid.UUID) -> Account | None:
        return await self.session.get(Account, account_id)

    async def names(self, account_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
        if not account_ids:
            return {}
        result = await self.session.execute(
            sa.select(account_table.c.id, account_table.c.full_name).where(
                account_table.c.id.in_(account_ids)
            )
        )
        return {row.id: row.full_name for row in result}

    async def add(self, account: Account) -> Account:
        self.session.add(account)
        await self.session.flush()
        return account

    async def update(self, account_id: uuid.UUID, **values: object) -> None:
        await self.session.execute(
            sa.update(account_table).where(account_table.c.id == account_id).values(**values)
        )
        # keep identity-map copies in step with the row
        cached = self.session.identity_map.get(self.session.identity_key(Account, account_id))
        if cached is not None:
            for key, value in values.items():
                setattr(cached, key, value)

    # mailed tokens
    async def add_token(self, token: AccountToken) -> None:
        self.session.add(token)
        await self.session.flush()

    async def live_token(self, purpose: str, token_hash: str, now: datetime) -> AccountToken | None:
        result = await self.session.execute(
            sa.select(AccountToken).where(
                token_table.c.purpose == purpose,
                token_table.c.token_hash == token_hash,
                token_table.c.used_at.is_(None),
                token_table.c.expires_at > now,
            )
        )
        return result.scalar_one_or_none()

    async def spend_token(self, token_id: uuid.UUID, now: datetime) -> bool:
        """Single use, atomically: only one request can flip ``used_at``."""
        result = await self.session.execute(
            sa.update(token_table)
            .where(
                token_table.c.id == token_id,
                token_table.c.used_at.is_(None),
                token_table.c.expires_at > now,
            )
            .values(used_at=now)
        )
        return _count(result) == 1

    async def spend_other_tokens(self, account_id: uuid.UUID, purpose: str, now: datetime) -> None:
        await self.session.execute(
            sa.update(token_table)
            .where(
                token_table.c.account_id == account_id,
                token_table.c.purpose == purpose,
                token_table.c.used_at.is_(None),
            )
            .values(used_at=now)
        )

    # sessions
    async def add_session(self, row: AuthSession) -> AuthSession:
        self.session.add(row)
        await self.session.flush()
        return row

    async def session_by_hash(self, token_hash: str) -> tuple[AuthSession, Account] | None:
        result = await self.session.execute(
            sa.select(AuthSession, Account)
            .join(Account, account_table.c.id == session_table.c.account_id)
            .where(session_table.c.token_hash == token_hash)
        )
        row = result.first()
        return (row[0], row[1]) if row is not None else None

    async def update_session(self, session_id: uuid.UUID, **values: object) -> None:
        await self.session.execute(
            sa.update(session_table).where(session_table.c.id == session_id).values(**values)
        )
        cached = self.session.identity_map.get(self.session.identity_key(AuthSession, session_id))
        if cached is not None:
            for key, value in values.items():
                setattr(cached, key, value)

    async def delete_session(self, session_id: uuid.UUID) -> bool:
        result = await self.session.execute(
            sa.delete(session_table).where(session_table.c.id == session_id)
        )
        return _count(result) == 1

    async def delete_session_of(self, account_id: uuid.UUID, session_id: uuid.UUID) -> bool:
        result = await self.session.execute(
            sa.delete(session_table).where(
                session_table.c.id == session_id, session_table.c.account_id == account_id
            )
        )
        return _count(result) == 1

    async def delete_sessions(
        self, account_id: uuid.UUID, *, except_id: uuid.UUID | None = None
    ) -> int:
        statement = sa.delete(session_table).where(session_table.c.account_id == account_id)
        if except_id is not None:
            statement = statement.where(session_table.c.id != except_id)
        return _count(await self.session.execute(statement))

    async def sessions_of(self, account_id: uuid.UUID) -> Sequence[AuthSession]:
        result = await self.session.execute(
            sa.select(AuthSession)
            .where(session_table.c.account_id == account_id)
            .order_by(session_table.c.created_at.desc())
        )
        return result.scalars().all()
