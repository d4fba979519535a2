"""Who may call: typed dependencies for each kind of caller (CONVENTIONS habit 4).

Use them in signatures::

    async def book(patient: CurrentPatient, ...)              # a patient with a full session
    async def export(admin: RecentlyAuthenticatedAdmin, ...)  # an admin who re-authenticated < 10 min

Answers (API.md): no or unknown session -> 401 ``not_authenticated``; a partial session (MFA not done)
-> 401 ``mfa_required``; an unsafe method without the right ``X-CSRF-Token`` -> 403 ``csrf_failed``;
the wrong role -> 403 ``forbidden`` (these are *role-only* routes: their existence is public in the
OpenAPI document, so a 403 confirms nothing; routes about one object must answer 404 for someone
else's object, in their service); no recent re-authentication -> 403 ``reauth_required``.

Every caller is resolved by one function, ``resolve_principal``: from the ``erdv_session`` cookie or
from an OAuth ``Authorization: Bearer`` token (``resolve_caller``). The typed callers below accept
browser sessions only (a token gets 403 ``insufficient_scope``); a route opens itself to tokens with
``app.oauth.dependencies.caller(*roles, scope=...)``, which checks the token's scope first.

``refuse_partial_sessions`` is installed on the whole app: with a partial session, every API route
but the login steps, logout and the public auth endpoints answers 401 ``mfa_required``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.errors import CsrfFailed, MfaRequired, ReauthRequired, WrongRole
from app.accounts.models import AccountStatus, Role, SessionState
from app.accounts.principal import Principal, SessionContext, keys_for, session_cookie_name
from app.accounts.repository import AccountRepository
from app.accounts.service import AuthService, actor_of
from app.audit.dependencies import Audit
from app.audit.models import AuditAction, AuditOutcome
from app.audit.service import Actor, AuditTrail
from app.core import clock
from app.core.crypto import constant_time_equal
from app.core.db import Database, FailureHook, on_failure
from app.core.deps import AppSettings, settings_of
from app.core.errors import NotAuthenticated, NotFound
from app.core.mail import OutgoingMail
from app.core.passwords import PasswordHasher
from app.core.settings import Settings
from app.oauth.errors import InsufficientScope
from app.oauth.service import TokenGrant, authenticate_bearer
from app.throttle.dependencies import throttle_for
from app.throttle.service import DatabaseStore

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
#: last_seen_at is written at most this often (one write per request would be wasteful)
_TOUCH_EVERY = timedelta(seconds=30)
_MAX_TOKEN_LENGTH = 128

#: What a partial session may reach (API.md): the login steps, logout, and the public auth endpoints.
PARTIAL_SESSION_PATHS = frozenset(
    {
        "/api/v1/auth/register",
        "/api/v1/auth/verify-email",
        "/api/v1/auth/login",
        "/api/v1/auth/mfa/totp/setup",
        "/api/v1/auth/mfa/totp/activate",
        "/api/v1/auth/mfa/verify",
        "/api/v1/auth/logout",
        "/api/v1/auth/session",  # answers 401 not_authenticated itself for a partial session
        "/api/v1/auth/session/probe",  # answers signed_in: false for a partial session
        "/api/v1/auth/password/forgot",
        "/api/v1/auth/password/reset",
    }
)


def secure_cookies(request: Request, settings: Settings) -> bool:
    """Cookies are Secure over HTTPS and always in production (API.md)."""
    return request.url.scheme == "https" or settings.is_production


def session_token(request: Request, settings: Settings) -> str | None:
    """The session cookie's token. Over HTTPS only the ``__Host-`` cookie counts: a plain-named
    one may have been planted over plain http (session fixation)."""
    return request.cookies.get(session_cookie_name(secure_cookies(request, settings)))


async def load_session(request: Request, database: Database) -> SessionContext | None:
    """The live session named by the cookie, or None (absent, unknown, expired, suspended).

    Timeouts (SECURITY.md "Sessions", ASVS V7.3): idle 30 min for patients, 15 min for practitioners
    and admins; absolute 12 h from the password step, whatever the activity.

    Every request resolves it (``refuse_partial_sessions``), so its dependencies are kept to what it
    needs: each one FastAPI resolves costs Python on every request, the anonymous ones included
    (the settings are read from the app's state instead, as ``get_auth_service`` does), and the
    request's transaction is opened only when there is a cookie to look up.
    """
    settings = settings_of(request)
    token = session_token(request, settings)
    if not token or len(token) > _MAX_TOKEN_LENGTH:
        return None
    repository = AccountRepository(database.session)
    found = await repository.session_by_hash(
        keys_for(settings.secret_key_bytes).session_hash(token)
    )
    if found is None:
        return None
    row, account = found
    now = clock.now()
    idle = timedelta(
        minutes=settings.session_idle_minutes_patient
        if account.role == Role.PATIENT.value
        else settings.session_idle_minutes_staff
    )
    expired = (
        now - row.last_seen_at > idle
        or now - row.created_at > timedelta(hours=settings.session_absolute_hours)
        or account.status != AccountStatus.ACTIVE.value
    )
    if expired:
        await repository.delete_session(row.id)
        return None
    if now - row.last_seen_at > _TOUCH_EVERY:
        await repository.update_session(row.id, last_seen_at=now)
    return SessionContext(session=row, account=account, token=token)


OptionalSession = Annotated[SessionContext | None, Depends(load_session)]


async def deny(audit: AuditTrail, actor: Actor, reason: str, request: Request) -> None:
    """Record a denied access (SECURITY.md: every denied access is in the audit trail); the error
    raised next is a ``RecordedFailure``, so this entry survives the failed request."""
    route = request.scope.get("route")
    await audit.record(
        AuditAction.ACCESS_DENIED,
        actor=actor,
        outcome=AuditOutcome.DENIED,
        details={"reason": reason, "route": str(getattr(route, "path", "") or "")[:200]},
    )


async def enforce_csrf(
    request: Request, ctx: SessionContext, settings: AppSettings, audit: AuditTrail
) -> None:
    """Synchronizer token on every unsafe cookie-authenticated request (ASVS V3.5.1)."""
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get("x-csrf-token", "")
    expected = keys_for(settings.secret_key_bytes).csrf_token(ctx.token)
    if not sent or not constant_time_equal(sent, expected):
        await deny(audit, actor_of(ctx.account), "csrf_failed", request)
        raise CsrfFailed("Send the X-CSRF-Token header given at login or by GET /auth/session.")


async def any_session(
    request: Request, ctx: OptionalSession, settings: AppSettings, audit: Audit
) -> SessionContext:
    """A session in any state (the MFA steps, logout), CSRF-checked."""
    if ctx is None:
        raise NotAuthenticated("Sign in first.")
    await enforce_csrf(request, ctx, settings, audit)
    return ctx


AnySession = Annotated[SessionContext, Depends(any_session)]


async def full_session(
    request: Request, ctx: OptionalSession, settings: AppSettings, audit: Audit
) -> SessionContext:
    if ctx is None:
        raise NotAuthenticated("Sign in first.")
    if ctx.session.state != SessionState.FULL.value:
        raise MfaRequired("Complete the second factor first.")
    await enforce_csrf(request, ctx, settings, audit)
    return ctx


FullSession = Annotated[SessionContext, Depends(full_session)]


@dataclass(frozen=True)
class Caller:
    """Whoever is calling: a full browser session (``principal``), a Bearer token (``token``, and
    ``principal`` when it acts for a person), or nobody (both None)."""

    principal: Principal | None
    token: TokenGrant | None

    @property
    def actor(self) -> Actor:
        if self.token is not None:
            return self.token.actor
        return self.principal.actor if self.principal is not None else Actor.anonymous()


def bearer_token(request: Request) -> str | None:
    """The RFC 6750 §2.1 credential, or None when the request carries no Bearer authorization."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def _session_principal(ctx: SessionContext) -> Principal:
    account = ctx.account
    return Principal(
        account_id=account.id,
        role=Role(account.role),
        display_name=account.full_name,
        session_id=ctx.session.id,
        actor=actor_of(account),
        authenticated_at=ctx.session.authenticated_at,
        reauthenticated_at=ctx.session.reauthenticated_at,
    )


async def resolve_caller(request: Request, ctx: OptionalSession, database: Database) -> Caller:
    """A Bearer token wins over the cookie (no CSRF then: a token is not sent by the browser on its
    own); an invalid, expired or revoked one is 401 ``invalid_token`` whatever else is present.

    The public reads (directory, slots) resolve a caller on every request: the settings and the
    throttle come from the app's state, the throttle only for a token (see ``load_session``)."""
    token = bearer_token(request)
    if token is not None:
        db = database.session
        settings = settings_of(request)
        throttle = throttle_for(request, db, settings)
        grant = await authenticate_bearer(db, settings, throttle, token)
        principal = None
        if grant.account_id is not None and grant.role is not None:
            principal = Principal(
                account_id=grant.account_id,
                role=grant.role,
                display_name=grant.display_name or "",
                session_id=None,
                actor=grant.actor,
                client_id=grant.client_id,
                scopes=grant.scopes,
            )
        return Caller(principal, grant)
    if ctx is not None and ctx.session.state == SessionState.FULL.value:
        return Caller(_session_principal(ctx), None)
    return Caller(None, None)


AnyCaller = Annotated[Caller, Depends(resolve_caller)]


async def resolve_principal(
    request: Request, caller: AnyCaller, ctx: OptionalSession, settings: AppSettings, audit: Audit
) -> Principal:
    """The one place a caller becomes a ``Principal``: a full, CSRF-checked browser session, or a
    Bearer token acting for a person. Routes that take tokens check the scope first
    (``app.oauth.dependencies.caller``); a client-credentials token has no person to be."""
    if caller.token is not None:
        if caller.principal is None:
            raise InsufficientScope(None)
        principal = caller.principal
    else:
        principal = _session_principal(await full_session(request, ctx, settings, audit))
    on_failure(request, _not_found_counter(principal, settings))
    return principal


def _not_found_counter(principal: Principal, settings: Settings) -> FailureHook:
    """Count an authenticated caller's 404s on objects; each burst is audited (SECURITY.md: the
    2020 theft of appointments began as an enumeration of object ids)."""

    async def count(session: AsyncSession, error: Exception) -> None:
        if not isinstance(error, NotFound):
            return
        now = clock.now()
        window = timedelta(seconds=settings.not_found_burst_window_seconds)
        key = f"not-found:account:{principal.account_id}"
        seen = await DatabaseStore(session).add_failure(key, now, now - window)
        if seen % settings.not_found_burst_threshold == 0:
            await AuditTrail.for_settings(session, settings).record(
                AuditAction.ACCESS_NOT_FOUND_BURST,
                actor=principal.actor,
                outcome=AuditOutcome.DENIED,
                details={"not_found": seen, "window_seconds": int(window.total_seconds())},
            )

    return count


async def session_principal(
    principal: Annotated[Principal, Depends(resolve_principal)],
) -> Principal:
    """Deny by default: the typed callers below take browser sessions only. A route opens itself to
    tokens explicitly, with a scope (``caller(..., scope=...)``); anything else answers a token with
    403 ``insufficient_scope``."""
    if principal.via_token:
        raise InsufficientScope(None)
    return principal


CurrentAccount = Annotated[Principal, Depends(session_principal)]


def _role(*roles: Role) -> object:
    async def require(principal: CurrentAccount, audit: Audit, request: Request) -> Principal:
        if principal.role not in roles:
            await deny(audit, principal.actor, "wrong_role", request)
            raise WrongRole("This route is not for your kind of account.")
        return principal

    require.__name__ = f"require_{'_or_'.join(r.value for r in roles)}"
    return require


CurrentPatient = Annotated[Principal, Depends(_role(Role.PATIENT))]
CurrentPractitioner = Annotated[Principal, Depends(_role(Role.PRACTITIONER))]
CurrentAdmin = Annotated[Principal, Depends(_role(Role.ADMIN))]


async def recently_authenticated(
    principal: CurrentAccount, settings: AppSettings, audit: Audit, request: Request
) -> Principal:
    """Sensitive operations need ``/reauth`` within the last 10 minutes (API.md, ASVS V7.5.3)."""
    if not principal.reauthenticated_within(timedelta(minutes=settings.reauth_window_minutes)):
        await deny(audit, principal.actor, "reauth_required", request)
        raise ReauthRequired("Confirm your password and a code (POST /api/v1/auth/reauth) first.")
    return principal


async def recently_authenticated_admin(
    principal: CurrentAdmin, settings: AppSettings, audit: Audit, request: Request
) -> Principal:
    return await recently_authenticated(principal, settings, audit, request)


async def recently_authenticated_practitioner(
    principal: CurrentPractitioner, settings: AppSettings, audit: Audit, request: Request
) -> Principal:
    return await recently_authenticated(principal, settings, audit, request)


RecentlyAuthenticated = Annotated[Principal, Depends(recently_authenticated)]
RecentlyAuthenticatedAdmin = Annotated[Principal, Depends(recently_authenticated_admin)]
#: a practitioner who re-authenticated (the reversibility export carries every patient's contacts)
RecentlyAuthenticatedPractitioner = Annotated[
    Principal, Depends(recently_authenticated_practitioner)
]


async def refuse_partial_sessions(request: Request, ctx: OptionalSession) -> None:
    """App-wide: a partial session reaches only ``PARTIAL_SESSION_PATHS`` (401 ``mfa_required``).

    Front-end pages (routes outside the OpenAPI document) are not endpoints and stay reachable so the
    browser can show the MFA step.
    """
    if ctx is None or ctx.session.state == SessionState.FULL.value:
        return
    route = request.scope.get("route")
    if not getattr(route, "include_in_schema", True):
        return
    if getattr(route, "path", None) in PARTIAL_SESSION_PATHS:
        return
    raise MfaRequired("Complete the second factor first.")


async def get_auth_service(request: Request, database: Database, mail: OutgoingMail) -> AuthService:
    """Wired from the app's state, not from the settings, hasher, throttle and audit dependencies:
    FastAPI's resolution of each costs Python on every login and every session step (bench B7),
    and none of them does I/O."""
    db = database.session
    settings = settings_of(request)
    passwords: PasswordHasher = request.app.state.passwords
    return AuthService(
        db,
        settings,
        passwords,
        throttle_for(request, db, settings),
        AuditTrail.for_settings(db, settings),
        mail,
    )


Auth = Annotated[AuthService, Depends(get_auth_service)]
