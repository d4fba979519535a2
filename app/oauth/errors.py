"""Errors of the OAuth domain (docs/api.md "OAuth 2", RFC 6750 §3.1).

    NotAuthenticated (401)  InvalidAccessToken (invalid_token; WWW-Authenticate: Bearer)
    Forbidden (403)         InsufficientScope (insufficient_scope; WWW-Authenticate: Bearer)
    NotFound (404)          ClientNotFound (not_found), AppNotFound (not_found)
    Unprocessable (422)     InvalidClientSettings (validation_error)

Errors of the OAuth protocol endpoints themselves (``/oauth/token``...) are not problem documents:
they are the JSON error responses of RFC 6749 §5.2, produced by Authlib.
"""

from __future__ import annotations

from app.core.errors import NotAuthenticated, NotFound, Unprocessable


class InvalidAccessToken(NotAuthenticated):
    """Unknown, expired or revoked Bearer token (or its client disabled, its patient suspended)."""

    code = "invalid_token"
    title = "Invalid access token"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(
            detail or "The access token is invalid, expired or revoked.",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )


class ClientNotFound(NotFound):
    title = "No such OAuth client"


class AppNotFound(NotFound):
    title = "No such authorized application"


class InvalidClientSettings(Unprocessable):
    pass
