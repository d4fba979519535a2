"""Authlib's authorization server, driven from FastAPI (SECURITY.md "OAuth 2 authorization server").

Authlib ships server integrations for Flask and Django only; its core is synchronous and framework
agnostic. This module is the thin adapter:

- ``ErdvAuthorizationServer`` implements ``query_client``, ``save_token``, ``create_oauth2_request``,
  ``create_json_request``, ``handle_response`` and ``send_signal``. One instance is built per request
  (registering three grants and two endpoints costs microseconds) so it is bound to that request's
  database session, audit trail and settings, with no global state shared between requests.
- **The sync/async bridge.** Every Authlib call runs in a worker thread (``anyio.to_thread``), never on
  the event loop (CONVENTIONS habit 9). The storage hooks Authlib calls from that thread hop back onto
  the event loop with ``anyio.from_thread.run`` and use the *request's* async session. The request
  coroutine is suspended while the thread runs, so the session is never used concurrently. Why not a
  second, synchronous session: on SQLite every write transaction starts with ``BEGIN IMMEDIATE``, so a
  second connection writing in the same request would wait on the first one forever; and a second
  transaction would break "a failed request changes nothing" and put the audit entries (appended by
  the request session's pre-commit hook) in another transaction than the change they describe. It
  also needs no synchronous PostgreSQL driver at run time.
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
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ParamSpec, TypeVar

import anyio.from_thread
import anyio.to_thread
from authlib.common.urls import add_params_to_uri
from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import (
    AuthorizationCodeMixin,
    ClientMixin,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    JsonRequest,
    OAuth2Payload,
    OAuth2Request,
    TokenMixin,
    grants,
)
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oauth2.rfc9207 import IssuerParameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import AccountStatus
from app.audit.models import AuditAction, AuditOutcome
from app.audit.service import Actor, AuditTrail
from app.auth.scopes import (
    ALL_SCOPES,
    CLIENT_CREDENTIALS_SCOPES,
    PATIENT_SCOPES,
    scope_list,
    scope_string,
)
from app.core import clock
from app.core.crypto import constant_time_equal, derive_key, hash_token, new_token
from app.core.db import new_id
from app.core.settings import Settings
from app.oauth.models import OAuthAuthorizationCode, OAuthClient, OAuthToken
from app.oauth.repository import OAuthRepository

ACCESS_TOKEN_PREFIX = "erdv_at_"  # noqa: S105 - a prefix, not a secret
REFRESH_TOKEN_PREFIX = "erdv_rt_"  # noqa: S105
CODE_PREFIX = "erdv_ac_"
CLIENT_SECRET_PREFIX = "erdv_cs_"  # noqa: S105
ACCESS_TOKEN_LIFETIME = timedelta(minutes=10)
REFRESH_FAMILY_LIFETIME = timedelta(days=30)
CODE_LIFETIME = timedelta(seconds=60)
CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
#: longest token or code we hash; anything longer is garbage (and a cheap DoS otherwise)
MAX_TOKEN_LENGTH = 128

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True)
class OAuthKeys:
    token: bytes
    client_secret: bytes

    def token_hash(self, value: str) -> str:
        return hash_token(self.token, value)

    def secret_hash(self, value: str) -> str:
        return hash_token(self.client_secret, value)


def oauth_keys(settings: Settings) -> OAuthKeys:
    secret = settings.secret_key_bytes
    return OAuthKeys(derive_key(secret, "oauth-token"), derive_key(secret, "oauth-client-secret"))


# --- Authlib's views of erdv's rows (data only: no database access happens through them) ---


class Client(ClientMixin):  # type: ignore[misc]
    def __init__(self, row: OAuthClient, keys: OAuthKeys) -> None:
        self.row = row
        self.client_id = row.client_id
        self._keys = keys

    def get_client_id(self) -> str:
        return self.row.client_id

    def get_default_redirect_uri(self) -> None:
        # RFC 9700 §2.1: exact matching; erdv always wants redirect_uri named (no default).
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        # The grants refuse over-requested scopes before Authlib narrows anything (invalid_scope).
        return scope_string(scope_list(scope))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.row.redirect_uris  # exact string match, RFC 9700 §4.1.3

    def check_client_secret(self, client_secret: str) -> bool:
        if len(client_secret) > MAX_TOKEN_LENGTH:
            return False
        return constant_time_equal(self._keys.secret_hash(client_secret), self.row.secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in CLIENT_AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.row.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.row.grant_types

    def allowed_scopes(self) -> frozenset[str]:
        return frozenset(self.row.scopes) & ALL_SCOPES


class AuthorizationCode(AuthorizationCodeMixin):  # type: ignore[misc]
    def __init__(self, row: OAuthAuthorizationCode) -> None:
        self.row = row
        self.code_challenge = row.code_challenge
        self.code_challenge_method = row.code_challenge_method

    def get_redirect_uri(self) -> str:
        return self.row.redirect_uri

    def get_scope(self) -> str:
        return self.row.scope


class Token(TokenMixin):  # type: ignore[misc]
    """An ``oauth_token`` row seen as the access token or as the refresh token."""

    def __init__(self, row: OAuthToken, kind: str) -> None:
        self.row = row
        self.kind = kind  # "access_token" | "refresh_token"

    def check_client(self, client: Client) -> bool:
        return bool(self.row.client_id == client.get_client_id())

    def get_scope(self) -> str:
        return self.row.scope

    def get_expires_in(self) -> int:
        return int((self.expires_at - self.row.issued_at).total_seconds())

    @property
    def expires_at(self) -> datetime:
        if self.kind == "refresh_token" and self.row.refresh_expires_at is not None:
            return self.row.refresh_expires_at
        return self.row.access_expires_at

    def is_expired(self) -> bool:
        return bool(self.expires_at <= clock.now())

    def is_revoked(self) -> bool:
        return self.row.revoked_at is not None

    def get_user(self) -> uuid.UUID | None:
        return self.row.account_id


# --- requests and responses ---


class FormPayload(OAuth2Payload):  # type: ignore[misc]
    """The request's parameters (query string and form), every value of each kept for Authlib's
    "parameter given twice" checks (RFC 6749 §3.1)."""

    def __init__(self, items: list[tuple[str, str]]) -> None:
        self._items = items
        self._data = {key: value for key, value in reversed(items)}  # the first value wins
        lists: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in items:
            lists[key].append(value)
        self._datalist = lists

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class ErdvOAuth2Request(OAuth2Request):  # type: ignore[misc]
    """Built in the async handler, after ``await request.form()``, then handed to the thread.

    ``OAuth2Request.__init__`` refuses http:// URIs (``InsecureTransportError``); behind erdv's TLS
    proxy every request arrives over http, and transport security is enforced by deployment instead
    (production requires an https ``ERDV_PUBLIC_URL`` and sends HSTS), so the check is not run here.
    """

    def __init__(
        self,
        method: str,
        uri: str,
        headers: Mapping[str, str],
        query: list[tuple[str, str]],
        form: list[tuple[str, str]],
    ) -> None:
        self.method = method
        self.uri = uri
        self.headers = headers
        self._body = None
        self.client = None
        self.auth_method = None
        self.user = None
        self.authorization_code = None
        self.refresh_token = None
        self.credential = None
        self._scope = None
        self._args = dict(reversed(query))
        self._form = dict(reversed(form))
        self.payload = FormPayload(query + form)

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


@dataclass
class OAuthResponse:
    """What ``handle_response`` returns; the router turns it into a Starlette response."""

    status: int
    body: Any
    headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def location(self) -> str | None:
        for name, value in self.headers:
            if name.lower() == "location":
                return value
        return None

    @location.setter
    def location(self, value: str) -> None:
        self.headers = [(n, v) for n, v in self.headers if n.lower() != "location"]
        self.headers.append(("Location", value))


# --- grants ---


def _check_scopes(request: OAuth2Request, allowed: frozenset[str]) -> None:
    """RFC 6749 §3.3 lets a server narrow a request silently; erdv refuses instead, so a platform
    never believes it holds a right it was not given (SECURITY.md)."""
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
    server: ErdvAuthorizationServer

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
    server: ErdvAuthorizationServer

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
    server: ErdvAuthorizationServer

    def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
        return self.server.bridge(self.server.store.find_any_token, token_string, token_type_hint)

    def revoke_token(self, token: Token, request: OAuth2Request) -> None:
        self.server.bridge(self.server.store.revoke, token)


class Introspection(IntrospectionEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = CLIENT_AUTH_METHODS
    server: ErdvAuthorizationServer

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


# --- storage: async, on the event loop, in the request's transaction ---


class Store:
    """What Authlib's hooks need from the database, as coroutines on the request's session."""

    def __init__(self, session: AsyncSession, audit: AuditTrail, keys: OAuthKeys) -> None:
        self.session = session
        self.repository = OAuthRepository(session)
        self.audit = audit
        self.keys = keys

    async def client(self, client_id: str | None) -> Client | None:
        """Disabled clients do not exist as far as the protocol is concerned."""
        if not client_id or len(client_id) > 64:
            return None
        row = await self.repository.client(client_id)
        return Client(row, self.keys) if row is not None and row.enabled else None

    async def active_account(self, account_id: uuid.UUID) -> uuid.UUID | None:
        from app.accounts.models import Account

        account = await self.session.get(Account, account_id)
        if account is None or account.status != AccountStatus.ACTIVE.value:
            return None
        return account_id

    async def save_code(
        self,
        code: str,
        client_id: str,
        account_id: uuid.UUID,
        redirect_uri: str,
        scope: str,
        challenge: str,
        method: str,
    ) -> None:
        now = clock.now()
        await self.repository.add_code(
            OAuthAuthorizationCode(
                id=new_id(),
                code_hash=self.keys.token_hash(code),
                client_id=client_id,
                account_id=account_id,
                redirect_uri=redirect_uri,
                scope=scope,
                code_challenge=challenge,
                code_challenge_method=method,
                created_at=now,
                expires_at=now + CODE_LIFETIME,
            )
        )

    async def use_code(self, code: str, client_id: str) -> AuthorizationCode | None:
        if len(code) > MAX_TOKEN_LENGTH:
            return None
        row = await self.repository.code_by_hash(self.keys.token_hash(code))
        if row is None or row.client_id != client_id:
            return None
        now = clock.now()
        if row.used_at is not None or not await self.repository.claim_code(row.id, now):
            revoked = await self.repository.revoke_from_code(row.id, now)
            await self.audit.record(
                AuditAction.OAUTH_CODE_REPLAY_DETECTED,
                actor=Actor.client(client_id, on_behalf_of=row.account_id),
                outcome=AuditOutcome.DENIED,
                subject_id=row.account_id,
                object_type="oauth_code",
                object_id=row.id,
                details={"revoked_tokens": revoked},
            )
            return None
        if row.expires_at <= now:
            return None
        return AuthorizationCode(row)

    async def find_refresh_token(self, value: str) -> Token | None:
        if len(value) > MAX_TOKEN_LENGTH:
            return None
        row = await self.repository.token_by_refresh_hash(self.keys.token_hash(value))
        if row is None:
            return None
        if row.rotated_at is not None:
            await self.refresh_reused(row)
            return None
        now = clock.now()
        if row.revoked_at is not None or (row.refresh_expires_at or now) <= now:
            return None
        return Token(row, "refresh_token")

    async def refresh_reused(self, row: OAuthToken) -> None:
        """A spent refresh token came back: someone holds a copy. Revoke the whole family."""
        revoked = await self.repository.revoke_family(row.family_id, clock.now())
        await self.audit.record(
            AuditAction.OAUTH_REFRESH_REUSE_DETECTED,
            actor=Actor.client(row.client_id, on_behalf_of=row.account_id),
            outcome=AuditOutcome.DENIED,
            subject_id=row.account_id,
            object_type="oauth_token_family",
            object_id=row.family_id,
            details={"revoked_tokens": revoked},
        )

    async def spend_refresh_token(self, row: OAuthToken) -> bool:
        if await self.repository.rotate(row.id, clock.now()):
            return True
        await self.refresh_reused(row)
        return False

    async def find_any_token(self, value: str, hint: str | None) -> Token | None:
        if len(value) > MAX_TOKEN_LENGTH:
            return None
        digest = self.keys.token_hash(value)
        kinds = ["refresh_token", "access_token"]
        if hint == "access_token":
            kinds.reverse()
        for kind in kinds:
            if kind == "access_token":
                row = await self.repository.token_by_access_hash(digest)
            else:
                row = await self.repository.token_by_refresh_hash(digest)
            if row is not None:
                return Token(row, kind)
        return None

    async def revoke(self, token: Token) -> None:
        """RFC 7009 §2.1: revoking a refresh token revokes the grant (its family); revoking an
        access token revokes that token (and the refresh token issued with it)."""
        row, now = token.row, clock.now()
        if token.kind == "refresh_token":
            count = await self.repository.revoke_family(row.family_id, now)
        else:
            count = await self.repository.revoke_token(row.id, now)
        await self.audit.record(
            AuditAction.OAUTH_TOKEN_REVOKED,
            actor=Actor.client(row.client_id, on_behalf_of=row.account_id),
            subject_id=row.account_id,
            object_type="oauth_token",
            object_id=row.id,
            details={"kind": token.kind, "revoked_tokens": count},
        )

    async def save_token(
        self,
        token: dict[str, Any],
        client_id: str,
        grant_type: str,
        account_id: uuid.UUID | None,
        code: AuthorizationCode | None,
        parent: Token | None,
    ) -> None:
        now = clock.now()
        family_id = parent.row.family_id if parent is not None else new_id()
        family_started_at = parent.row.family_started_at if parent is not None else now
        refresh = token.get("refresh_token")
        row = OAuthToken(
            id=new_id(),
            client_id=client_id,
            account_id=account_id,
            access_hash=self.keys.token_hash(token["access_token"]),
            refresh_hash=self.keys.token_hash(refresh) if refresh else None,
            scope=token.get("scope", ""),
            grant_type=grant_type,
            family_id=family_id,
            family_started_at=family_started_at,
            code_id=code.row.id if code is not None else None,
            issued_at=now,
            access_expires_at=now + timedelta(seconds=int(token["expires_in"])),
            # absolute lifetime: rotation never extends the family (SECURITY.md)
            refresh_expires_at=family_started_at + REFRESH_FAMILY_LIFETIME if refresh else None,
        )
        await self.repository.add_token(row)
        await self.audit.record(
            AuditAction.OAUTH_TOKEN_REFRESHED if parent else AuditAction.OAUTH_TOKEN_ISSUED,
            actor=Actor.client(client_id, on_behalf_of=account_id),
            subject_id=account_id,
            object_type="oauth_token",
            object_id=row.id,
            details={"grant_type": grant_type, "scope": row.scope},
        )


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
