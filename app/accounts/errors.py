"""Errors of accounts and sessions, with the codes of docs/api.md "Errors".

Those marked ``RecordedFailure`` leave a trace that must survive the failed request (a throttle
counter, an audit entry): see ``app.throttle.errors``.

    NotAuthenticated (401)   InvalidCredentials (invalid_credentials), MfaRequired (mfa_required)
    Forbidden (403)          EmailNotVerified, AccountSuspended, CsrfFailed, ReauthRequired
    BadRequest (400)         InvalidToken (invalid_token)
    Unprocessable (422)      WeakPassword (weak_password)
    Conflict (409)           CannotSuspendSelf (cannot_suspend_self)
"""

from __future__ import annotations

from app.core.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotAuthenticated,
    RecordedFailure,
    Unprocessable,
)


class InvalidCredentials(RecordedFailure, NotAuthenticated):
    """Same answer for an unknown email and a wrong password (no account enumeration)."""

    code = "invalid_credentials"
    title = "Invalid credentials"


class MfaRequired(NotAuthenticated):
    code = "mfa_required"
    title = "Second factor required"


class EmailNotVerified(RecordedFailure, Forbidden):
    code = "email_not_verified"
    title = "Email not verified"


class AccountSuspended(RecordedFailure, Forbidden):
    code = "account_suspended"
    title = "Account suspended"


class CsrfFailed(RecordedFailure, Forbidden):
    code = "csrf_failed"
    title = "CSRF token missing or wrong"


class ReauthRequired(RecordedFailure, Forbidden):
    code = "reauth_required"
    title = "Re-authentication required"


class InvalidToken(BadRequest):
    """Unknown, used or expired verification or reset token: one answer for all three."""

    code = "invalid_token"
    title = "Invalid or expired token"


class WeakPassword(Unprocessable):
    code = "weak_password"
    title = "Password refused"


class CannotSuspendSelf(Conflict):
    code = "cannot_suspend_self"
    title = "An admin cannot suspend their own account"


class WrongRole(RecordedFailure, Forbidden):
    """A route for another kind of account (403 ``forbidden``); the denial is audited."""


class EmailTaken(Conflict):
    """A change of address confirmed after another account took the address meanwhile."""

    code = "email_taken"
    title = "This address now belongs to another account"


class SameEmail(Unprocessable):
    """A change of address to the address the account already has."""

    code = "validation_error"
    title = "This is already your address"
