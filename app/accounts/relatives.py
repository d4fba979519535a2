"""A patient's relatives: the people they book for (a child, a parent they care for).

A relative is a name and a birth date, nothing else (GDPR art. 5 minimisation): no account, no
address, no phone; the account holder is the contact, books, sees and manages the relative's
appointments. At most ``MAX_RELATIVES`` per account. A removed relative, and every relative of an
erased account, keeps its row without name or birth date (``erased_at``): appointments point at
it, and a practice's agenda must show the relative's (now empty) name, never the holder's.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Relative
from app.accounts.principal import Principal
from app.audit.models import AuditAction
from app.audit.service import AuditTrail
from app.core import clock
from app.core.db import lock_until_commit
from app.core.errors import NotFound, Unprocessable
from app.core.repository import changed, table_of

MAX_RELATIVES = 10

relative_table = table_of(Relative)


class RelativeNotFound(NotFound):
    """Unknown, erased or someone else's: the same answer (docs/api.md "Conventions")."""

    title = "No such relative"


class TooManyRelatives(Unprocessable):
    title = "At most 10 relatives"


class RelativeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def hold(self, account_id: uuid.UUID) -> None:
        """Until commit, the account's relatives are this transaction's to count: two additions
        at once must not both see room for one more (``MAX_RELATIVES``)."""
        await lock_until_commit(self.session, f"erdv:relatives:{account_id}")

    async def of(self, account_id: uuid.UUID) -> Sequence[Relative]:
        result = await self.session.execute(
            sa.select(Relative)
            .where(relative_table.c.account_id == account_id, relative_table.c.erased_at.is_(None))
            .order_by(relative_table.c.created_at, relative_table.c.id)
        )
        return result.scalars().all()

    async def one(self, account_id: uuid.UUID, relative_id: uuid.UUID) -> Relative | None:
        result = await self.session.execute(
            sa.select(Relative).where(
                relative_table.c.id == relative_id,
                relative_table.c.account_id == account_id,
                relative_table.c.erased_at.is_(None),
            )
        )
        return result.scalar_one_or_none()

    async def add(self, relative: Relative) -> None:
        self.session.add(relative)
        await self.session.flush()

    async def update(self, relative: Relative, **values: object) -> None:
        for name, value in values.items():
            setattr(relative, name, value)
        await self.session.flush()

    async def erase(
        self, account_id: uuid.UUID, at: datetime, relative_id: uuid.UUID | None = None
    ) -> int:
        """One relative, or all the account's: no name, no birth date, the row kept."""
        statement = sa.update(relative_table).where(
            relative_table.c.account_id == account_id, relative_table.c.erased_at.is_(None)
        )
        if relative_id is not None:
            statement = statement.where(relative_table.c.id == relative_id)
        result = await self.session.execute(
            statement.values(full_name="", birth_date=None, erased_at=at)
        )
        return changed(result)


def _check_birth_date(value: date) -> None:
    if value > clock.now().date() or value.year < 1900:
        raise Unprocessable(
            "The birth date must be a past date after 1900.",
            errors=[{"field": "birth_date", "message": "not a plausible birth date"}],
        )


class RelativeService:
    """Adding and changing relatives; removing one is booking's (its appointments ahead are
    cancelled first: ``app.booking.relatives``)."""

    def __init__(self, session: AsyncSession, audit: AuditTrail) -> None:
        self.repository = RelativeRepository(session)
        self.audit = audit

    async def list(self, principal: Principal) -> Sequence[Relative]:
        return await self.repository.of(principal.account_id)

    async def get(self, principal: Principal, relative_id: uuid.UUID) -> Relative:
        found = await self.repository.one(principal.account_id, relative_id)
        if found is None:
            raise RelativeNotFound()
        return found

    async def add(self, principal: Principal, full_name: str, birth_date: date) -> Relative:
        _check_birth_date(birth_date)
        await self.repository.hold(principal.account_id)
        if len(await self.repository.of(principal.account_id)) >= MAX_RELATIVES:
            raise TooManyRelatives(
                f"An account holds at most {MAX_RELATIVES} relatives; remove one first.",
                errors=[{"field": "full_name", "message": "at most 10 relatives"}],
            )
        relative = Relative(
            account_id=principal.account_id,
            full_name=full_name,
            birth_date=birth_date,
            created_at=clock.now(),
        )
        await self.repository.add(relative)
        await self._record(AuditAction.RELATIVE_ADDED, principal, relative.id)
        return relative

    async def change(
        self, principal: Principal, relative_id: uuid.UUID, changes: dict[str, object]
    ) -> Relative:
        relative = await self.get(principal, relative_id)
        birth_date = changes.get("birth_date")
        if isinstance(birth_date, date):
            _check_birth_date(birth_date)
        if changes:
            await self.repository.update(relative, **changes)
            await self._record(
                AuditAction.RELATIVE_UPDATED,
                principal,
                relative.id,
                fields=",".join(sorted(changes)),
            )
        return relative

    async def erase(self, principal: Principal, relative_id: uuid.UUID) -> None:
        """The relative's name and birth date go (its appointments ahead are already cancelled)."""
        await self.repository.erase(principal.account_id, clock.now(), relative_id)
        await self._record(AuditAction.RELATIVE_REMOVED, principal, relative_id)

    async def _record(
        self, action: AuditAction, principal: Principal, relative_id: uuid.UUID, **details: str
    ) -> None:
        await self.audit.record(
            action,
            actor=principal.actor,
            subject_id=principal.account_id,
            object_type="relative",
            object_id=relative_id,
            details=details or None,
        )
