"""Errors whose bookkeeping must outlive the failed request, and the throttling error.

A failed login answers 401, and the request's transaction rolls back on any error (``app.core.db``).
Left at that, the failure counter and the audit entry of the failed attempt would roll back with it:
an attacker could guess passwords forever and nothing would be recorded (the classic bug). Errors
marked ``RecordedFailure`` (``app.core.errors``) are raised only after the service has written
*only* that bookkeeping (a throttle counter, an audit entry); the request's session commits it
before the error is rendered, so both survive.
"""

from __future__ import annotations

from app.core.errors import RateLimited, RecordedFailure


class Throttled(RecordedFailure, RateLimited):
    """429 ``rate_limited`` with ``Retry-After`` (docs/api.md "Rate limits")."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after, "Too many attempts; retry after the delay in Retry-After.")
