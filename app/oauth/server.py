"""Authlib's authorization server, driven from FastAPI (docs/security.md "OAuth 2 authorization server").

Authlib ships server integrations for Flask and Django only; its core is synchronous and framework
agnostic. This module is the thin adapter:

- ``ErdvAuthorizationServer`` implements ``query_client``, ``save_token``, ``create_oauth2_request``,
  ``create_json_request``, ``handle_response`` and ``send_signal``. One instance is built per request
  (registering three grants and two endpoints costs microseconds) so it is bound to that request's
  database session, audit trail and settings, with no global state shared between requests.
- **The sync/async bridge.** Every Authlib call runs in a worker thread (``anyio.to_thread``), never
  on the event loop (docs/architecture.md "Blocking work off the event loop"). The storage hooks
  Authlib calls from that thread hop back onto the event loop with ``anyio.from_thread.run`` and use
  the *request's* async session. The request coroutine is suspended while the thread runs, so the
  session is never used concurrently. Why not a second, synchronous session: on SQLite every write
  transaction starts with ``BEGIN IMMEDIATE``, so a second connection writing in the same request
  would wait on the first one forever; and a second transaction would break "a failed request
  changes nothing" and put the audit entries (appended by the request session's pre-commit hook) in
  another transaction than the change they describe. It also needs no synchronous PostgreSQL driver
  at run time.
- Requests are built *after* ``await request.form()`` with Starlette's own ``Headers`` (case-insensitive,
  as Authlib's Basic-auth parsing expects), and responses are ``OAuthResponse`` objects with a settable
  ``location`` (what the RFC 9207 ``iss`` extension rewrites).

Authlib defaults erdv overrides (each has a regression test in ``tests/oauth``):

- PKCE: required for every client, ``S256`` only (``S256Only``); Authlib accepts ``plain`` and lets
  confidential clients skip PKCE (RFC 9700 §2.1.1).
- Scopes: over-requested scopes are ``invalid_scope``, never narrowed; a scope must be asked for.
- Access tokens live 10 minutes (Authlib: 10 days); refresh tokens rotate on every use, a reused one
  revokes its whole family (RFC 9700 §4.14.2), and the family dies 30 days after the first grant.
- Codes live 60 s, are claimed atomically, and a replayed code revokes every token it led to
  (RFC 6749 §4.1.2, ASVS 10.4.2).
- Client secrets are compared by HMAC, never stored in clear; disabled clients do not exist here.
- ``client_credentials`` issues no refresh token and only ``practitioners:read`` / ``slots:read``.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import anyio.from_thread
import anyio.to_thread
from authlib.common.urls import add_params_to_uri
from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import (
    JsonRequest,
    OAuth2Request,
)

from app.auth.scopes import (
    ALL_SCOPES,
    scope_list,
    scope_string,
)
from app.core.crypto import new_token
from app.core.settings import Settings
from app.oauth.adapters import (
    ACCESS_TOKEN_LIFETIME,
    ACCESS_TOKEN_PREFIX,
    REFRESH_TOKEN_PREFIX,
    Client,
    OAuthResponse,
    P,
    T,
)
from app.oauth.grants import (
    AuthorizationCodeGrant,
    ClientCredentialsGrant,
    Introspection,
    Issuer,
    RefreshTokenGrant,
    Revocation,
    S256Only,
)
from app.oauth.store import Store


def generate_bearer_token(
    grant_type: str,
    client: Client,
    user: Any = None,
    scope: str | None = None,
    expires_in: int | None = None,
    include_refresh_token: bool = True,
) -> dict[str, Any]:
    """Opaque, prefixed, 256-bit tokens; 10-minute access tokens (Authlib's default: 10 days)."""
    token: dict[str, Any] = {
        "token_type": "Bearer",
        "access_token": new_token(ACCESS_TOKEN_PREFIX),
        "expires_in": int(ACCESS_TOKEN_LIFETIME.total_seconds()),
        "scope": scope_string(scope_list(scope)),
    }
    if include_refresh_token and grant_type != "client_credentials":
        token["refresh_token"] = new_token(REFRESH_TOKEN_PREFIX)
    return token


class ErdvAuthorizationServer(AuthorizationServer):  # type: ignore[misc]
    """One per request; see the module docstring for the bridge."""

    def __init__(self, store: Store, settings: Settings) -> None:
        super().__init__(scopes_supported=sorted(ALL_SCOPES))
        self.store = store
        self.settings = settings
        self.register_token_generator("default", generate_bearer_token)
        self.register_grant(AuthorizationCodeGrant, [S256Only(required=True)])
        self.register_grant(RefreshTokenGrant)
        self.register_grant(ClientCredentialsGrant)
        self.register_endpoint(Revocation)
        self.register_endpoint(Introspection)
        self.register_extension(Issuer(settings.public_url))

    # the bridge: worker thread -> event loop
    def bridge(self, fn: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        async def call() -> T:
            return await fn(*args, **kwargs)

        return anyio.from_thread.run(call)

    async def run(self, fn: Callable[[], T]) -> T:
        """Run an Authlib call in a worker thread, off the event loop."""
        return await anyio.to_thread.run_sync(fn)

    # the framework hooks Authlib asks for
    def query_client(self, client_id: str) -> Client | None:
        return self.bridge(self.store.client, client_id)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        grant_type = request.payload.grant_type
        parent = request.refresh_token if grant_type == "refresh_token" else None
        code = request.authorization_code if grant_type == "authorization_code" else None
        account_id = request.user if isinstance(request.user, uuid.UUID) else None
        self.bridge(
            self.store.save_token,
            token,
            request.client.get_client_id(),
            grant_type,
            account_id,
            code,
            parent,
        )

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        if not isinstance(request, OAuth2Request):
            raise TypeError("build an ErdvOAuth2Request in the async handler first")
        return request

    def create_json_request(self, request: Any) -> JsonRequest:
        if not isinstance(request, JsonRequest):
            raise TypeError("build a JsonRequest in the async handler first")
        return request

    def handle_response(self, status: int, body: Any, headers: Any) -> OAuthResponse:
        # a redirect after the consent form is a 303 (the browser follows it with GET)
        return OAuthResponse(303 if status == 302 else status, body, list(headers or []))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """No signal bus in erdv: what matters is audited by the storage hooks themselves."""

    def error_redirect(self, redirect_uri: str, params: list[tuple[str, str]]) -> str:
        return str(add_params_to_uri(redirect_uri, [*params, ("iss", self.settings.public_url)]))
