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
