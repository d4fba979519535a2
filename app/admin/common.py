"""What admin routes may answer besides their own errors (docs/api.md "Errors"), one name per family.

The lists keep the order each route documented before the back office had its own package, so the
OpenAPI document did not change when the routes moved.
"""

from __future__ import annotations

#: not signed in, or MFA not finished
SIGNED_IN = ((401, "not_authenticated"), (401, "mfa_required"))
#: a session-only route that changes something (the accounts' own order)
SESSION_CHANGE = ((401, "not_authenticated"), (403, "csrf_failed"), (401, "mfa_required"))
#: an admin's read: signed in, an admin
ADMIN_READ = (*SIGNED_IN, (403, "forbidden"))
#: an admin's change: the read's answers and the CSRF header
ADMIN_CHANGE = (*ADMIN_READ, (403, "csrf_failed"))
#: routes that also refuse OAuth tokens by name (the OAuth clients' own order)
ADMIN_NO_TOKEN = (*SIGNED_IN, (403, "csrf_failed"), (403, "forbidden"), (403, "insufficient_scope"))
