"""Booking errors (codes in docs/api.md "Errors")."""

from __future__ import annotations

from datetime import datetime

from app.core.errors import Conflict, NotFound, Unprocessable
from app.schedule.model import InvalidWindow, Window
from app.schedule.timegrid import ScheduleError


class AppointmentNotFound(NotFound):
    """Also for someone else's appointment: no existence oracle (docs/api.md "Conventions")."""

    title = "No such appointment"


class PractitionerNotFound(NotFound):
    """Unknown, unapproved or unlisted: the same answer."""

    title = "No such practitioner"


class SlotUnavailable(Conflict):
    code = "slot_unavailable"
    title = "This time cannot be booked"


class CancelDeadlinePassed(Conflict):
    code = "cancel_deadline_passed"
    title = "Too late to cancel or move this appointment online"


class AlreadyCancelled(Conflict):
    code = "already_cancelled"
    title = "This appointment is already cancelled"


class IdempotencyKeyReused(Unprocessable):
    """The key was first used with another request body (draft-ietf-httpapi-idempotency-key)."""

    code = "idempotency_key_reused"
    title = "This Idempotency-Key was used with another request"


class InvalidQuery(Unprocessable):
    """A query parameter names nothing valid (window, profession, cursor, visit reason)."""

    @classmethod
    def of_window(cls, error: ScheduleError) -> InvalidQuery:
        """A window the engine refused, with the parameter to change in ``errors`` (API.md
        "Conventions": a 422 validation error carries ``errors: [{field, message}]``)."""
        field = error.field if isinstance(error, InvalidWindow) else "from"
        return cls(str(error), errors=[{"field": field, "message": str(error)}])


def query_window(start: datetime, end: datetime) -> Window:
    """The window a request asks for (``from``, ``to``), or 422 naming the one to change."""
    try:
        return Window(start, end)
    except InvalidWindow as error:
        raise InvalidQuery.of_window(error) from error


class PatientNotFound(NotFound):
    """No live patient account has this id."""

    title = "No such patient"


class InvalidTransition(Conflict):
    code = "invalid_transition"
    title = "This appointment cannot take this status now"


class WaitlistEntryNotFound(NotFound):
    title = "No such waiting-list request"


class AlreadyWaiting(Conflict):
    """One request per practitioner: the patient changes it by leaving and asking again."""

    code = "already_waiting"
    title = "You are already on this practitioner's waiting list"


class NoOffer(Conflict):
    """Nothing is held for this request now: none was offered yet, or its hold ended."""

    code = "offer_unavailable"
    title = "No slot is held for this request now"
