"""SQL for the practice team."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Account
from app.core.repository import changed, table_of
from app.practice.models import practice_table
from app.team.models import MemberStatus, TeamMember, member_table

_account = table_of(Account)


class TeamRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, member: TeamMember) -> None:
        self.session.add(member)
        await self.session.flush()

    async def of_practice(self, practice_id: uuid.UUID) -> Sequence[Any]:
        """The practice's invitations and members, with each member's name, oldest first."""
        query = (
            sa.select(member_table, _account.c.full_name)
            .select_from(
                member_table.outerjoin(_account, _account.c.id == member_table.c.account_id)
            )
            .where(member_table.c.practice_id == practice_id)
            .order_by(member_table.c.invited_at, member_table.c.id)
        )
        return (await self.session.execute(query)).all()

    async def get(self, practice_id: uuid.UUID, member_id: uuid.UUID) -> TeamMember | None:
        query = sa.select(TeamMember).where(
            member_table.c.id == member_id, member_table.c.practice_id == practice_id
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def by_email(self, practice_id: uuid.UUID, email: str) -> TeamMember | None:
        query = sa.select(TeamMember).where(
            member_table.c.practice_id == practice_id, member_table.c.email == email
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def by_token(self, token_hash: str, *, lock: bool = False) -> TeamMember | None:
        query = sa.select(TeamMember).where(member_table.c.token_hash == token_hash)
        if lock:
            query = query.with_for_update()
        return (
            await self.session.execute(query.execution_options(populate_existing=True))
        ).scalar_one_or_none()

    async def accept(self, member_id: uuid.UUID, account_id: uuid.UUID, at: datetime) -> bool:
        """Invited → active, once (a concurrent acceptance changes nothing)."""
        result = await self.session.execute(
            sa.update(member_table)
            .where(
                member_table.c.id == member_id,
                member_table.c.status == MemberStatus.INVITED.value,
            )
            .values(status=MemberStatus.ACTIVE.value, account_id=account_id, accepted_at=at)
        )
        return changed(result) == 1

    async def delete(self, member_id: uuid.UUID) -> None:
        await self.session.execute(sa.delete(member_table).where(member_table.c.id == member_id))

    async def practices_of(self, account_id: uuid.UUID) -> Sequence[Any]:
        """(id, display_name) of each open practice the account works for."""
        p = practice_table
        query = (
            sa.select(p.c.id, p.c.display_name)
            .select_from(member_table.join(p, p.c.id == member_table.c.practice_id))
            .where(
                member_table.c.account_id == account_id,
                member_table.c.status == MemberStatus.ACTIVE.value,
                p.c.closed_at.is_(None),
            )
            .order_by(p.c.display_name, p.c.id)
        )
        return (await self.session.execute(query)).all()

    async def works_for(self, account_id: uuid.UUID, practice_id: uuid.UUID) -> bool:
        """The account is an active member of this open practice."""
        p = practice_table
        query = sa.select(member_table.c.id).where(
            member_table.c.account_id == account_id,
            member_table.c.practice_id == practice_id,
            member_table.c.status == MemberStatus.ACTIVE.value,
            sa.exists().where(p.c.id == practice_id, p.c.closed_at.is_(None)),
        )
        return (await self.session.execute(query)).first() is not None
