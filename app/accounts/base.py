"""What every accounts service holds (the request's session, hasher, throttle, audit and mail) and the
steps they share: throttle keys, mailed tokens, a second factor's outcome, session rotation."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.hooks import credentials_revoked
from app.accounts.models import (
    Account,
    AccountToken,
    AuthSession,
    SessionState,
    TokenPurpose,
)
from app.accounts.principal import SESSION_TOKEN_PREFIX, BrowserSession, Keys, keys_for
from app.accounts.repository import AccountRepository
from app.accounts.views import ClientInfo, IssuedSession, actor_of, network_of
from app.audit.models import AuditAction, AuditOutcome
from app.audit.service import AuditTrail
from app.core import clock
from app.core.crypto import hash_token, new_token
from app.core.hashing import PasswordHasher
from app.core.mail import MailQueue
from app.core.messages import Mail
from app.core.settings import Settings
from app.mfa.service import Factor, MfaService
from app.throttle.errors import Throttled
from app.throttle.service import Throttle

VERIFY_TOKEN_PREFIX = "erdv_ev_"  # noqa: S105 - prefixes, not secrets


RESET_TOKEN_PREFIX = "erdv_pr_"  # noqa: S105
CHANGE_TOKEN_PREFIX = "erdv_ec_"  # noqa: S105
_PREFIXES = {
    TokenPurpose.VERIFY_EMAIL: VERIFY_TOKEN_PREFIX,
    TokenPurpose.PASSWORD_RESET: RESET_TOKEN_PREFIX,
    TokenPurpose.CHANGE_EMAIL: CHANGE_TOKEN_PREFIX,
}


_USER_AGENT_MAX = 200


class AccountsBase:
    """The accounts domain's collaborators, bound to one request."""

    def __init__(
        self,
        session: AsyncSession,
        settings: Settings,
        passwords: PasswordHasher,
        throttle: Throttle,
        audit: AuditTrail,
        mail: MailQueue | None,
    ) -> None:
        self.settings = settings
        self.session = session
        self.repository = AccountRepository(session)
        self.mfa = MfaService(session, settings)
        self.passwords = passwords
        self.throttle = throttle
        self.audit = audit
        self.mail = mail
        self.keys: Keys = keys_for(settings.secret_key_bytes)

    def _password_key(self, email: str) -> str:
        return f"password:email:{self.keys.email_key(email)}"

    @staticmethod
    def _ip_key(scope: str, client: ClientInfo) -> str:
        """IPv6 clients are keyed by their /64: one subscriber usually holds the whole prefix and
        could otherwise rotate addresses to escape the per-address limit."""
        return f"{scope}:ip:{network_of(client.ip)}"

    @staticmethod
    def _session_password_key(ctx: BrowserSession) -> str:
        """The password typed again inside a full session (``/reauth``, a password change) is
        throttled per session: the session proves a completed login, so failed logins from
        elsewhere (the account's key) cannot hold its owner up, and a stolen session is held on
        its own key."""
        return f"password:session:{ctx.session.id}"

    @staticmethod
    def _mfa_key(account_id: uuid.UUID) -> str:
        return f"mfa:account:{account_id}"

    def _send(
        self, mail: Mail, *, to: uuid.UUID, topic: str, despite_failure: bool = False
    ) -> None:
        """Queue ``mail`` to account ``to``: listed in its notifications under ``topic``.
        ``despite_failure``: the mail reports the request's own failure (``MailQueue.queue``)."""
        if self.mail is not None:
            self.mail.queue(
                dataclasses.replace(mail, recipient_id=str(to), topic=topic),
                despite_failure=despite_failure,
            )

    def _link(self, path: str, token: str) -> str:
        # the token travels in the fragment: browsers never send it to a server or in a Referer
        return f"{self.settings.public_url.rstrip('/')}/{path}#token={token}"

    async def _new_mail_token(
        self,
        account_id: uuid.UUID,
        purpose: TokenPurpose,
        lifetime: timedelta,
        *,
        new_email: str | None = None,
    ) -> str:
        token = new_token(_PREFIXES[purpose])
        now = clock.now()
        await self.repository.add_token(
            AccountToken(
                account_id=account_id,
                purpose=purpose.value,
                token_hash=self._mail_token_hash(token),
                created_at=now,
                expires_at=now + lifetime,
                new_email=new_email,
            )
        )
        return token

    def _mail_token_hash(self, token: str) -> str:
        return hash_token(self.keys.mail_token, token)

    async def _check_throttle(self, account: Account, *keys: str) -> None:
        for key in keys:
            await self.throttle.serialize(key)
        wait = await self.throttle.retry_after(*keys)
        if wait:
            await self.audit.record(
                AuditAction.AUTH_THROTTLED,
                actor=actor_of(account),
                outcome=AuditOutcome.DENIED,
                subject_id=account.id,
                details={"reason": "second_factor"},
            )
            raise Throttled(wait)

    async def _factor_failed(self, account: Account, key: str, step: str) -> None:
        await self.throttle.failure(key, self.throttle.policies.mfa)
        await self.audit.record(
            AuditAction.AUTH_MFA_FAILED,
            actor=actor_of(account),
            outcome=AuditOutcome.FAILURE,
            subject_id=account.id,
            details={"step": step},
        )

    async def _factor_succeeded(
        self, account: Account, factor: Factor, session_id: uuid.UUID | None
    ) -> None:
        if factor is Factor.RECOVERY_CODE:
            await self.audit.record(
                AuditAction.AUTH_RECOVERY_CODE_USED,
                actor=actor_of(account),
                subject_id=account.id,
                details={"remaining": await self.mfa.remaining_recovery_codes(account.id)},
            )
        await self.audit.record(
            AuditAction.AUTH_MFA_SUCCEEDED,
            actor=actor_of(account),
            subject_id=account.id,
            object_type="session",
            object_id=session_id,
            details={"factor": factor.value},
        )

    async def _rotate(self, row: AuthSession, **changes: object) -> IssuedSession:
        """A new token for the same session row: the old cookie stops working at once."""
        token = new_token(SESSION_TOKEN_PREFIX)
        await self.repository.update_session(
            row.id, token_hash=self.keys.session_hash(token), last_seen_at=clock.now(), **changes
        )
        return IssuedSession(row.id, token, self.keys.csrf_token(token), SessionState(row.state))

    async def _revoke_grants(self, account_id: uuid.UUID) -> int:
        """End every grant made with the account's credentials (OAuth tokens: ``app.oauth``)."""
        return sum(await credentials_revoked.fire(self.session, account_id))
