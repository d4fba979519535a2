"""Practice errors (codes in docs/api.md "Errors")."""

from __future__ import annotations

from app.core.errors import Conflict, NotFound, Unprocessable


class PractitionerNotFound(NotFound):
    title = "No such practitioner"


class VisitReasonNotFound(NotFound):
    title = "No such visit reason"


class AbsenceNotFound(NotFound):
    title = "No such absence"


class InvalidProfile(Unprocessable):
    """A profile field breaks a rule the schema cannot express (profession/specialty pair, zone)."""


class InvalidAvailability(Unprocessable):
    code = "invalid_availability"
    title = "These opening hours cannot be published"


class TooManyVisitReasons(Unprocessable):
    title = "Too many visit reasons"


class AbsenceConflicts(Conflict):
    """Appointments lie inside the absence and ``cancel_appointments`` was false."""

    code = "absence_conflicts"
    title = "Appointments are booked during this absence"

    def __init__(self, count: int) -> None:
        super().__init__(
            f"{count} appointment(s) are booked during this absence; send "
            "cancel_appointments=true to cancel them and notify the patients.",
            appointments=count,
        )


class SiteNotFound(NotFound):
    title = "No such site"


class OverrideNotFound(NotFound):
    title = "This date has no override"


class InvalidSite(Unprocessable):
    code = "invalid_site"
    title = "This site cannot be saved"


class SiteInUse(Conflict):
    """Opening hours or booked visits ahead name the site: removing it would lose them."""

    code = "site_in_use"
    title = "This site is still in use"


class LastSite(Conflict):
    """A listed practice keeps at least one address (C2: the profile says where)."""

    code = "last_site"
    title = "A practice keeps at least one site"


class InvalidOverride(Unprocessable):
    code = "invalid_availability"
    title = "These hours cannot be published for this date"
