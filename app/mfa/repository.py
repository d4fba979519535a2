"""SQL for TOTP credentials, recovery codes and passkeys; every "use once" is one conditional UPDATE
(or, for a WebAuthn challenge, one conditional DELETE)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.repository import changed, table_of
from app.mfa.models import Passkey, RecoveryCode, TotpCredential, WebauthnChallenge

totp_table = table_of(TotpCredential)
recovery_table = table_of(RecoveryCode)
passkey_table = table_of(Passkey)
challenge_table = table_of(WebauthnChallenge)


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
        """Promote the pending seed, if it is still the one checked (one activation wins).

        Not "if the step is new": ``last_step`` is the step of the *replaced* seed's last code
        (RFC 6238 §5.2 forbids accepting one key's code twice), and says nothing of a new seed's
        codes. Requiring the new seed's first code to come after it refused a person who
        re-authenticated with the old authenticator and typed the new one's code within the
        same 30 seconds."""
        result = await self.session.execute(
            sa.update(totp_table)
            .where(
                totp_table.c.account_id == account_id,
                totp_table.c.pending_secret == pending,
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
        await self.session.execute(
            sa.delete(passkey_table).where(passkey_table.c.account_id == account_id)
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
        """The account's TOTP secret, recovery codes and passkeys, gone (its erasure)."""
        await self.session.execute(
            sa.delete(totp_table).where(totp_table.c.account_id == account_id)
        )
        await self.session.execute(
            sa.delete(recovery_table).where(recovery_table.c.account_id == account_id)
        )
        await self.session.execute(
            sa.delete(passkey_table).where(passkey_table.c.account_id == account_id)
        )


class PasskeyRepository:
    """Passkeys and the challenges of their ceremonies."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def passkeys_of(self, account_id: uuid.UUID) -> Sequence[Passkey]:
        result = await self.session.execute(
            sa.select(Passkey)
            .where(passkey_table.c.account_id == account_id)
            .order_by(passkey_table.c.created_at, passkey_table.c.id)
        )
        return result.scalars().all()

    async def count_of(self, account_id: uuid.UUID) -> int:
        result = await self.session.execute(
            sa.select(sa.func.count())
            .select_from(passkey_table)
            .where(passkey_table.c.account_id == account_id)
        )
        return int(result.scalar_one())

    async def by_credential_id(self, credential_id: str) -> Passkey | None:
        result = await self.session.execute(
            sa.select(Passkey).where(passkey_table.c.credential_id == credential_id)
        )
        return result.scalar_one_or_none()

    async def get_of(self, account_id: uuid.UUID, passkey_id: uuid.UUID) -> Passkey | None:
        result = await self.session.execute(
            sa.select(Passkey).where(
                passkey_table.c.id == passkey_id, passkey_table.c.account_id == account_id
            )
        )
        return result.scalar_one_or_none()

    async def add(self, passkey: Passkey) -> None:
        self.session.add(passkey)
        await self.session.flush()

    async def rename(self, account_id: uuid.UUID, passkey_id: uuid.UUID, name: str) -> bool:
        result = await self.session.execute(
            sa.update(passkey_table)
            .where(passkey_table.c.id == passkey_id, passkey_table.c.account_id == account_id)
            .values(name=name)
        )
        return changed(result) == 1

    async def delete_of(self, account_id: uuid.UUID, passkey_id: uuid.UUID) -> bool:
        result = await self.session.execute(
            sa.delete(passkey_table).where(
                passkey_table.c.id == passkey_id, passkey_table.c.account_id == account_id
            )
        )
        return changed(result) == 1

    async def advance_counter(self, passkey_id: uuid.UUID, seen: int, now: datetime) -> bool:
        """Store the counter of a verified assertion only if it grew, or if it stays 0 for an
        authenticator that keeps none (WebAuthn L2 §6.1.1): checked in the UPDATE itself, so two
        racing assertions cannot both move it back."""
        moves = passkey_table.c.sign_count < seen if seen else passkey_table.c.sign_count == 0
        result = await self.session.execute(
            sa.update(passkey_table)
            .where(passkey_table.c.id == passkey_id, moves)
            .values(sign_count=seen, last_used_at=now)
        )
        return changed(result) == 1

    async def add_challenge(self, challenge: WebauthnChallenge, now: datetime) -> None:
        """Insert a challenge, clearing the expired ones first (they are never used again, and a
        caller who starts ceremonies without finishing them must not grow the table)."""
        await self.session.execute(
            sa.delete(challenge_table).where(challenge_table.c.expires_at <= now)
        )
        self.session.add(challenge)
        await self.session.flush()

    async def spend_challenge(
        self, challenge_hash: str, purpose: str, bound_to: str, now: datetime
    ) -> bool:
        """One conditional DELETE: exactly one caller spends a live challenge, and only for the
        ceremony and the session (or browser) it was issued to."""
        result = await self.session.execute(
            sa.delete(challenge_table).where(
                challenge_table.c.challenge_hash == challenge_hash,
                challenge_table.c.purpose == purpose,
                challenge_table.c.bound_to == bound_to,
                challenge_table.c.expires_at > now,
            )
        )
        return changed(result) == 1
