"""Who is calling: the loaded browser session and the ``Principal`` every route receives."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from app.accounts.models import Account, AuthSession, Role
from app.audit.service import Actor
from app.core import clock
from app.core.crypto import derive_key, hash_token

SESSION_COOKIE = "erdv_session"
#: The name over HTTPS (and always in production): browsers keep a ``__Host-`` cookie only if it
#: is Secure, has ``Path=/`` and no ``Domain``, so neither a sibling subdomain nor a plain-http
#: response can plant or overwrite it (RFC 6265bis §4.1.3.2; docs/security.md "Sessions"). Over plain
#: http (development, the tests) it cannot be set at all: there the cookie keeps its plain name.
SECURE_SESSION_COOKIE = "__Host-erdv_session"


def session_cookie_name(secure: bool) -> str:
    """The session cookie's name for a request over HTTPS (``secure``) or plain http."""
    return SECURE_SESSION_COOKIE if secure else SESSION_COOKIE


SESSION_TOKEN_PREFIX = "erdv_s_"  # noqa: S105 - a prefix, not a secret


@dataclass(frozen=True)
class Keys:
    """One derived key per use of the secret (``app.core.crypto.derive_key``)."""

    session: bytes
    csrf: bytes
    mail_token: bytes
    throttle: bytes
    #: device cookies (``app.accounts.devices``)
    device: bytes

    def session_hash(self, token: str) -> str:
        return hash_token(self.session, token)

    def csrf_token(self, session_token: str) -> str:
        """The synchronizer token: an HMAC of the session token (OWASP CSRF cheat sheet,
        "signed double submit" bound to the session), so nothing extra is stored and it changes
        whenever the session token is rotated."""
        mac = hmac.new(self.csrf, session_token.encode("utf-8"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode("ascii").rstrip("=")

    def email_key(self, email: str) -> str:
        """An opaque throttle key for an email, registered or not (no email in clear in the table)."""
        return hash_token(self.throttle, email)[:40]


@lru_cache(maxsize=8)
def keys_for(secret: bytes) -> Keys:
    return Keys(
        session=derive_key(secret, "session-token"),
        csrf=derive_key(secret, "csrf-token"),
        mail_token=derive_key(secret, "account-token"),
        throttle=derive_key(secret, "throttle-key"),
        device=derive_key(secret, "device-cookie"),
    )


@dataclass(frozen=True)
class BrowserSession:
    """The browser session a request's cookie names (any state: partial or full)."""

    session: AuthSession
    account: Account
    token: str


@dataclass(frozen=True)
class Principal:
    """The authenticated caller, whatever the way in: a browser session, or an OAuth Bearer token
    acting for this person (``client_id`` and ``scopes`` set, ``actor`` names the client)."""

    account_id: uuid.UUID
    role: Role
    display_name: str
    #: the browser session, or None for a caller that has none (an OAuth Bearer token)
    session_id: uuid.UUID | None
    actor: Actor
    authenticated_at: datetime | None = None
    reauthenticated_at: datetime | None = None
    #: set when the caller is an OAuth client acting for this person with a Bearer token
    client_id: str | None = None
    #: the token's scopes (empty for a browser session, which routes check by role alone)
    scopes: frozenset[str] = frozenset()

    @property
    def via_token(self) -> bool:
        return self.client_id is not None

    def reauthenticated_within(self, window: timedelta) -> bool:
        at = self.reauthenticated_at
        return at is not None and clock.now() - at <= window
