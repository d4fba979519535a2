"""Device cookies: a browser that completed a login keeps its own allowance (docs/security.md
"Device cookies").

Throttling per account lets anyone who knows an email hold its owner at the delay cap with one wrong
password per window; docs/security.md ("Throttling") says a lock-out must not deny a real user
forever. OWASP's "Slow Down Online Guessing Attacks with Device Cookies" answers it, and erdv
follows it:

- When a login completes (the second factor too), the browser gets a device cookie: a random nonce
  and ``HMAC(key, email_key:nonce)``, so it is bound to that account, cannot be forged or moved to
  another one, and names no one (``email_key`` is itself an HMAC of the address).
- A login attempt (or a forgot-password request) that presents a valid device cookie for the email
  it names is a *trusted* one: it is throttled on that device's own key, never on the account's,
  so failures from elsewhere cannot hold it up. Its own failures lock *the device cookie* out
  (the account policy: 5 free, then growing delays); a locked-out cookie counts as none, and its
  browser is throttled like any untrusted one.
- Every other attempt is untrusted and throttled per account and per address as before.

One cookie holds the tokens of the last few accounts used in that browser (a shared family
computer), newest first; it is sent only to ``/api/v1/auth`` (its ``Path``), HttpOnly.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

DEVICE_COOKIE = "erdv_device"
DEVICE_COOKIE_PATH = "/api/v1/auth"
#: OWASP leaves the lifetime open: long enough that a patient who books twice a year keeps it
DEVICE_COOKIE_MAX_AGE = 400 * 24 * 3600  # the most browsers keep (RFC 6265bis §5.5)
#: accounts remembered per browser
MAX_TOKENS = 5
_SEPARATOR = "~"
_MAX_COOKIE = 1024
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}\.[A-Za-z0-9_-]{43}")


@dataclass(frozen=True)
class Device:
    """A trusted device for one account: its throttle key names the nonce only by an HMAC."""

    key: str


def _mac(key: bytes, email_key: str, nonce: str) -> str:
    digest = hmac.new(key, f"{email_key}:{nonce}".encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def _tokens(cookie: str | None) -> list[str]:
    if not cookie or len(cookie) > _MAX_COOKIE:
        return []
    return [t for t in cookie.split(_SEPARATOR) if _TOKEN.fullmatch(t)][:MAX_TOKENS]


def trusted_device(key: bytes, email_key: str, cookie: str | None) -> Device | None:
    """The device this cookie proves for the account ``email_key`` names, if any."""
    for token in _tokens(cookie):
        nonce, _, mac = token.partition(".")
        if nonce and mac and hmac.compare_digest(_mac(key, email_key, nonce), mac):
            nonce_id = hmac.new(key, nonce.encode("ascii"), hashlib.sha256).hexdigest()[:40]
            return Device(f"device:{nonce_id}")
    return None


def remember(key: bytes, email_key: str, cookie: str | None) -> str:
    """The cookie after a completed login: a new token for this account first (OWASP: issue a
    new one at each successful login), the other accounts' tokens kept, this one's old ones
    dropped."""
    nonce = secrets.token_urlsafe(16)
    kept = [token for token in _tokens(cookie) if trusted_device(key, email_key, token) is None]
    return _SEPARATOR.join([f"{nonce}.{_mac(key, email_key, nonce)}", *kept][:MAX_TOKENS])
