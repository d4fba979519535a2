"""How a route says who may call it *and* which OAuth scope a token needs (the resource server).

    Patient = caller(Role.PATIENT, scope="appointments:read")
    async def my_appointments(principal: Annotated[Principal, Depends(Patient)]) -> ...

    Directory = public_caller(scope="practitioners:read")
    async def search(caller: Annotated[Caller, Depends(Directory)]) -> ...

``caller``: a full browser session with one of ``roles`` (CSRF-checked as usual), or a Bearer token
that carries ``scope`` and acts for a person with one of ``roles``. The token's principal *is* that
person (``account_id``), with the client in ``actor`` and ``client_id``: object checks written for the
person hold for their token (SECURITY.md: scopes never replace the object check).
``public_caller``: anyone; a token, if sent, must be valid (401 ``invalid_token``) and carry ``scope``
(403 ``insufficient_scope``), so the client is rate-limited and audited as itself; a signed-in
person's reads are rate-limited per account (``Throttle.spend_directory_read``).

Answers: no credentials → 401 ``not_authenticated``; a bad token → 401 ``invalid_token`` with
``WWW-Authenticate: Bearer error="invalid_token"``; a token without the scope, or with no person behind
it (client credentials) on a person's route → 403 ``insufficient_scope``; the wrong role → 403
``forbidden``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request

from app.accounts.dependencies import (
    AnyCaller,
    Caller,
    OptionalSession,
    deny,
    resolve_principal,
)
from app.accounts.errors import WrongRole
from app.accounts.models import Role
from app.accounts.principal import Principal
from app.audit.service import AuditTrail
from app.core.db import Database, DbSession
from app.core.deps import settings_of
from app.oauth.errors import InsufficientScope
from app.oauth.scopes import ALL_SCOPES
from app.throttle.dependencies import throttle_for


def caller(*roles: Role, scope: str) -> Callable[..., Awaitable[Principal]]:
    if scope not in ALL_SCOPES:
        raise ValueError(f"unknown OAuth scope {scope!r}")
    if not roles:
        raise ValueError("name the roles that may call the route")

    async def require(
        request: Request, who: AnyCaller, ctx: OptionalSession, db: DbSession
    ) -> Principal:
        # the settings and the recorder from the app's state: two dependencies fewer to resolve
        # on every authenticated request (see ``app.booking.dependencies.get_booking_service``)
        if who.token is not None and (scope not in who.token.scopes or who.principal is None):
            raise InsufficientScope(scope)
        settings = settings_of(request)
        audit = AuditTrail.for_settings(db, settings)
        principal = await resolve_principal(request, who, ctx, settings, audit)
        if principal.role not in roles:
            await deny(audit, principal.actor, "wrong_role", request)
            raise WrongRole("This route is not for your kind of account.")
        return principal

    require.__name__ = f"require_{'_or_'.join(r.value for r in roles)}_or_{scope.replace(':', '_')}"
    return require


def public_caller(scope: str) -> Callable[..., Awaitable[Caller]]:
    if scope not in ALL_SCOPES:
        raise ValueError(f"unknown OAuth scope {scope!r}")

    async def anyone(request: Request, who: AnyCaller, database: Database) -> Caller:
        if who.token is not None and scope not in who.token.scopes:
            raise InsufficientScope(scope)
        if who.token is None and who.principal is not None:
            # A signed-in person's reads count against their account (a token's already counted
            # against its client). Anonymous reads write nothing: they stay on the read session.
            throttle = throttle_for(request, database.session, settings_of(request))
            await throttle.spend_directory_read(who.principal.account_id)
        return who

    anyone.__name__ = f"anyone_or_{scope.replace(':', '_')}"
    return anyone
