"""One door for every caller (docs/architecture.md "Who may call"): ``Authenticator(roles, scope, recent)``.

Sessions and Bearer tokens go through the same door, and a route says who may call it in its
signature with a one-line alias::

    async def book(patient: CurrentPatient, ...)             # a patient's full browser session
    Booker = Annotated[Principal, Depends(Authenticator(Role.PATIENT, scope="appointments:write"))]

- ``roles``: the roles that may call (any role when none is named).
- ``scope``: the OAuth scope a Bearer token must carry to call (RFC 6750); without one the route
  takes browser sessions only, and a token gets 403 ``insufficient_scope`` (deny by default). A
  token's principal *is* the person it acts for, with the client in ``actor`` and ``client_id``:
  object checks written for the person hold for their token (docs/security.md "OAuth 2 authorization
  server": scopes never replace the object check); a client-credentials token has no person and is
  refused on a person's route.
- ``recent``: a re-authentication (``POST /api/v1/auth/reauth``) within the last
  ``ERDV_REAUTH_WINDOW_MINUTES`` (docs/api.md "Who may call", ASVS V7.5.3).

Answers (docs/api.md "Who may call"): no credentials 401 ``not_authenticated``; a partial session
401 ``mfa_required``; a bad token 401 ``invalid_token``; an unsafe method without the CSRF header
403 ``csrf_failed``; a token without the scope 403 ``insufficient_scope``; the wrong role 403
``forbidden`` (role-only routes are public in the OpenAPI document, so a 403 confirms nothing;
routes about one object answer 404 for someone else's, in their service); no recent
re-authentication 403 ``reauth_required``. Every denial after authentication is audited (``deny``).

``PublicCaller(scope)`` is the public reads' door: anyone, but a token, if sent, must be valid and
carry ``scope`` so the client is rate-limited and audited as itself.

The OpenAPI document reads each route's ``Authenticator`` to state its security (``app.openapi``),
so the document cannot drift from what is enforced.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the parameters of an instance's
# ``__call__``, and an instance has no ``__globals__`` to resolve string annotations against.

from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request

from app.accounts.errors import ReauthRequired, WrongRole
from app.accounts.models import Role
from app.accounts.principal import Principal
from app.audit.service import AuditTrail
from app.auth.callers import AnyCaller, Caller, resolve_principal
from app.auth.errors import InsufficientScope
from app.auth.scopes import ALL_SCOPES
from app.auth.sessions import OptionalSession, deny
from app.core.deps import settings_of
from app.core.request_db import Database, DbSession
from app.throttle.dependencies import throttle_for


class Authenticator:
    """A FastAPI dependency: the ``Principal`` allowed to call, or the error that says why not."""

    def __init__(self, *roles: Role, scope: str | None = None, recent: bool = False) -> None:
        if scope is not None and scope not in ALL_SCOPES:
            raise ValueError(f"unknown OAuth scope {scope!r}")
        self.roles = frozenset(roles)
        self.scope = scope
        self.recent = recent

    def __repr__(self) -> str:
        roles = ",".join(sorted(r.value for r in self.roles)) or "any"
        return f"Authenticator(roles={roles}, scope={self.scope}, recent={self.recent})"

    async def __call__(
        self, request: Request, who: AnyCaller, ctx: OptionalSession, db: DbSession
    ) -> Principal:
        # the settings and the recorder from the app's state: two dependencies fewer to resolve
        # on every authenticated request (see ``app.booking.dependencies._wired``)
        token = who.token
        if token is not None and (
            self.scope is None or self.scope not in token.scopes or who.principal is None
        ):
            raise InsufficientScope(self.scope)
        settings = settings_of(request)
        audit = AuditTrail.for_settings(db, settings)
        principal = await resolve_principal(request, who, ctx, settings, audit)
        if self.roles and principal.role not in self.roles:
            await deny(audit, principal.actor, "wrong_role", request)
            raise WrongRole("This route is not for your kind of account.")
        if self.recent and not principal.reauthenticated_within(
            timedelta(minutes=settings.reauth_window_minutes)
        ):
            await deny(audit, principal.actor, "reauth_required", request)
            raise ReauthRequired(
                "Confirm your identity first: password and a code (POST /api/v1/auth/reauth) "
                "or a passkey (POST /api/v1/auth/reauth/passkey)."
            )
        return principal


class PublicCaller:
    """Anyone may call; a token, if sent, must carry ``scope``; a signed-in person's reads are
    rate-limited per account (``Throttle.spend_directory_read``)."""

    def __init__(self, scope: str) -> None:
        if scope not in ALL_SCOPES:
            raise ValueError(f"unknown OAuth scope {scope!r}")
        self.scope = scope

    def __repr__(self) -> str:
        return f"PublicCaller(scope={self.scope})"

    async def __call__(self, request: Request, who: AnyCaller, database: Database) -> Caller:
        if who.token is not None and self.scope not in who.token.scopes:
            raise InsufficientScope(self.scope)
        if who.token is None and who.principal is not None:
            # A signed-in person's reads count against their account (a token's already counted
            # against its client). Anonymous reads write nothing: they stay on the read session.
            throttle = throttle_for(request, database.session, settings_of(request))
            await throttle.spend_directory_read(who.principal.account_id)
        return who


#: any signed-in person, browser session only
CurrentAccount = Annotated[Principal, Depends(Authenticator())]
CurrentPatient = Annotated[Principal, Depends(Authenticator(Role.PATIENT))]
CurrentPractitioner = Annotated[Principal, Depends(Authenticator(Role.PRACTITIONER))]
CurrentAdmin = Annotated[Principal, Depends(Authenticator(Role.ADMIN))]
RecentlyAuthenticatedAdmin = Annotated[Principal, Depends(Authenticator(Role.ADMIN, recent=True))]
#: anyone signed in who re-authenticated (a change of their address)
RecentlyAuthenticatedAccount = Annotated[Principal, Depends(Authenticator(recent=True))]
#: a patient who re-authenticated (their export, their account's deletion)
RecentlyAuthenticatedPatient = Annotated[
    Principal, Depends(Authenticator(Role.PATIENT, recent=True))
]
#: a practitioner who re-authenticated (the reversibility export carries every patient's contacts)
RecentlyAuthenticatedPractitioner = Annotated[
    Principal, Depends(Authenticator(Role.PRACTITIONER, recent=True))
]
