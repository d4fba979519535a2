"""Administration of accounts: suspend or reinstate (ending every session, token and mailed link),
and ``erdv admin create``."""

from __future__ import annotations

import uuid

from app.accounts import mails
from app.accounts.base import AccountsBase
from app.accounts.errors import (
    CannotSuspendSelf,
)
from app.accounts.models import (
    Account,
    AccountStatus,
    Role,
)
from app.accounts.password_policy import check_password_async
from app.accounts.principal import Principal
from app.audit.models import AuditAction
from app.audit.service import Actor
from app.core import clock
from app.core.errors import Conflict, NotFound


class AccountAdministration(AccountsBase):
    """What an admin (or the ``erdv`` command) does to accounts."""

    async def set_status(
        self, admin: Principal, account_id: uuid.UUID, status: AccountStatus
    ) -> Account:
        """Suspend (ending every session, OAuth token and mailed link) or reinstate an account."""
        account = await self.repository.get(account_id)
        if account is None:
            raise NotFound("No such account.")
        if account.id == admin.account_id:
            raise CannotSuspendSelf()
        changed = account.status != status.value
        await self.repository.update(account.id, status=status.value)
        ended = revoked = 0
        if status is AccountStatus.SUSPENDED:
            ended = await self.repository.delete_sessions(account.id)
            revoked = await self._revoke_grants(account.id)
            # a reset link mailed before would let its holder take the account back over
            await self.repository.spend_all_tokens(account.id, clock.now())
        await self.audit.record(
            AuditAction.ACCOUNT_SUSPENDED
            if status is AccountStatus.SUSPENDED
            else AuditAction.ACCOUNT_REINSTATED,
            actor=admin.actor,
            subject_id=account.id,
            object_type="account",
            object_id=account.id,
            details={"sessions_ended": ended, "oauth_tokens_revoked": revoked},
        )
        if not changed:
            return account
        # the practitioner contract's clause 7: informed, and told how to get the export
        language = mails.language_of(account.language)
        self._send(
            mails.account_suspended(
                account.email, language, practitioner=account.role == Role.PRACTITIONER.value
            )
            if status is AccountStatus.SUSPENDED
            else mails.account_reinstated(account.email, language),
            to=account.id,
            topic="account-status",
        )
        return account

    async def create_admin(self, *, email: str, password: str, full_name: str) -> Account:
        """``erdv admin create``: a verified admin who enrols TOTP at first login."""
        await check_password_async(password, email=email, full_name=full_name)
        if await self.repository.by_email(email) is not None:
            raise Conflict("An account with this email already exists.")
        now = clock.now()
        account = await self.repository.add(
            Account(
                email=email,
                role=Role.ADMIN.value,
                full_name=full_name,
                password_hash=await self.passwords.hash(password),
                email_verified_at=now,
                password_changed_at=now,
                created_at=now,
            )
        )
        await self.audit.record(
            AuditAction.ACCOUNT_ADMIN_CREATED,
            actor=Actor.system(),
            subject_id=account.id,
            object_type="account",
            object_id=account.id,
        )
        return account
