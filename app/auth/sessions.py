"""Browser sessions: the cookie's session loaded once per request, CSRF, partial sessions.

Timeouts, the CSRF synchronizer token and what a partial session (password done, MFA not yet) may
reach are ``docs/security.md`` "Sessions"; it names the tests of each.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.errors import CsrfFailed, MfaRequired
from app.accounts.models import AccountStatus, SessionState
from app.accounts.principal import BrowserSession, keys_for, session_cookie_name
from app.accounts.repository import AccountRepository
from app.accounts.views import actor_of
from app.audit.dependencies import Audit
from app.audit.models import AuditAction, AuditOutcome
from app.audit.service import Actor, AuditTrail
from app.core import clock
from app.core.crypto import constant_time_equal
from app.core.deps import AppSettings, settings_of
from app.core.errors import NotAuthenticated
from app.core.request_db import Database
from app.core.settings import Settings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


#: last_seen_at is written at most this often (one write per request would be wasteful)
_TOUCH_EVERY = timedelta(seconds=30)


_MAX_TOKEN_LENGTH = 128


# : What a partial session may reach (docs/api.md "Who may call"): the login steps, logout, and
# the public auth endpoints.
PARTIAL_SESSION_PATHS = frozenset(
    {
        "/api/v1/auth/register",
        "/api/v1/auth/verify-email",
        "/api/v1/auth/login",
        "/api/v1/auth/mfa/totp/setup",
        "/api/v1/auth/mfa/totp/activate",
        "/api/v1/auth/mfa/verify",
        "/api/v1/auth/mfa/passkey/options",
        "/api/v1/auth/mfa/passkey",
        "/api/v1/auth/passkey/options",  # a sign-in without password replaces the session
        "/api/v1/auth/passkey",
        "/api/v1/auth/logout",
        "/api/v1/auth/session",  # answers 401 not_authenticated itself for a partial session
        "/api/v1/auth/session/probe",  # answers signed_in: false for a partial session
        "/api/v1/auth/password/forgot",
        "/api/v1/auth/password/reset",
    }
)


def secure_cookies(request: Request, settings: Settings) -> bool:
    """Cookies are Secure over HTTPS and always in production (docs/api.md "Who may call")."""
    return request.url.scheme == "https" or settings.is_production


def session_token(request: Request, settings: Settings) -> str | None:
    """The session cookie's token. Over HTTPS only the ``__Host-`` cookie counts: a plain-named
    one may have been planted over plain http (session fixation)."""
    return request.cookies.get(session_cookie_name(secure_cookies(request, settings)))


async def load_session(request: Request, database: Database) -> BrowserSession | None:
    """The live session named by the cookie, or None (absent, unknown, expired, suspended).

    Timeouts (docs/security.md "Sessions", ASVS V7.3): idle 30 min for patients, 15 min for
    practitioners and admins; absolute 12 h from the password step, whatever the activity.

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
    if row.ended(account.role, now, settings) or account.status != AccountStatus.ACTIVE.value:
        await repository.delete_session(row.id)
        return None
    if now - row.last_seen_at > _TOUCH_EVERY:
        await repository.update_session(row.id, last_seen_at=now)
    return BrowserSession(session=row, account=account, token=token)


OptionalSession = Annotated[BrowserSession | None, Depends(load_session)]


async def deny(audit: AuditTrail, actor: Actor, reason: str, request: Request) -> None:
    """Record a denied access (docs/security.md "Audit trail": every denied access is in the audit
    trail); the error raised next is a ``RecordedFailure``, so this entry survives the failed
    request."""
    route = request.scope.get("route")
    await audit.record(
        AuditAction.ACCESS_DENIED,
        actor=actor,
        outcome=AuditOutcome.DENIED,
        details={"reason": reason, "route": str(getattr(route, "path", "") or "")[:200]},
    )


async def enforce_csrf(
    request: Request, ctx: BrowserSession, settings: AppSettings, audit: AuditTrail
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
) -> BrowserSession:
    """A session in any state (the MFA steps, logout), CSRF-checked."""
    if ctx is None:
        raise NotAuthenticated("Sign in first.")
    await enforce_csrf(request, ctx, settings, audit)
    return ctx


AnySession = Annotated[BrowserSession, Depends(any_session)]


async def full_session(
    request: Request, ctx: OptionalSession, settings: AppSettings, audit: Audit
) -> BrowserSession:
    if ctx is None:
        raise NotAuthenticated("Sign in first.")
    if ctx.session.state != SessionState.FULL.value:
        raise MfaRequired("Complete the second factor first.")
    await enforce_csrf(request, ctx, settings, audit)
    return ctx


FullSession = Annotated[BrowserSession, Depends(full_session)]


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


async def forget_ended_sessions(session: AsyncSession, settings: Settings) -> str:
    """The session-retention job: delete the sessions past their timeout.

    A session's row holds its browser's IP address and user agent; ``load_session`` deletes an
    ended one when its cookie comes back, but a browser that never returns left it for ever,
    while the privacy notice keeps security records 12 months at most. A session idle longer than
    its role's idle timeout, or older than the absolute one, has ended (``AuthSession.ended``),
    so deleting it changes no answer."""
    now = clock.now()
    removed = await AccountRepository(session).delete_ended_sessions(
        patient_seen_before=now - timedelta(minutes=settings.session_idle_minutes_patient),
        staff_seen_before=now - timedelta(minutes=settings.session_idle_minutes_staff),
        created_before=now - timedelta(hours=settings.session_absolute_hours),
    )
    return f"{removed} ended sessions forgotten"
