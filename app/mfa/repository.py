"""SQL for TOTP credentials and recovery codes; every "use once" is one conditional UPDATE."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.repository import changed, table_of
from app.mfa.models import RecoveryCode, TotpCredential

totp_table = table_of(TotpCredential)
recovery_table = table_of(RecoveryCode)


class MfaRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def credential(self, account_id: uuid.UUID) -> TotpCredential | None:
        result = await self.session.execute(
            sa.select(TotpCredential).where(totp_table.c.account_id == account_id)
        )
        return result.scalar_one_or_none()

    async def set_pending(self, account_id: uuid.UUID, pending: str, now: datetime) -> None:
        existing = await self.credential(account_id)
        if existing is None:
            self.session.add(
                TotpCredential(account_id=account_id, pending_secret=pending, updated_at=now)
            )
            await self.session.flush()
            return
        await self.session.execute(
            sa.update(totp_table)
            .where(totp_table.c.account_id == account_id)
            .values(pending_secret=pending, updated_at=now)
        )

    async def install(self, account_id: uuid.UUID, secret: str, now: datetime) -> None:
        self.session.add(
            TotpCredential(account_id=account_id, secret=secret, activated_at=now, updated_at=now)
        )
        await self.session.flush()

    async def activate(self, account_id: uuid.UUID, pending: str, step: int, now: datetime) -> bool:
        """Promote the pending seed, if it is still the one checked and the step is new."""
        result = await self.session.execute(
            sa.update(totp_table)
            .where(
                totp_table.c.account_id == account_id,
                totp_table.c.pending_secret == pending,
                totp_table.c.last_step < step,
            )
            .values(
                secret=totp_table.c.pending_secret,
                pending_secret=None,
                last_step=step,
                activated_at=now,
                updated_at=now,
            )
        )
        return changed(result) == 1

    async def advance_step(self, account_id: uuid.UUID, step: int) -> bool:
        """``UPDATE ... WHERE last_step < :step``: exactly one caller can spend a given step."""
        result = await self.session.execute(
            sa.update(totp_table)
            .where(
                totp_table.c.account_id == account_id,
                totp_table.c.secret.is_not(None),
                totp_table.c.last_step < step,
            )
            .values(last_step=step)
        )
        return changed(result) == 1

    async def replace_recovery_codes(
        self, account_id: uuid.UUID, hashes: Sequence[str], now: datetime
    ) -> None:
        await self.session.execute(
            sa.delete(recovery_table).where(recovery_table.c.account_id == account_id)
        )
        for code_hash in hashes:
            self.session.add(
                RecoveryCode(account_id=account_id, code_hash=code_hash, created_at=now)
            )
        await self.session.flush()

    async def spend_recovery_code(
        self, account_id: uuid.UUID, code_hash: str, now: datetime
    ) -> bool:
        result = await self.session.execute(
            sa.update(recovery_table)
            .where(
                recovery_table.c.account_id == account_id,
                recovery_table.c.code_hash == code_hash,
                recovery_table.c.used_at.is_(None),
            )
            .values(used_at=now)
        )
        return changed(result) == 1

    async def remaining_recovery_codes(self, account_id: uuid.UUID) -> int:
        result = await self.session.execute(
            sa.select(sa.func.count())
            .select_from(recovery_table)
            .where(recovery_table.c.account_id == account_id, recovery_table.c.used_at.is_(None))
        )
        return int(result.scalar_one())

    async def forget(self, account_id: uuid.UUID) -> None:
        """The account's TOTP secret and recovery codes, gone (its erasure)."""
        await self.session.execute(
            sa.delete(totp_table).where(totp_table.c.account_id == account_id)
        )
        await self.session.execute(
            sa.delete(recovery_table).where(recovery_table.c.account_id == account_id)
        )
