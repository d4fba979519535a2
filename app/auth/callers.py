"""Whoever is calling: a browser session or an OAuth Bearer token, resolved into one ``Principal``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role, SessionState
from app.accounts.principal import BrowserSession, Principal
from app.accounts.views import actor_of
from app.audit.dependencies import Audit
from app.audit.models import AuditAction, AuditOutcome
from app.audit.service import Actor, AuditTrail
from app.auth.errors import InsufficientScope
from app.auth.sessions import OptionalSession, full_session
from app.auth.tokens import TokenGrant, verify_bearer
from app.core import clock
from app.core.deps import AppSettings, settings_of
from app.core.errors import NotFound
from app.core.request_db import Database, FailureHook, on_failure
from app.core.settings import Settings
from app.throttle.dependencies import throttle_for
from app.throttle.service import DatabaseStore


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


def _session_principal(ctx: BrowserSession) -> Principal:
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
        grant = await verify_bearer(db, settings, throttle, token)
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
    (``app.auth.authenticator.Authenticator``); a client-credentials token has no person to be."""
    if caller.token is not None:
        if caller.principal is None:
            raise InsufficientScope(None)
        principal = caller.principal
    else:
        principal = _session_principal(await full_session(request, ctx, settings, audit))
    on_failure(request, _not_found_counter(principal, settings))
    return principal


def _not_found_counter(principal: Principal, settings: Settings) -> FailureHook:
    """Count an authenticated caller's 404s on objects; each burst is audited (docs/security.md
    "Throttling": the 2020 theft of appointments began as an enumeration of object ids)."""

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
