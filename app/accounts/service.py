"""Registration, login, the second factor, sessions and the password lifecycle.

The rules come from docs/security.md ("Passwords", "MFA", "Throttling", "Sessions") and docs/api.md
("Accounts, sessions and MFA"). The decisions worth knowing:

- **No enumeration** (ASVS V6.3.8): register, login and forgot-password answer alike whether or not the
  email is registered, and do the same argon2 work (a dummy hash for unknown emails). Mails go out after
  the response (``app.core.mail``), so their latency tells nothing either.
- **Failures are durable.** A failed attempt records its throttle counter and audit entry, then raises
  a ``RecordedFailure`` error: the request's transaction is committed before the error is answered
  (``RecordedFailure`` in ``app.core.errors``). Nothing else is written before such a raise.
- **Sessions** are server-side rows; the cookie token is 256 random bits and the row stores its HMAC.
  The token is rotated at login (a new row; the cookie's previous session is deleted), at MFA
  completion and at re-authentication (ASVS V7.2.4), and the CSRF token, an HMAC of it, rotates along.
- **The second factor is never bypassed**: the password reset needs the mailed token *and* a TOTP or
  recovery code (once TOTP is enrolled), and ends every session (ASVS V6.4.3)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import mails
from app.accounts.base import _USER_AGENT_MAX, AccountsBase
from app.accounts.devices import remember, trusted_device
from app.accounts.errors import (
    AccountSuspended,
    EmailNotVerified,
    EmailTaken,
    InvalidCredentials,
    InvalidToken,
    MfaRequired,
    ReauthRequired,
    SameEmail,
)
from app.accounts.hooks import Invitee, invitation_redeemed
from app.accounts.models import (
    Account,
    AccountStatus,
    AuthSession,
    Role,
    SessionState,
    TokenPurpose,
)
from app.accounts.password_policy import check_password_async
from app.accounts.principal import SESSION_TOKEN_PREFIX, BrowserSession, Principal
from app.accounts.relatives import RelativeRepository
from app.accounts.repository import AccountRepository, LoginAccount
from app.accounts.views import (
    Activation,
    ClientInfo,
    IssuedSession,
    MfaCompleted,
    Reauthentication,
    actor_of,
)
from app.audit.models import AuditAction, AuditOutcome
from app.audit.service import Actor
from app.core import clock
from app.core.crypto import new_token
from app.core.db import new_id
from app.core.errors import NotAuthenticated, NotFound
from app.core.messages import Mail
from app.core.settings import Settings
from app.mfa.errors import InvalidCode
from app.mfa.service import Enrolment, Factor
from app.throttle.errors import Throttled
from app.throttle.service import Pending, Throttle


async def display_names(session: AsyncSession, account_ids: set[str]) -> dict[str, str]:
    """Full names for account ids (the patient's access log shows who, by name)."""
    ids = set()
    for raw in account_ids:
        try:
            ids.add(uuid.UUID(raw))
        except ValueError:
            continue
    names = await AccountRepository(session).names(ids)
    return {str(key): value for key, value in names.items()}


class AuthService(AccountsBase):
    """Registration, sign-in, the second factor, the session and the profile, for one request."""

    async def register(
        self,
        *,
        client: ClientInfo,
        email: str,
        password: str,
        full_name: str,
        role: Role,
        phone: str | None,
        rpps: str | None,
        language: mails.Language = "fr",
        invitation: str | None = None,
    ) -> None:
        """202 alike for a new and a taken email: same checks, same hashing, one mail either way.

        A secretary registers with the invitation mailed to the address (``app.team``): that
        mail already proved the address, so the account is verified at once and joins the
        practice; an invalid invitation answers 422 ``invalid_invitation`` and nothing stays.

        Rate-limited per client address before any work: each call costs a password check, an argon2
        hash and a mail (mail-bombing, CPU exhaustion; docs/security.md "Throttling").
        """
        await self.throttle.hit(self._ip_key("register", client), self.throttle.policies.ip)
        await check_password_async(password, email=email, full_name=full_name)
        password_hash = await self.passwords.hash(password)
        existing = await self.repository.by_email(email)
        if existing is not None:
            await self._refuse_registration(
                existing, "email_taken", mails.already_registered, "already-registered"
            )
            return
        holder = await self.repository.by_rpps(rpps) if rpps else None
        if (
            holder is not None
            and holder.email_verified_at is None
            and holder.created_at
            < clock.now() - timedelta(hours=self.settings.email_verification_hours)
        ):
            # an address never confirmed, whose link has expired, holds no number: nobody can
            # squat a practitioner's RPPS with an address they never prove
            await self.repository.update(holder.id, rpps=None)
            holder = None
        if holder is not None:
            # One account per RPPS number (charter C2: who practises is who they say). The answer
            # is the same 202 as ever, so nobody learns which numbers are registered; the
            # number's holder is told instead, at their own address.
            await self._refuse_registration(
                holder, "rpps_taken", mails.rpps_claimed, "rpps-claimed"
            )
            return
        now = clock.now()
        account = await self.repository.add(
            Account(
                email=email,
                role=role.value,
                full_name=full_name,
                phone=phone,
                rpps=rpps,
                language=language,
                password_hash=password_hash,
                password_changed_at=now,
                created_at=now,
            )
        )
        await self.audit.record(
            AuditAction.ACCOUNT_REGISTERED,
            actor=Actor.anonymous(),
            subject_id=account.id,
            object_type="account",
            object_id=account.id,
            details={"role": role.value},
        )
        if role is Role.SECRETARY:
            await invitation_redeemed.fire(
                self.session, Invitee(invitation or "", email, account.id, self.audit, self.mail)
            )
            await self.repository.update(account.id, email_verified_at=now)
            return
        token = await self._new_mail_token(
            account.id,
            TokenPurpose.VERIFY_EMAIL,
            timedelta(hours=self.settings.email_verification_hours),
        )
        self._send(
            mails.verification(
                email,
                language,
                self._link("verify-email", token),
                self.settings.email_verification_hours,
            ),
            to=account.id,
            topic="email-verification",
        )

    async def _refuse_registration(
        self,
        holder: Account,
        reason: str,
        mail: Callable[[str, mails.Language, str], Mail],
        topic: str,
    ) -> None:
        """A registration that would duplicate ``holder`` (its address or its RPPS number): audited
        as a failure against the holder, who is mailed; the caller answers 202 as ever."""
        await self.audit.record(
            AuditAction.ACCOUNT_REGISTERED,
            actor=Actor.anonymous(),
            outcome=AuditOutcome.FAILURE,
            subject_id=holder.id,
            object_type="account",
            object_id=holder.id,
            details={"reason": reason},
        )
        home = f"{self.settings.public_url.rstrip('/')}/"
        self._send(
            mail(holder.email, mails.language_of(holder.language), home), to=holder.id, topic=topic
        )

    async def verify_email(self, token: str) -> None:
        now = clock.now()
        row = await self.repository.live_token(
            TokenPurpose.VERIFY_EMAIL.value, self._mail_token_hash(token), now
        )
        if row is None or not await self.repository.spend_token(row.id, now):
            raise InvalidToken("This link is unknown, already used or expired.")
        account = await self.repository.get(row.account_id)
        if account is None:
            raise InvalidToken("This link is unknown, already used or expired.")
        if account.email_verified_at is None:
            await self.repository.update(account.id, email_verified_at=now)
        await self.audit.record(
            AuditAction.ACCOUNT_EMAIL_VERIFIED,
            actor=Actor.anonymous(),
            subject_id=account.id,
            object_type="account",
            object_id=account.id,
        )

    async def login(
        self,
        *,
        email: str,
        password: str,
        client: ClientInfo,
        previous_token: str | None,
        device_cookie: str | None = None,
    ) -> IssuedSession:
        """Password step: a *partial* session (``mfa_setup`` or ``mfa``), never a full one.

        Its SQL is kept to a fixed few statements (tests/accounts/test_login_statements.py): the
        key's lock, then one read of the account, its TOTP enrolment and (database store) the
        throttle keys, then the session row, then the audit append at commit.

        A browser with a device cookie for this account is throttled on that device's key, not
        the account's (``app.accounts.devices``): failures from elsewhere cannot hold it up.
        """
        account_key = self._password_key(email)
        ip_key = self._ip_key("login", client)
        device = trusted_device(self.keys.device, self.keys.email_key(email), device_cookie)
        keys = (account_key, ip_key) if device is None else (account_key, ip_key, device.key)
        await self.throttle.serialize(account_key)
        if self.throttle.in_database:
            found = await self.repository.login_candidate(email, keys)
            states = found.throttle
        else:
            found = await self.repository.login_candidate(email)
            states = await self.throttle.states(*keys)
        # a device cookie that failed too often is locked out: it counts as none (OWASP)
        trusted = device is not None and not _pending(self.throttle, states, device.key).wait
        held_key = device.key if device is not None and trusted else account_key
        pending = _pending(self.throttle, states, held_key, ip_key)
        account = found.account
        if pending.wait:
            await self._login_failed(account, "throttled", action=AuditAction.AUTH_THROTTLED)
            raise Throttled(pending.wait)

        checked = await self.passwords.check(account.password_hash if account else None, password)
        if not checked.ok or account is None:
            await self.throttle.failure(held_key, self.throttle.policies.account)
            await self.throttle.failure(ip_key, self.throttle.policies.ip)
            await self._login_failed(account, "bad_password" if account else "unknown_account")
            raise InvalidCredentials("The email or the password is wrong.")

        # The password is right: from here on the answer may say so (docs/api.md "Errors" lists these codes).
        if account.email_verified_at is None:
            await self._login_failed(account, "email_not_verified")
            raise EmailNotVerified("Confirm your email address first (see the mail we sent).")
        if account.status != AccountStatus.ACTIVE.value:
            await self._login_failed(account, "suspended")
            raise AccountSuspended("This account is suspended; contact support.")

        if held_key in pending.known:  # attempts on one account take turns: still exact
            await self.throttle.reset(held_key)
        if checked.rehash:
            # parameters changed since this hash was made, or it was made before passwords were
            # normalised (NFKC): upgrade it now that we know the password
            await self.repository.update(
                account.id, password_hash=await self.passwords.hash(password)
            )
        if previous_token:
            # a login replaces whatever session the browser had (no session fixation, ASVS V7.2.4)
            await self.repository.delete_session_by_hash(self.keys.session_hash(previous_token))
        state = SessionState.MFA if account.totp_enrolled else SessionState.MFA_SETUP
        issued = await self._new_session(account.id, state, client)
        await self.audit.record(
            AuditAction.AUTH_LOGIN_SUCCEEDED,
            actor=Actor.account(account.id, account.role),
            subject_id=account.id,
            object_type="session",
            object_id=issued.session_id,
            details={"next": state.value},
        )
        return issued

    async def _login_failed(
        self,
        account: LoginAccount | None,
        reason: str,
        *,
        action: AuditAction = AuditAction.AUTH_LOGIN_FAILED,
    ) -> None:
        await self.audit.record(
            action,
            actor=Actor.anonymous(),
            outcome=(
                AuditOutcome.FAILURE
                if action is AuditAction.AUTH_LOGIN_FAILED
                else AuditOutcome.DENIED
            ),
            subject_id=account.id if account else None,
            object_type="account" if account else None,
            object_id=account.id if account else None,
            details={"reason": reason},
        )

    async def _new_session(
        self, account_id: uuid.UUID, state: SessionState, client: ClientInfo
    ) -> IssuedSession:
        token = new_token(SESSION_TOKEN_PREFIX)
        now = clock.now()
        session_id = new_id()
        await self.repository.insert_session(
            {
                "id": session_id,
                "account_id": account_id,
                "token_hash": self.keys.session_hash(token),
                "state": state.value,
                "created_at": now,
                "last_seen_at": now,
                "authenticated_at": None,
                "reauthenticated_at": None,
                "ip": client.ip,
                "user_agent": (client.user_agent or "")[:_USER_AGENT_MAX] or None,
            }
        )
        return IssuedSession(session_id, token, self.keys.csrf_token(token), state)

    def device_cookie(self, account: Account, cookie: str | None) -> str:
        """The device cookie to set once a login is complete (``app.accounts.devices``)."""
        return remember(self.keys.device, self.keys.email_key(account.email), cookie)

    async def begin_totp_setup(self, ctx: BrowserSession) -> Enrolment:
        """Partial ``mfa_setup`` sessions enrol; a full session re-enrols only after ``/reauth``."""
        await self._may_enrol(ctx)
        return await self.mfa.begin_enrolment(ctx.account.id, ctx.account.email)

    async def _may_enrol(self, ctx: BrowserSession) -> SessionState:
        """Who may (re-)enrol an authenticator.

        A partial ``mfa_setup`` session may only while the account has none: a session opened
        before the owner enrolled must not replace the owner's authenticator later (that would
        bypass the second factor with the password alone). A full session may, after ``/reauth``.
        """
        state = SessionState(ctx.session.state)
        if state is SessionState.MFA:
            raise NotAuthenticated("Verify your code first.")
        if state is SessionState.MFA_SETUP and await self.mfa.is_enrolled(ctx.account.id):
            raise MfaRequired("This account already has an authenticator: sign in again.")
        if state is SessionState.FULL and not _recent(
            ctx.session.reauthenticated_at, self.settings
        ):
            raise ReauthRequired("Re-authenticate before replacing your authenticator.")
        return state

    async def activate_totp(self, ctx: BrowserSession, code: str) -> Activation:
        state = await self._may_enrol(ctx)
        account = ctx.account
        key = self._mfa_key(account.id)
        await self._check_throttle(account, key)
        codes = await self.mfa.activate(account.id, code)
        if codes is None:
            await self._factor_failed(account, key, "activation")
            raise InvalidCode("The code is wrong; check the time on your device.")
        await self.throttle.reset(key)
        now = clock.now()
        # A new authenticator ends every other session: a replaced one (docs/security.md "Sessions"),
        # and at first enrolment any other half-open session started with the password alone.
        ended = await self.repository.delete_sessions(account.id, except_id=ctx.session.id)
        if state is SessionState.FULL:
            # a reset also revokes the OAuth grants, as a password change does: whatever the
            # old authenticator let in, an application included, is out (SECURITY.md "Sessions")
            revoked = await self._revoke_grants(account.id)
            await self.audit.record(
                AuditAction.AUTH_MFA_RESET,
                actor=actor_of(account),
                subject_id=account.id,
                details={"sessions_ended": ended, "oauth_tokens_revoked": revoked},
            )
        issued = await self._rotate(
            ctx.session, state=SessionState.FULL.value, authenticated_at=now
        )
        await self.audit.record(
            AuditAction.AUTH_MFA_ENROLLED,
            actor=actor_of(account),
            subject_id=account.id,
            object_type="session",
            object_id=ctx.session.id,
        )
        return Activation(codes, _full(issued))

    async def verify_mfa(
        self, ctx: BrowserSession, *, code: str | None, recovery_code: str | None
    ) -> MfaCompleted:
        if SessionState(ctx.session.state) is not SessionState.MFA:
            raise NotAuthenticated("No second factor is pending for this session.")
        account = ctx.account
        key = self._mfa_key(account.id)
        await self._check_throttle(account, key)
        factor = await self.mfa.verify(account.id, code=code, recovery_code=recovery_code)
        if factor is None:
            await self._factor_failed(account, key, "login")
            raise InvalidCode("The code is wrong or was already used.")
        await self.throttle.reset(key)
        issued = await self._rotate(
            ctx.session, state=SessionState.FULL.value, authenticated_at=clock.now()
        )
        await self._factor_succeeded(account, factor, ctx.session.id)
        return MfaCompleted(account, _full(issued))

    async def logout(self, ctx: BrowserSession) -> None:
        await self.repository.delete_session(ctx.session.id)
        await self.audit.record(
            AuditAction.AUTH_LOGGED_OUT,
            actor=actor_of(ctx.account),
            subject_id=ctx.account.id,
            object_type="session",
            object_id=ctx.session.id,
        )

    async def reauthenticate(
        self, principal: Principal, ctx: BrowserSession, *, password: str, code: str
    ) -> Reauthentication:
        """Password and a fresh TOTP code again; rotates the session (ASVS V7.5.3)."""
        account = ctx.account
        password_key = self._session_password_key(ctx)
        mfa_key = self._mfa_key(account.id)
        await self._check_throttle(account, password_key, mfa_key)
        if not await self.passwords.verify(account.password_hash, password):
            await self.throttle.failure(password_key, self.throttle.policies.account)
            await self._reauth_failed(account, "password")
            raise InvalidCredentials("The password is wrong.")
        if not await self.mfa.verify_totp(account.id, code):
            # the second factor's policy, hard stop included, as at /mfa/verify (docs/security.md "MFA")
            await self.throttle.failure(mfa_key, self.throttle.policies.mfa)
            await self._reauth_failed(account, "code")
            raise InvalidCode("The code is wrong or was already used.")
        await self.throttle.reset(password_key)
        await self.throttle.reset(mfa_key)
        return await self._reauthenticated(principal, ctx, Factor.TOTP)

    async def _reauthenticated(
        self, principal: Principal, ctx: BrowserSession, factor: Factor
    ) -> Reauthentication:
        """A re-authentication that passed: the session rotated (ASVS V7.5.3) and audited, with
        the factor that proved it."""
        now = clock.now()
        issued = await self._rotate(ctx.session, reauthenticated_at=now)
        await self.audit.record(
            AuditAction.AUTH_REAUTHENTICATED,
            actor=principal.actor,
            subject_id=ctx.account.id,
            object_type="session",
            object_id=ctx.session.id,
            details={"factor": factor.value},
        )
        return Reauthentication(issued, now, now + self.reauth_window)

    @property
    def reauth_window(self) -> timedelta:
        return timedelta(minutes=self.settings.reauth_window_minutes)

    def reauth_seconds_left(self, ctx: BrowserSession) -> int:
        """How long the session's last re-authentication still unlocks sensitive operations, in
        whole seconds (0 if none): the front end asks for one before a download it cannot retry."""
        at = ctx.session.reauthenticated_at
        if at is None:
            return 0
        return max(0, int((at + self.reauth_window - clock.now()).total_seconds()))

    async def _reauth_failed(self, account: Account, reason: str) -> None:
        await self.audit.record(
            AuditAction.AUTH_REAUTH_FAILED,
            actor=actor_of(account),
            outcome=AuditOutcome.FAILURE,
            subject_id=account.id,
            details={"reason": reason},
        )

    async def list_sessions(self, principal: Principal) -> list[AuthSession]:
        """The account's live sessions: one past its timeout is over, whether or not its
        cookie came back to be told (``session-retention`` deletes its row)."""
        now = clock.now()
        return [
            row
            for row in await self.repository.sessions_of(principal.account_id)
            if not row.ended(principal.role.value, now, self.settings)
        ]

    async def revoke_session(self, principal: Principal, session_id: uuid.UUID) -> None:
        if not await self.repository.delete_session_of(principal.account_id, session_id):
            raise NotFound("No such session.")
        await self.audit.record(
            AuditAction.AUTH_SESSION_REVOKED,
            actor=principal.actor,
            subject_id=principal.account_id,
            object_type="session",
            object_id=session_id,
        )

    async def account(self, principal: Principal) -> Account:
        account = await self.repository.get(principal.account_id)
        if account is None:  # pragma: no cover - a principal's account exists
            raise NotFound("No such account.")
        return account

    async def request_email_change(self, principal: Principal, new_email: str) -> None:
        """A change of address (GDPR art. 16): a link to the new address makes it the account's,
        and the current one is told at once, so a stolen session cannot move the account away
        unnoticed (the route also asks for a recent re-authentication). An address another account
        holds gets the same answer and the same mail to the current one, and its holder a notice:
        no oracle of who is registered, as at registration (docs/security.md "Passwords").
        Rate-limited per account: each request mails addresses its caller chose."""
        account = await self.account(principal)
        if new_email == account.email:
            raise SameEmail(
                "This is already your address.",
                errors=[{"field": "email", "message": "already your address"}],
            )
        # each request mails one or two addresses the caller chose: an allowance, as for exports
        await self.throttle.hit(f"email-change:account:{account.id}", self.throttle.policies.export)
        now = clock.now()
        language = mails.language_of(account.language)
        # the current address is told whatever becomes of the request: its holder can react, and
        # what arrives there says nothing of who holds the new one
        self._send(
            mails.email_change_requested(account.email, language, new_email),
            to=account.id,
            topic="email-change",
        )
        holder = await self.repository.by_email(new_email)
        if holder is not None:
            self._send(
                mails.address_taken(
                    new_email,
                    mails.language_of(holder.language),
                    f"{self.settings.public_url.rstrip('/')}/",
                ),
                to=holder.id,
                topic="email-change",
            )
        else:
            # one pending change at a time: an earlier link stops working
            await self.repository.spend_other_tokens(
                account.id, TokenPurpose.CHANGE_EMAIL.value, now
            )
            hours = self.settings.email_verification_hours
            token = await self._new_mail_token(
                account.id, TokenPurpose.CHANGE_EMAIL, timedelta(hours=hours), new_email=new_email
            )
            self._send(
                mails.confirm_new_email(
                    new_email, language, self._link("confirm-email", token), hours
                ),
                to=account.id,
                topic="email-change",
            )
        await self.audit.record(
            AuditAction.ACCOUNT_EMAIL_CHANGE_REQUESTED,
            actor=principal.actor,
            subject_id=account.id,
            object_type="account",
            object_id=account.id,
        )

    async def confirm_email_change(self, token: str) -> None:
        """The link from the new address: it becomes the account's (and verified), the former
        one is told. 400 ``invalid_token`` for an unknown, used or expired link; 409
        ``email_taken`` if another account took the address since the link was sent."""
        now = clock.now()
        row = await self.repository.live_token(
            TokenPurpose.CHANGE_EMAIL.value, self._mail_token_hash(token), now
        )
        if row is None or row.new_email is None:
            raise InvalidToken("This link is unknown, already used or expired.")
        account = await self.repository.get(row.account_id)
        if account is None or account.status != AccountStatus.ACTIVE.value:
            raise InvalidToken("This link is unknown, already used or expired.")
        taken = EmailTaken("Another account uses this address now; ask for a change again.")
        if await self.repository.by_email(row.new_email) is not None:
            raise taken
        if not await self.repository.spend_token(row.id, now):
            raise InvalidToken("This link is unknown, already used or expired.")
        former = account.email
        # a registration or another change may take the address between the check and here
        if not await self.repository.move_email(account.id, row.new_email, now):
            raise taken
        # links mailed to the former address (a password reset) stop working with it
        await self.repository.spend_all_tokens(account.id, now)
        await self.audit.record(
            AuditAction.ACCOUNT_EMAIL_CHANGED,
            actor=actor_of(account),
            subject_id=account.id,
            object_type="account",
            object_id=account.id,
        )
        self._send(
            mails.email_changed(former, mails.language_of(account.language), row.new_email),
            to=account.id,
            topic="email-change",
        )

    async def erase(self, principal: Principal, *, cancelled: int = 0) -> dict[str, int]:
        """The account's erasure (GDPR art. 17), what the accounts domain holds of it: sessions,
        mailed links, OAuth grants (``credentials_revoked``), MFA secrets and the relatives'
        names and birth dates go; the row stays,
        because past appointments and consent proofs point at it (docs/privacy: kept, minimal),
        but names nobody: no name, phone or RPPS, an address under ``.invalid`` (RFC 6761) so the
        real one can register again, no usable password. The audit trail keeps its entries as
        they are (the chain still verifies): they hold the account's id, which now names nobody.
        The caller cancels the account's appointments first (their notices read the account), and
        says how many, for the last mail to the address (``mails.account_deleted``)."""
        account_id = principal.account_id
        account = await self.account(principal)
        language = mails.language_of(account.language)
        self._send(
            mails.practice_closed(
                account.email, language, cancelled, self.settings.practice_closing_days
            )
            if principal.role is Role.PRACTITIONER
            else mails.account_deleted(account.email, language, cancelled),
            to=account_id,
            topic="account-deleted",
        )
        ended = await self.repository.delete_sessions(account_id)
        revoked = await self._revoke_grants(account_id)
        await self.repository.delete_tokens(account_id)
        await self.mfa.forget(account_id)
        relatives = await RelativeRepository(self.session).erase(account_id, clock.now())
        await self.repository.update(
            account_id,
            email=f"deleted+{account_id.hex}@erdv.invalid",
            full_name="",
            phone=None,
            rpps=None,
            password_hash="!erased",  # noqa: S106 - no hash: no password verifies against it
            status=AccountStatus.DELETED.value,
            email_verified_at=None,
            erased_at=clock.now(),
        )
        counts = {"sessions_ended": ended, "oauth_tokens_revoked": revoked, "relatives": relatives}
        await self.audit.record(
            AuditAction.ACCOUNT_DELETED,
            actor=principal.actor,
            subject_id=account_id,
            object_type="account",
            object_id=account_id,
            details=counts,
        )
        return counts

    async def update_profile(self, principal: Principal, changes: dict[str, str | None]) -> Account:
        """Name, phone (E.164) and language; audited with the names of the fields changed, never
        their values (docs/security.md "Audit trail")."""
        if changes:
            await self.repository.update(principal.account_id, **changes)
            await self.audit.record(
                AuditAction.ACCOUNT_PROFILE_UPDATED,
                actor=principal.actor,
                subject_id=principal.account_id,
                object_type="account",
                object_id=principal.account_id,
                details={"fields": ",".join(sorted(changes))},
            )
        return await self.account(principal)


def _pending(throttle: Throttle, states: Mapping[str, datetime | None], *keys: str) -> Pending:
    """``Throttle.pending_from`` over some of the states read."""
    return throttle.pending_from({key: states[key] for key in keys if key in states})


def _recent(at: object, settings: Settings) -> bool:
    return isinstance(at, datetime) and clock.now() - at <= timedelta(
        minutes=settings.reauth_window_minutes
    )


def _full(issued: IssuedSession) -> IssuedSession:
    return IssuedSession(issued.session_id, issued.token, issued.csrf_token, SessionState.FULL)
