"""What the accounts domain announces to the domains above it (``app.core.hooks``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from app.audit.service import AuditTrail
from app.core.hooks import Hook
from app.core.mail import MailQueue

#: An account's credentials stop counting: its password was changed or reset, or it was suspended.
#: Every grant made with them must end (docs/security.md "Sessions"); ``app.oauth.service`` ends the
#: OAuth tokens acting for the account. Each subscriber returns how many grants it ended.
credentials_revoked: Hook[uuid.UUID, int] = Hook("accounts.credentials_revoked", required=True)


@dataclass(frozen=True)
class Invitee:
    """Someone registering as a secretary with the token their invitation mailed them: the new
    account must join the practice that invited the address, or nothing happens."""

    token: str
    email: str
    account_id: uuid.UUID
    #: the registration's audit trail: the joining is recorded in the same transaction
    audit: AuditTrail
    #: the registration's mail: the practitioner is told who joined, with the registration
    mail: MailQueue | None = None


#: ``app.team.service.redeem_at_registration`` checks the invitation (else 422
#: ``invalid_invitation``, the registration rolled back) and makes the account a member.
invitation_redeemed: Hook[Invitee, None] = Hook("accounts.invitation_redeemed", required=True)
