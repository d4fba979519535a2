"""Passkeys in the login flow and on the security page (docs/security.md "MFA", docs/api.md).

``app.mfa.passkeys`` checks WebAuthn answers; this service decides what a success unlocks and
keeps the rules of every other factor:

- **Registration** needs a full session re-authenticated within the window (the route's
  ``RecentlyAuthenticatedAccount``): binding an authenticator is a sensitive operation
  (NIST SP 800-63B §6.1.2.1, an authenticated session at the AAL of the account).
- **As the second factor** a passkey completes a partial session exactly as a TOTP code does: the
  same per-account throttle with its hard stop (``policies.mfa``), the same audit entries
  (``auth.mfa_succeeded`` with ``factor: passkey``), the session id rotated.
- **Without password** a discoverable passkey opens a full session at once: user verification is
  required, so the passkey alone is a multi-factor authenticator (SP 800-63B §5.1.8). Failures
  are throttled per client address (no account is known before the answer verifies) and audited
  as failed logins. The challenge is bound to a short-lived HttpOnly cookie this service issues,
  so an answer cannot be replayed from another browser, nor a sign-in forced on a victim's
  browser (login CSRF: the victim's browser holds no cookie bound to the attacker's challenge).
- **At least one second factor remains**: the last passkey of an account without TOTP cannot be
  removed (``last_factor``); recovery codes are not a factor on their own (they stand in for one).
- **Every change is audited and mailed** to the holder (``mails.passkey_changed``). A correctly
  signed assertion whose counter went back (a clone, WebAuthn L2 §6.1.1) is refused, recorded as
  ``auth.passkey_clone_detected`` and answered ``invalid_passkey`` like any bad answer (not
  mailed: a failed request announces nothing, ``app.core.mail``).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import mails
from app.accounts.errors import AccountSuspended
from app.accounts.models import Account, AccountStatus, SessionState
from app.accounts.principal import BrowserSession, Principal
from app.accounts.service import AuthService
from app.accounts.views import ClientInfo, MfaCompleted, Reauthentication, actor_of
from app.audit.models import AuditAction, AuditOutcome
from app.audit.service import Actor, AuditTrail
from app.core import clock
from app.core.crypto import new_token
from app.core.db import lock_until_commit
from app.core.errors import NotAuthenticated, NotFound
from app.core.hashing import PasswordHasher
from app.core.mail import MailQueue
from app.core.settings import Settings
from app.mfa.errors import ClonedAuthenticator, InvalidPasskey, LastFactor, UnknownPasskey
from app.mfa.models import Passkey
from app.mfa.passkeys import CHALLENGE_SECONDS, Ceremony, PasskeyCeremonies
from app.mfa.service import Factor
from app.throttle.errors import Throttled
from app.throttle.service import Throttle

#: the cookie that binds a sign-in without password to the browser that asked for its challenge
SIGN_IN_COOKIE = "erdv_passkey"
SIGN_IN_COOKIE_PATH = "/api/v1/auth/passkey"
SIGN_IN_COOKIE_MAX_AGE = CHALLENGE_SECONDS
_COOKIE_MAX_LENGTH = 128


class PasskeyService(AuthService):
    """Passkey ceremonies wired to sessions, throttling, audit and mail, for one request."""

    def __init__(
        self,
        session: AsyncSession,
        settings: Settings,
        passwords: PasswordHasher,
        throttle: Throttle,
        audit: AuditTrail,
        mail: MailQueue | None,
    ) -> None:
        super().__init__(session, settings, passwords, throttle, audit, mail)
        self.ceremonies = PasskeyCeremonies(session, settings)

    def _session_binding(self, ctx: BrowserSession) -> str:
        # the row id survives the token's rotations (MFA completion, reauth)
        return self.ceremonies.binding("session", str(ctx.session.id))

    # -- registration -------------------------------------------------------------------------

    async def registration_options(self, ctx: BrowserSession) -> dict[str, Any]:
        account = ctx.account
        return await self.ceremonies.registration_options(
            account.id, account.email, account.full_name, self._session_binding(ctx)
        )

    async def add_passkey(
        self,
        ctx: BrowserSession,
        principal: Principal,
        credential: dict[str, Any],
        name: str | None,
    ) -> Passkey:
        account = ctx.account
        # a wrong answer counts as a wrong code does at TOTP activation (docs/security.md "MFA")
        key = self._mfa_key(account.id)
        await self._check_throttle(account, key)
        try:
            new = await self.ceremonies.register(self._session_binding(ctx), credential)
        except InvalidPasskey:
            await self._factor_failed(account, key, "passkey_registration")
            raise
        if not name:
            count = await self.ceremonies.count_of(account.id)
            word = "Passkey" if mails.language_of(account.language) == "en" else "Clé d'accès"
            name = f"{word} {count + 1}"
        passkey = await self.ceremonies.save(account.id, new, name)
        await self.audit.record(
            AuditAction.AUTH_PASSKEY_ADDED,
            actor=principal.actor,
            subject_id=account.id,
            object_type="passkey",
            object_id=passkey.id,
        )
        self._tell(account, "added", passkey.name)
        return passkey

    # -- the second factor --------------------------------------------------------------------

    async def second_factor_options(self, ctx: BrowserSession) -> dict[str, Any]:
        if SessionState(ctx.session.state) is not SessionState.MFA:
            raise NotAuthenticated("No second factor is pending for this session.")
        return await self.ceremonies.authentication_options(
            Ceremony.SECOND_FACTOR, self._session_binding(ctx), ctx.account.id
        )

    async def complete_second_factor(
        self, ctx: BrowserSession, credential: dict[str, Any]
    ) -> MfaCompleted:
        """As ``AuthService.verify_mfa`` with a code: throttled on the account's second-factor
        key, the session id rotated, the factor audited."""
        if SessionState(ctx.session.state) is not SessionState.MFA:
            raise NotAuthenticated("No second factor is pending for this session.")
        account = ctx.account
        key = self._mfa_key(account.id)
        await self._check_throttle(account, key)

        async def failed(_reason: str) -> None:
            await self._factor_failed(account, key, "passkey")

        await self._answered(
            Ceremony.SECOND_FACTOR,
            self._session_binding(ctx),
            credential,
            account.id,
            actor_of(account),
            failed,
        )
        await self.throttle.reset(key)
        issued = await self._rotate(
            ctx.session, state=SessionState.FULL.value, authenticated_at=clock.now()
        )
        await self._factor_succeeded(account, Factor.PASSKEY, ctx.session.id)
        return MfaCompleted(account, dataclasses.replace(issued, state=SessionState.FULL))

    # -- re-authentication --------------------------------------------------------------------

    async def reauth_options(self, ctx: BrowserSession) -> dict[str, Any]:
        """Request options for this account's passkeys, bound to this full session."""
        return await self.ceremonies.authentication_options(
            Ceremony.REAUTH, self._session_binding(ctx), ctx.account.id
        )

    async def reauthenticate_with_passkey(
        self, principal: Principal, ctx: BrowserSession, credential: dict[str, Any]
    ) -> Reauthentication:
        """``/reauth`` with a passkey instead of the password and a code: user verification makes
        one passkey two factors (NIST SP 800-63B §5.1.8, a multi-factor cryptographic
        authenticator), so it proves as much as the pair. Throttled on the second factor's key,
        as a wrong code at ``/reauth`` is; the session rotated and audited as there."""
        account = ctx.account
        key = self._mfa_key(account.id)
        await self._check_throttle(account, key)

        async def failed(_reason: str) -> None:
            await self.throttle.failure(key, self.throttle.policies.mfa)
            await self._reauth_failed(account, "passkey")

        await self._answered(
            Ceremony.REAUTH,
            self._session_binding(ctx),
            credential,
            account.id,
            actor_of(account),
            failed,
        )
        await self.throttle.reset(key)
        return await self._reauthenticated(principal, ctx, Factor.PASSKEY)

    # -- sign-in without password -------------------------------------------------------------

    def sign_in_cookie(self, current: str | None) -> str:
        """The browser's sign-in cookie: kept while it is one of ours (two tabs share it), else
        a new 256-bit random value."""
        if current and len(current) <= _COOKIE_MAX_LENGTH and current.startswith("erdv_pk_"):
            return current
        return new_token("erdv_pk_")

    async def sign_in_options(self, cookie: str) -> dict[str, Any]:
        return await self.ceremonies.authentication_options(
            Ceremony.SIGN_IN, self.ceremonies.binding("browser", cookie), None
        )

    async def sign_in(
        self,
        *,
        cookie: str | None,
        credential: dict[str, Any],
        client: ClientInfo,
        previous_token: str | None,
    ) -> MfaCompleted:
        """A full session from a discoverable passkey alone (user verification required)."""
        ip_key = self._ip_key("passkey", client)
        await self.throttle.serialize(ip_key)
        wait = await self.throttle.retry_after(ip_key)
        if wait:
            await self._login_failed(None, "throttled", action=AuditAction.AUTH_THROTTLED)
            raise Throttled(wait)

        async def failed(reason: str) -> None:
            await self.throttle.failure(ip_key, self.throttle.policies.ip)
            await self._login_failed(None, reason)

        binding = self.ceremonies.binding("browser", cookie or "")
        passkey = await self._answered(
            Ceremony.SIGN_IN, binding, credential, None, Actor.anonymous(), failed
        )
        account = await self.repository.get(passkey.account_id)
        if account is None or account.status != AccountStatus.ACTIVE.value:
            await self._login_failed(None, "suspended")
            raise AccountSuspended("This account is suspended; contact support.")
        if previous_token:
            # as at the password step: no session fixation (ASVS V7.2.4)
            await self.repository.delete_session_by_hash(self.keys.session_hash(previous_token))
        issued = await self._new_session(account.id, SessionState.FULL, client)
        await self.repository.update_session(issued.session_id, authenticated_at=clock.now())
        await self.audit.record(
            AuditAction.AUTH_LOGIN_SUCCEEDED,
            actor=actor_of(account),
            subject_id=account.id,
            object_type="session",
            object_id=issued.session_id,
            details={"next": SessionState.FULL.value, "factor": Factor.PASSKEY.value},
        )
        await self._factor_succeeded(account, Factor.PASSKEY, issued.session_id)
        return MfaCompleted(account, issued)

    # -- the security page --------------------------------------------------------------------

    async def list_passkeys(self, principal: Principal) -> list[Passkey]:
        return await self.ceremonies.passkeys_of(principal.account_id)

    async def passkey(self, principal: Principal, passkey_id: uuid.UUID) -> Passkey:
        """One of the caller's passkeys; anyone else's is 404, as if it did not exist."""
        passkey = await self.ceremonies.get_of(principal.account_id, passkey_id)
        if passkey is None:
            raise NotFound("No such passkey.")
        return passkey

    async def rename_passkey(
        self, principal: Principal, passkey_id: uuid.UUID, name: str
    ) -> Passkey:
        if not await self.ceremonies.rename(principal.account_id, passkey_id, name):
            raise NotFound("No such passkey.")
        passkey = await self.ceremonies.get_of(principal.account_id, passkey_id)
        if passkey is None:  # pragma: no cover - renamed in this transaction
            raise NotFound("No such passkey.")
        await self.audit.record(
            AuditAction.AUTH_PASSKEY_RENAMED,
            actor=principal.actor,
            subject_id=principal.account_id,
            object_type="passkey",
            object_id=passkey_id,
        )
        self._tell(await self.account(principal), "renamed", name)
        return passkey

    async def remove_passkey(self, principal: Principal, passkey_id: uuid.UUID) -> None:
        """Refused for the last second factor (``last_factor``): checked under a lock, so two
        removals at once cannot both see another factor left."""
        account_id = principal.account_id
        await lock_until_commit(self.session, f"passkeys:{account_id}")
        passkey = await self.ceremonies.get_of(account_id, passkey_id)
        if passkey is None:
            raise NotFound("No such passkey.")
        others = await self.ceremonies.count_of(account_id) - 1
        if others == 0 and not await self.mfa.is_enrolled(account_id):
            raise LastFactor(
                "Add another passkey or an authenticator app before removing this one."
            )
        await self.ceremonies.remove(account_id, passkey_id)
        await self.audit.record(
            AuditAction.AUTH_PASSKEY_REMOVED,
            actor=principal.actor,
            subject_id=account_id,
            object_type="passkey",
            object_id=passkey_id,
        )
        self._tell(await self.account(principal), "removed", passkey.name)

    # -- shared -------------------------------------------------------------------------------

    def _tell(self, account: Account, event: mails.PasskeyEvent, name: str) -> None:
        self._send(
            mails.passkey_changed(account.email, mails.language_of(account.language), event, name),
            to=account.id,
            topic="passkeys",
        )

    async def _answered(
        self,
        ceremony: Ceremony,
        binding: str,
        credential: dict[str, Any],
        account_id: uuid.UUID | None,
        actor: Actor,
        failed: Callable[[str], Awaitable[None]],
    ) -> Passkey:
        """The passkey that answered ``ceremony``'s challenge, or ``failed(reason)`` then 400:
        a suspected clone (``passkey_clone``) is audited and its holder told, and the caller
        learns no more than for any bad answer (``invalid_passkey``); a bad or unknown answer
        keeps its own code."""
        try:
            return await self.ceremonies.authenticate(ceremony, binding, credential, account_id)
        except ClonedAuthenticator as clone:
            await self._clone_detected(clone, actor)
            await failed("passkey_clone")
            raise InvalidPasskey("The passkey could not be verified.") from None
        except (InvalidPasskey, UnknownPasskey) as error:
            await failed(error.code)
            raise

    async def _clone_detected(self, clone: ClonedAuthenticator, actor: Actor) -> None:
        """Audited, and the holder told (NIST SP 800-63B §6.1.2.1): the request then fails with
        ``invalid_passkey``, a ``RecordedFailure`` that keeps this entry and this mail."""
        account = await self.repository.get(clone.account_id)
        if account is not None:
            self._send(
                mails.passkey_copy_refused(
                    account.email, mails.language_of(account.language), clone.name
                ),
                to=account.id,
                topic="passkeys",
                despite_failure=True,
            )
        await self.audit.record(
            AuditAction.AUTH_PASSKEY_CLONE_DETECTED,
            actor=actor,
            outcome=AuditOutcome.DENIED,
            subject_id=clone.account_id,
            object_type="passkey",
            object_id=clone.passkey_id,
            details={"stored_count": clone.stored, "seen_count": clone.seen},
        )
