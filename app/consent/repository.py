"""SQL for consent: the purpose-version registry and (later) decisions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.consent.models import ConsentPurposeVersion

purpose_version_table = cast(sa.Table, ConsentPurposeVersion.__table__)  # type: ignore[attr-defined]


class ConsentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def purpose_versions(self) -> Sequence[ConsentPurposeVersion]:
        result = await self.session.execute(sa.select(ConsentPurposeVersion))
        return result.scalars().all()

    async def add_purpose_versions(self, rows: Sequence[ConsentPurposeVersion]) -> None:
        self.session.add_all(rows)
        await self.session.flush()
