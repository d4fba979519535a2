"""Registration, login, the second factor, sessions and the password lifecycle.

The rules come from SECURITY.md ("Passwords", "MFA", "Throttling", "Sessions") and API.md ("Accounts,
sessions and MFA"). The decisions worth knowing:

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
  recovery code (once TOTP is enrolled), and ends every session (ASVS V6.4.3).
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import mails
from app.accounts.devices import remember, trusted_device
from app.accounts.errors import (
    AccountSuspended,
    CannotSuspendSelf,
    EmailNotVerified,
    InvalidCredentials,
    InvalidToken,
    MfaRequired,
    ReauthRequired,
)
from app.accounts.hooks import credentials_revoked
from app.accounts.models import (
    Account,
    AccountStatus,
    AccountToken,
    AuthSession,
    Role,
    SessionState,
    TokenPurpose,
)
from app.accounts.passwords import check_password_async
from app.accounts.principal import SESSION_TOKEN_PREFIX, Keys, Principal, SessionContext, keys_for
from app.accounts.repository import AccountRepository, LoginAccount
from app.audit.models import AuditAction, AuditOutcome
from app.audit.service import Actor, AuditTrail
from app.core import clock
from app.core.crypto import hash_token, new_token
from app.core.db import new_id
from app.core.errors import Conflict, NotAuthenticated, NotFound
from app.core.mail import Mail, MailQueue
from app.core.passwords import PasswordHasher
from app.core.settings import Settings
from app.mfa.errors import InvalidCode
from app.mfa.service import Enrolment, Factor, MfaService
from app.throttle.errors import Throttled
from app.throttle.service import Pending, Throttle

VERIFY_TOKEN_PREFIX = "erdv_ev_"  # noqa: S105 - prefixes, not secrets
RESET_TOKEN_PREFIX = "erdv_pr_"  # noqa: S105
_USER_AGENT_MAX = 200


@dataclass(frozen=True)
class ClientInfo:
    ip: str | None
    user_agent: str | None


@dataclass(frozen=True)
class IssuedSession:
    """A session token for the cookie, and its CSRF token for the client's headers."""

    session_id: uuid.UUID
    token: str
    csrf_token: str
    state: SessionState


@dataclass(frozen=True)
class Activation:
    recovery_codes: list[str]
    session: IssuedSession


@dataclass(frozen=True)
class Reauthentication:
    """The rotated session, and until when sensitive operations are unlocked."""

    session: IssuedSession
    at: datetime
    valid_until: datetime


@dataclass(frozen=True)
class MfaCompleted:
    account: Account
    session: IssuedSession


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


def network_of(ip: str | None) -> str:
    """The throttling unit for an address: itself for IPv4, its /64 for IPv6."""
    if not ip:
        return "unknown"
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return "unknown"
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def actor_of(account: Account) -> Actor:
    return Actor.account(account.id, account.role)


#: the outbox kind of a password reset asked for by ``forgot_password`` (``app.deferred``)
PASSWORD_RESET_KIND = "accounts.password_reset"  # noqa: S105 - an outbox kind


class AuthService:
    """The accounts domain's operations, bound to one request (its session, audit, throttle, mail)."""

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

    # keys -------------------------------------------------------------------------------------
    def _password_key(self, email: str) -> str:
        return f"password:email:{self.keys.email_key(email)}"

    @staticmethod
    def _ip_key(scope: str, client: ClientInfo) -> str:
        """IPv6 clients are keyed by their /64: one subscriber usually holds the whole prefix and
        could otherwise rotate addresses to escape the per-address limit."""
        return f"{scope}:ip:{network_of(client.ip)}"

    @staticmethod
    def _session_password_key(ctx: SessionContext) -> str:
        """The password typed again inside a full session (``/reauth``, a password change) is
        throttled per session: the session proves a completed login, so failed logins from
        elsewhere (the account's key) cannot hold its owner up, and a stolen session is held on
        its own key."""
        return f"password:session:{ctx.session.id}"

    @staticmethod
    def _mfa_key(account_id: uuid.UUID) -> str:
        return f"mfa:account:{account_id}"

    def _send(self, mail: Mail) -> None:
        if self.mail is not None:
            self.mail.queue(mail)

    def _link(self, path: str, token: str) -> str:
        # the token travels in the fragment: browsers never send it to a server or in a Referer
        return f"{self.settings.public_url.rstrip('/')}/{path}#token={token}"

    # registration -----------------------------------------------------------------------------
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
    ) -> None:
        """202 alike for a new and a taken email: same checks, same hashing, one mail either way.

        Rate-limited per client address before any work: each call costs a password check, an
        argon2 hash and a mail (mail-bombing, CPU exhaustion; SECURITY.md "Throttling").
        """
        await self.throttle.hit(self._ip_key("register", client), self.throttle.policies.ip)
        await check_password_async(password, email=email, full_name=full_name)
        password_hash = await self.passwords.hash(password)
        existing = await self.repository.by_email(email)
        if existing is not None:
            await self.audit.record(
                AuditAction.ACCOUNT_REGISTERED,
                actor=Actor.anonymous(),
                outcome=AuditOutcome.FAILURE,
                subject_id=existing.id,
                object_type="account",
                object_id=existing.id,
                details={"reason": "email_taken"},
            )
            self._send(
                mails.already_registered(
                    email,
                    mails.language_of(existing.language),
                    f"{self.settings.public_url.rstrip('/')}/",
                )
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
        token = await self._new_mail_token(
            account.id,
            TokenPurpose.VERIFY_EMAIL,
            timedelta(hours=self.settings.email_verification_hours),
        )
        await self.audit.record(
            AuditAction.ACCOUNT_REGISTERED,
            actor=Actor.anonymous(),
            subject_id=account.id,
            object_type="account",
            object_id=account.id,
            details={"role": role.value},
        )
        self._send(
            mails.verification(
                email,
                language,
                self._link("verify-email", token),
                self.settings.email_verification_hours,
            )
        )

    async def _new_mail_token(
        self, account_id: uuid.UUID, purpose: TokenPurpose, lifetime: timedelta
    ) -> str:
        prefix = VERIFY_TOKEN_PREFIX if purpose is TokenPurpose.VERIFY_EMAIL else RESET_TOKEN_PREFIX
        token = new_token(prefix)
        now = clock.now()
        await self.repository.add_token(
            AccountToken(
                account_id=account_id,
                purpose=purpose.value,
                token_hash=self._mail_token_hash(token),
                created_at=now,
                expires_at=now + lifetime,
            )
        )
        return token

    def _mail_token_hash(self, token: str) -> str:
        return hash_token(self.keys.mail_token, token)

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

    # login ------------------------------------------------------------------------------------
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

        # The password is right: from here on the answer may say so (API.md lists these codes).
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

    async def _rotate(self, row: AuthSession, **changes: object) -> IssuedSession:
        """A new token for the same session row: the old cookie stops working at once."""
        token = new_token(SESSION_TOKEN_PREFIX)
        await self.repository.update_session(
            row.id, token_hash=self.keys.session_hash(token), last_seen_at=clock.now(), **changes
        )
        return IssuedSession(row.id, token, self.keys.csrf_token(token), SessionState(row.state))

    def device_cookie(self, account: Account, cookie: str | None) -> str:
        """The device cookie to set once a login is complete (``app.accounts.devices``)."""
        return remember(self.keys.device, self.keys.email_key(account.email), cookie)

    # second factor ----------------------------------------------------------------------------
    async def begin_totp_setup(self, ctx: SessionContext) -> Enrolment:
        """Partial ``mfa_setup`` sessions enrol; a full session re-enrols only after ``/reauth``."""
        await self._may_enrol(ctx)
        return await self.mfa.begin_enrolment(ctx.account.id, ctx.account.email)

    async def _may_enrol(self, ctx: SessionContext) -> SessionState:
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

    async def activate_totp(self, ctx: SessionContext, code: str) -> Activation:
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
        # A new authenticator ends every other session: a replaced one (SECURITY.md "Sessions"),
        # and at first enrolment any other half-open session started with the password alone.
        await self.repository.delete_sessions(account.id, except_id=ctx.session.id)
        if state is SessionState.FULL:
            await self.audit.record(
                AuditAction.AUTH_MFA_RESET, actor=actor_of(account), subject_id=account.id
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
        self, ctx: SessionContext, *, code: str | None, recovery_code: str | None
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

    # the session ------------------------------------------------------------------------------
    async def logout(self, ctx: SessionContext) -> None:
        await self.repository.delete_session(ctx.session.id)
        await self.audit.record(
            AuditAction.AUTH_LOGGED_OUT,
            actor=actor_of(ctx.account),
            subject_id=ctx.account.id,
            object_type="session",
            object_id=ctx.session.id,
        )

    async def reauthenticate(
        self, principal: Principal, ctx: SessionContext, *, password: str, code: str
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
            # the second factor's policy, hard stop included, as at /mfa/verify (issue 20)
            await self.throttle.failure(mfa_key, self.throttle.policies.mfa)
            await self._reauth_failed(account, "code")
            raise InvalidCode("The code is wrong or was already used.")
        await self.throttle.reset(password_key)
        await self.throttle.reset(mfa_key)
        now = clock.now()
        issued = await self._rotate(ctx.session, reauthenticated_at=now)
        await self.audit.record(
            AuditAction.AUTH_REAUTHENTICATED,
            actor=principal.actor,
            subject_id=account.id,
            object_type="session",
            object_id=ctx.session.id,
        )
        return Reauthentication(issued, now, now + self.reauth_window)

    @property
    def reauth_window(self) -> timedelta:
        return timedelta(minutes=self.settings.reauth_window_minutes)

    def reauth_seconds_left(self, ctx: SessionContext) -> int:
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

    async def list_sessions(self, principal: Principal) -> Sequence[AuthSession]:
        return await self.repository.sessions_of(principal.account_id)

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

    # profile ----------------------------------------------------------------------------------
    async def account(self, principal: Principal) -> Account:
        account = await self.repository.get(principal.account_id)
        if account is None:  # pragma: no cover - a principal's account exists
            raise NotFound("No such account.")
        return account

    async def update_profile(self, principal: Principal, changes: dict[str, str | None]) -> Account:
        """Name, phone (E.164) and language; audited with the names of the fields changed, never
        their values (SECURITY.md "Audit trail")."""
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

    # passwords --------------------------------------------------------------------------------
    async def forgot_password(
        self, *, email: str, client: ClientInfo, device_cookie: str | None = None
    ) -> None:
        """202 always; a reset mail only if the account exists. Rate-limited per email and IP;
        a browser with a device cookie for this account has its own allowance instead of the
        email's, which anyone can spend (``app.accounts.devices``).

        The request does the same work for every address: after the throttle, it stages one
        deferred message in the outbox (``PASSWORD_RESET_KIND``), and the account's lookup, the
        token, the audit entry and the mail happen once the response has been sent
        (``send_password_reset``). Looking the account up here made registered addresses answer
        measurably slower (issue 20).
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
            )
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
        self, principal: Principal, ctx: SessionContext, *, current: str, new: str
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

    async def _revoke_grants(self, account_id: uuid.UUID) -> int:
        """End every grant made with the account's credentials (OAuth tokens: ``app.oauth``)."""
        return sum(await credentials_revoked.fire(self.session, account_id))

    # administration ---------------------------------------------------------------------------
    async def set_status(
        self, admin: Principal, account_id: uuid.UUID, status: AccountStatus
    ) -> Account:
        """Suspend (ending every session, OAuth token and mailed link) or reinstate an account."""
        account = await self.repository.get(account_id)
        if account is None:
            raise NotFound("No such account.")
        if account.id == admin.account_id:
            raise CannotSuspendSelf()
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


def _pending(throttle: Throttle, states: Mapping[str, datetime | None], *keys: str) -> Pending:
    """``Throttle.pending_from`` over some of the states read."""
    return throttle.pending_from({key: states[key] for key in keys if key in states})


def _recent(at: object, settings: Settings) -> bool:
    return isinstance(at, datetime) and clock.now() - at <= timedelta(
        minutes=settings.reauth_window_minutes
    )


def _full(issued: IssuedSession) -> IssuedSession:
    return IssuedSession(issued.session_id, issued.token, issued.csrf_token, SessionState.FULL)
