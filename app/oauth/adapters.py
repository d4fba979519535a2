"""Authlib's views of erdv's rows, requests and answers (data only: no database access happens
through them), and the prefixes, lifetimes and keys of what the server issues."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ParamSpec, TypeVar

from authlib.oauth2.rfc6749 import (
    AuthorizationCodeMixin,
    ClientMixin,
    OAuth2Payload,
    OAuth2Request,
    TokenMixin,
)

from app.auth.scopes import (
    ALL_SCOPES,
    scope_list,
    scope_string,
)
from app.core import clock
from app.core.crypto import constant_time_equal, derive_key, hash_token
from app.core.settings import Settings
from app.oauth.models import OAuthAuthorizationCode, OAuthClient, OAuthToken

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
