"""Every reaction of one domain to another's event, and every service a lower layer asks of a higher
one, in one list (``app.core.hooks``, ``app.auth.tokens``).

The emitter declares its hook and never imports who reacts; the subscriber is connected here, at
the composition root, by ``create_app`` and by the ``erdv`` command before any work. One list keeps
the cross-domain effects visible in one place, and required hooks refuse to fire unconnected.
"""

from __future__ import annotations

from app.accounts.hooks import credentials_revoked, invitation_redeemed
from app.auth.tokens import verify_bearer
from app.booking.absences import booked_at_site, cancel_for_absence
from app.booking.holds import offer_widened_hours
from app.oauth.service import authenticate_bearer, revoke_account_tokens
from app.practice.hooks import absence_added, hours_widened, site_removing
from app.team.service import redeem_at_registration


def connect() -> None:
    """Connect every subscriber (idempotent)."""
    # Bearer tokens are the OAuth domain's; the door below it asks it to verify them
    verify_bearer.connect(authenticate_bearer)
    # a password change or reset, or a suspension, ends every OAuth token acting for the account
    credentials_revoked.connect(revoke_account_tokens)
    # an absence over booked appointments is refused, or cancels them and tells each patient
    absence_added.connect(cancel_for_absence)
    # a site is removed only when no booked visit ahead is there
    site_removing.connect(booked_at_site)
    # time opened by an absence removed or a date override goes to the waiting list first
    hours_widened.connect(offer_widened_hours)
    # a secretary registering with an invitation joins the practice that invited the address
    invitation_redeemed.connect(redeem_at_registration)
