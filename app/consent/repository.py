"""SQL for consent: the purpose-version registry, the decision log and the current state."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.consent.models import ConsentDecision, ConsentPurposeVersion, ConsentState
from app.core.db import upsert
from app.core.repository import table_of

decision_table = table_of(ConsentDecision)
state_table = table_of(ConsentState)


_s = state_table
_GRANTED = sa.select(_s.c.purpose_id, _s.c.purpose_version).where(
    _s.c.account_id == sa.bindparam("account_id"),
    _s.c.purpose_id.in_(sa.bindparam("purpose_ids", expanding=True)),
    _s.c.status == "granted",
    _s.c.scope == "",
)


class ConsentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def purpose_versions(self) -> Sequence[ConsentPurposeVersion]:
        result = await self.session.execute(sa.select(ConsentPurposeVersion))
        return result.scalars().all()

    async def add_purpose_versions(self, rows: Sequence[ConsentPurposeVersion]) -> None:
        self.session.add_all(rows)
        await self.session.flush()

    async def record(self, decision: ConsentDecision, status: str) -> None:
        """Append the decision and move the current state, in one transaction."""
        self.session.add(decision)
        await self.session.flush()
        await upsert(
            self.session,
            state_table,
            {
                "account_id": decision.account_id,
                "purpose_id": decision.purpose_id,
                "scope": decision.scope,
                "status": status,
                "purpose_version": decision.purpose_version,
                "decided_at": decision.decided_at,
                "decision_id": decision.id,
            },
            keys=("account_id", "purpose_id", "scope"),
        )

    async def states(
        self, account_id: uuid.UUID, purpose_ids: Sequence[str] | None = None
    ) -> Sequence[ConsentState]:
        query = sa.select(ConsentState).where(state_table.c.account_id == account_id)
        if purpose_ids is not None:
            query = query.where(state_table.c.purpose_id.in_(list(purpose_ids)))
        return (await self.session.execute(query)).scalars().all()

    async def granted_versions(
        self, account_id: uuid.UUID, purpose_ids: Sequence[str]
    ) -> set[tuple[str, int]]:
        """(purpose, version) pairs the account has granted account-wide (no client scope).

        Every booking and every listing asks this: a statement built once, columns not entities.
        """
        params = {"account_id": account_id, "purpose_ids": list(purpose_ids)}
        rows = await self.session.execute(_GRANTED, params)
        return {(row.purpose_id, row.purpose_version) for row in rows}

    async def history(self, account_id: uuid.UUID) -> Sequence[ConsentDecision]:
        query = (
            sa.select(ConsentDecision)
            .where(decision_table.c.account_id == account_id)
            .order_by(decision_table.c.decided_at, decision_table.c.id)
        )
        return (await self.session.execute(query)).scalars().all()

    async def iter_decisions(
        self,
        *,
        since: datetime | None,
        until: datetime | None,
        purpose_id: str | None,
        batch_size: int = 2000,
    ) -> AsyncIterator[ConsentDecision]:
        """Every decision in (decided_at, id) order, keyset-paginated: constant memory."""
        after: tuple[datetime, uuid.UUID] | None = None
        while True:
            query = sa.select(ConsentDecision)
            if since is not None:
                query = query.where(decision_table.c.decided_at >= since)
            if until is not None:
                query = query.where(decision_table.c.decided_at < until)
            if purpose_id is not None:
                query = query.where(decision_table.c.purpose_id == purpose_id)
            if after is not None:
                at, last_id = after
                query = query.where(
                    sa.or_(
                        decision_table.c.decided_at > at,
                        sa.and_(decision_table.c.decided_at == at, decision_table.c.id > last_id),
                    )
                )
            query = query.order_by(decision_table.c.decided_at, decision_table.c.id).limit(
                batch_size
            )
            rows = (await self.session.execute(query)).scalars().all()
            for row in rows:
                yield row
            if len(rows) < batch_size:
                return
            after = (rows[-1].decided_at, rows[-1].id)
