"""Team errors (codes in docs/api.md "Errors")."""

from __future__ import annotations

from app.core.errors import Conflict, NotFound, Unprocessable


class MemberNotFound(NotFound):
    title = "No such team member"


class InvitationNotFound(NotFound):
    """Unknown, expired, for another address, or removed: the same answer."""

    title = "No such invitation"


class AlreadyAccepted(Conflict):
    code = "already_accepted"
    title = "This invitation is already accepted"


class AlreadyInvited(Conflict):
    code = "already_invited"
    title = "This address is already invited to or working for this practice"


class InvalidInvitation(Unprocessable):
    """Registration as a secretary names no valid invitation for its address."""

    code = "invalid_invitation"
    title = "This invitation is not valid for this address"
