"""What every admin route may answer besides its own errors (API.md "Errors").

One list for the whole back office: a caller who is not signed in, has not finished MFA, forgot the
CSRF header, is not an admin, or sends a token (admin routes take browser sessions only).
"""

from __future__ import annotations

ADMIN_ERRORS = (
    (401, "not_authenticated"),
    (401, "mfa_required"),
    (403, "csrf_failed"),
    (403, "forbidden"),
    (403, "insufficient_scope"),
)
