"""What the accounts domain announces to the domains above it (``app.core.hooks``)."""

from __future__ import annotations

import uuid

from app.core.hooks import Hook

#: An account's credentials stop counting: its password was changed or reset, or it was suspended.
#: Every grant made with them must end (docs/security.md "Sessions"); ``app.oauth.service`` ends the
#: OAuth tokens acting for the account. Each subscriber returns how many grants it ended.
credentials_revoked: Hook[uuid.UUID, int] = Hook("accounts.credentials_revoked", required=True)
