"""Errors whose bookkeeping must outlive the failed request, and the throttling error.

A failed login answers 401, and the request's transaction rolls back on any error (``app.core.db``).
Left at that, the failure counter and the audit entry of the failed attempt would roll back with it:
an attacker could guess passwords forever and nothing would be recorded (the classic bug). Errors
marked ``RecordedFailure`` are raised only after the service has written *only* that bookkeeping
(a throttle counter, an audit entry); ``keep_recorded_failures`` (``dependencies.py``) commits the
request's transaction before the error is rendered, so both survive.
"""

from __future__ import annotations

from app.core.errors import RateLimited


class RecordedFailure:
    """Mixin: commit the request's transaction, then answer with this error."""

    commit_before_raising = True


class Throttled(RecordedFailure, RateLimited):
    """429 ``rate_limited`` with ``Retry-After`` (API.md conventions)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after, "Too many attempts; retry after the delay in Retry-After.")
