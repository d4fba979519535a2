"""What booking tells the notifications: one notice per change of an appointment.

A notice's messages (who is told, in which language, with which calendar file) are written by its
renderer (``app.notifications.notices``) in the transaction of the change, just before it commits
(``MailQueue.write_at_commit``), and staged in the outbox with it: a change that commits cannot
lose its messages, one that rolls back announces nothing, and no transaction of their own is
needed afterwards (one read and one insert in the change's; bench/README.md, B1 and B17). The
notice carries the appointment as the change left it: its times, and the iCalendar ``SEQUENCE``
after the change.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from app.accounts.models import Role
from app.accounts.principal import Principal

#: the outbox kind of a notice (its renderer is registered under this name, ``app.renderers``)
APPOINTMENT_NOTICE = "appointment-notice"


class Change(StrEnum):
    BOOKED = "booked"
    RESCHEDULED = "rescheduled"
    CANCELLED = "cancelled"


def made_by(principal: Principal) -> str:
    """``patient``, ``practitioner`` or ``client`` (an application acting with a patient's token):
    the practitioner is told of the changes they did not make themselves. A secretary acts for the
    practice: their changes are the practice's (``practitioner``), never mailed to it."""
    if principal.via_token:
        return "client"
    if principal.role is Role.SECRETARY:
        return Role.PRACTITIONER.value
    return principal.role.value


def notice(
    change: Change,
    *,
    appointment_id: uuid.UUID,
    patient_id: uuid.UUID | None,
    practitioner_id: uuid.UUID,
    start: datetime,
    end: datetime,
    sequence: int,
    by: str,
    relative_name: str | None = None,
    contact_email: str | None = None,
    cancel_reason: str | None = None,
) -> dict[str, Any]:
    """``relative_name``: the appointment is the patient's relative's, and the practice knows the
    visit by that name (the patient is still the one told). ``contact_email``: a person without
    an account the practice booked for, told at the address they gave (``patient_id`` None)."""
    return {
        "relative_name": relative_name,
        "contact_email": contact_email,
        # the practice's reason for a cancellation, a code of a fixed list (schemas.CancelReason)
        "cancel_reason": cancel_reason,
        "change": change.value,
        "appointment_id": str(appointment_id),
        "patient_id": str(patient_id) if patient_id is not None else None,
        "practitioner_id": str(practitioner_id),
        "start": start.isoformat(),
        "end": end.isoformat(),
        "sequence": sequence,
        "by": by,
    }
