"""The password lifecycle: forgot, the deferred reset mail, reset (mailed token and second factor),
change; each ends the grants made with the old password (docs/security.md "Passwords")."""

from __future__ import annotations

from datetime import timedelta

from app.accounts import mails
from app.accounts.base import AccountsBase
from app.accounts.devices import trusted_device
from app.accounts.errors import (
    InvalidCredentials,
    InvalidToken,
)
from app.accounts.models import (
    AccountStatus,
    TokenPurpose,
)
from app.accounts.password_policy import check_password_async
from app.accounts.principal import BrowserSession, Principal
from app.accounts.views import ClientInfo
from app.audit.models import AuditAction, AuditOutcome
from app.audit.service import Actor
from app.core import clock
from app.mfa.errors import InvalidCode
from app.mfa.service import Factor

#: the outbox kind of a password reset asked for by ``forgot_password`` (``app.deferred``)
PASSWORD_RESET_KIND = "accounts.password_reset"  # noqa: S105 - an outbox kind


class PasswordService(AccountsBase):
    """Forgot, reset and change a password, for one request."""

    async def forgot_password(
        self, *, email: str, client: ClientInfo, device_cookie: str | None = None
    ) -> None:
        """202 always; a reset mail only if the account exists. Rate-limited per email and IP;
        a browser with a device cookie for this account has its own allowance instead of the
        email's, which anyone can spend (``app.accounts.devices``).

        The request does the same work for every address: after the throttle, it stages one deferred
        message in the outbox (``PASSWORD_RESET_KIND``), and the account's lookup, the token, the
        audit entry and the mail happen once the response has been sent (``send_password_reset``).
        Looking the account up here made registered addresses answer measurably slower
        (bench/README.md "Performance rules in the code").
        """
        email_key = self.keys.email_key(email)
        device = trusted_device(self.keys.device, email_key, device_cookie)
        bucket = f"forgot:{device.key}" if device is not None else f"forgot:email:{email_key}"
        await self.throttle.hit(bucket, self.throttle.policies.account)
        await self.throttle.hit(self._ip_key("forgot", client), self.throttle.policies.ip)
        if self.mail is not None:
            self.mail.prepare(PASSWORD_RESET_KIND, {"email": email})

    async def send_password_reset(self, email: str) -> None:
        """The reset mail asked for by ``forgot_password``, if the account exists and is active:
        run by the outbox after the request, in a transaction that commits once."""
        account = await self.repository.by_email(email)
        if account is None or account.status != AccountStatus.ACTIVE.value:
            return
        now = clock.now()
        await self.repository.spend_other_tokens(account.id, TokenPurpose.PASSWORD_RESET.value, now)
        minutes = self.settings.password_reset_minutes
        token = await self._new_mail_token(
            account.id, TokenPurpose.PASSWORD_RESET, timedelta(minutes=minutes)
        )
        await self.audit.record(
            AuditAction.AUTH_PASSWORD_RESET_REQUESTED,
            actor=Actor.anonymous(),
            subject_id=account.id,
            object_type="account",
            object_id=account.id,
        )
        self._send(
            mails.password_reset(
                email,
                mails.language_of(account.language),
                self._link("reset-password", token),
                minutes,
            ),
            to=account.id,
            topic="password-reset",
        )

    async def reset_password(
        self, *, token: str, new_password: str, code: str | None, recovery_code: str | None
    ) -> None:
        """Mailed token AND second factor; then every session of the account ends."""
        now = clock.now()
        row = await self.repository.live_token(
            TokenPurpose.PASSWORD_RESET.value, self._mail_token_hash(token), now
        )
        account = await self.repository.get(row.account_id) if row is not None else None
        if row is None or account is None or account.status != AccountStatus.ACTIVE.value:
            # a suspended account's links are spent (set_status): the same answer, in case one
            # was issued in between
            raise InvalidToken("This link is unknown, already used or expired.")
        await check_password_async(new_password, email=account.email, full_name=account.full_name)
        factor: Factor | None = None
        if await self.mfa.is_enrolled(account.id):
            key = self._mfa_key(account.id)
            await self._check_throttle(account, key)
            factor = await self.mfa.verify(account.id, code=code, recovery_code=recovery_code)
            if factor is None:
                await self._factor_failed(account, key, "password_reset")
                raise InvalidCode(
                    "A valid code from your authenticator or a recovery code is needed."
                )
            await self.throttle.reset(key)
        if not await self.repository.spend_token(row.id, now):
            raise InvalidToken("This link is unknown, already used or expired.")
        await self.repository.update(
            account.id,
            password_hash=await self.passwords.hash(new_password),
            password_changed_at=now,
            # the mailed token proves the address
            email_verified_at=account.email_verified_at or now,
        )
        ended = await self.repository.delete_sessions(account.id)
        revoked = await self._revoke_grants(account.id)
        await self.throttle.reset(self._password_key(account.email))
        if factor is not None:
            await self._factor_succeeded(account, factor, None)
        await self.audit.record(
            AuditAction.AUTH_PASSWORD_RESET,
            actor=Actor.anonymous(),
            subject_id=account.id,
            object_type="account",
            object_id=account.id,
            details={"sessions_ended": ended, "oauth_tokens_revoked": revoked},
        )

    async def change_password(
        self, principal: Principal, ctx: BrowserSession, *, current: str, new: str
    ) -> None:
        account = ctx.account
        key = self._session_password_key(ctx)
        await self._check_throttle(account, key)
        if not await self.passwords.verify(account.password_hash, current):
            await self.throttle.failure(key, self.throttle.policies.account)
            await self.audit.record(
                AuditAction.AUTH_PASSWORD_CHANGED,
                actor=principal.actor,
                outcome=AuditOutcome.FAILURE,
                subject_id=account.id,
                details={"reason": "bad_password"},
            )
            raise InvalidCredentials("The current password is wrong.")
        await check_password_async(new, email=account.email, full_name=account.full_name)
        await self.repository.update(
            account.id,
            password_hash=await self.passwords.hash(new),
            password_changed_at=clock.now(),
        )
        ended = await self.repository.delete_sessions(account.id, except_id=ctx.session.id)
        revoked = await self._revoke_grants(account.id)
        await self.audit.record(
            AuditAction.AUTH_PASSWORD_CHANGED,
            actor=principal.actor,
            subject_id=account.id,
            details={"sessions_ended": ended, "oauth_tokens_revoked": revoked},
        )
