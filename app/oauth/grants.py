"""The grants erdv allows (authorization code with S256 PKCE, refresh with rotation, client
credentials), revocation (RFC 7009), introspection (RFC 7662) and the issuer parameter (RFC 9207)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, Protocol, TypeVar

from authlib.oauth2.rfc6749 import (
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Request,
    grants,
)
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oauth2.rfc9207 import IssuerParameter

from app.auth.scopes import (
    CLIENT_CREDENTIALS_SCOPES,
    PATIENT_SCOPES,
    scope_list,
)
from app.core.crypto import new_token
from app.core.settings import Settings
from app.oauth.adapters import CLIENT_AUTH_METHODS, CODE_PREFIX, AuthorizationCode, Client, Token
from app.oauth.store import Store

# --- grants ---


P = ParamSpec("P")
T = TypeVar("T")


class BridgedServer(Protocol):
    """What the grants use of the authorization server (``app.oauth.server``): its store, and the
    bridge from Authlib's worker thread back to the event loop."""

    store: Store
    settings: Settings

    def bridge(self, fn: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T: ...


def _check_scopes(request: OAuth2Request, allowed: frozenset[str]) -> None:
    """RFC 6749 §3.3 lets a server narrow a request silently; erdv refuses instead, so a platform
    never believes it holds a right it was not given (docs/security.md "OAuth 2 authorization
    server")."""
    requested = set(scope_list(request.payload.scope))
    if not requested:
        raise InvalidScopeError("Name the scopes you need (space-separated).")
    if not requested <= allowed:
        raise InvalidScopeError("A requested scope is not allowed for this client.")


class S256Only(CodeChallenge):  # type: ignore[misc]
    """PKCE for every client, S256 only (Authlib: optional for confidential clients, plain allowed)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send code_challenge (S256).")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("Only code_challenge_method=S256 is supported.")
        super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant: Any, result: Any) -> None:
        if not grant.request.form.get("code_verifier"):
            raise InvalidRequestError("Missing 'code_verifier'.")
        super().validate_code_verifier(grant, result)


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS
    server: BridgedServer

    def validate_requested_scope(self) -> None:
        # only patients authorize (the consent page); agenda:read is not theirs to give
        _check_scopes(self.request, self.request.client.allowed_scopes() & PATIENT_SCOPES)

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        data = request.payload.data
        self.server.bridge(
            self.server.store.save_code,
            code,
            request.client.get_client_id(),
            request.user.account_id,
            request.payload.redirect_uri,
            request.scope,
            data["code_challenge"],
            data.get("code_challenge_method") or "S256",
        )

    def generate_authorization_code(self) -> str:
        return new_token(CODE_PREFIX)

    def query_authorization_code(self, code: str, client: Client) -> AuthorizationCode | None:
        return self.server.bridge(self.server.store.use_code, code, client.get_client_id())

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        """Nothing to delete: the code was claimed (``used_at``) when it was presented."""

    def authenticate_user(self, authorization_code: AuthorizationCode) -> uuid.UUID | None:
        return self.server.bridge(
            self.server.store.active_account, authorization_code.row.account_id
        )


class RefreshTokenGrant(grants.RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation on every use (RFC 9700 §4.14.2)
    server: BridgedServer

    def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
        return self.server.bridge(self.server.store.find_refresh_token, refresh_token)

    def authenticate_user(self, refresh_token: Token) -> uuid.UUID | None:
        if refresh_token.row.account_id is None:
            return None
        return self.server.bridge(self.server.store.active_account, refresh_token.row.account_id)

    def revoke_old_credential(self, refresh_token: Token) -> None:
        if not self.server.bridge(self.server.store.spend_refresh_token, refresh_token.row):
            # lost a race with another use of the same token: that is a reuse too
            raise InvalidGrantError("The refresh token was already used.")


class ClientCredentialsGrant(grants.ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def validate_requested_scope(self) -> None:
        _check_scopes(
            self.request, self.request.client.allowed_scopes() & CLIENT_CREDENTIALS_SCOPES
        )


# --- revocation (RFC 7009) and introspection (RFC 7662) ---


class Revocation(RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = CLIENT_AUTH_METHODS
    server: BridgedServer

    def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
        return self.server.bridge(self.server.store.find_any_token, token_string, token_type_hint)

    def revoke_token(self, token: Token, request: OAuth2Request) -> None:
        self.server.bridge(self.server.store.revoke, token)


class Introspection(IntrospectionEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = CLIENT_AUTH_METHODS
    server: BridgedServer

    def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
        return self.server.bridge(self.server.store.find_any_token, token_string, token_type_hint)

    def check_permission(self, token: Token, client: Client, request: OAuth2Request) -> bool:
        # a client may only introspect its own tokens; anything else is "active": false
        return token.check_client(client)

    def introspect_token(self, token: Token) -> dict[str, Any]:
        row = token.row
        body: dict[str, Any] = {
            "active": True,
            "client_id": row.client_id,
            "scope": row.scope,
            "token_type": "Bearer" if token.kind == "access_token" else "refresh_token",
            "iat": int(row.issued_at.timestamp()),
            "exp": int(token.expires_at.timestamp()),
            "iss": self.server.settings.public_url,
        }
        if row.account_id is not None:
            body["sub"] = str(row.account_id)
        return body


class Issuer(IssuerParameter):  # type: ignore[misc]
    """RFC 9207: ``iss`` on every authorization response, so a client can tell servers apart."""

    def __init__(self, issuer: str) -> None:
        self.issuer = issuer

    def get_issuer(self) -> str:
        return self.issuer
