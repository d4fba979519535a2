"""What the practice domain announces to the domains above it (``app.core.hooks``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.audit.service import Actor, AuditTrail
from app.core.hooks import Hook
from app.core.mail import MailQueue
from app.core.settings import Settings
from app.practice.models import Practice


@dataclass(frozen=True)
class AbsenceAdded:
    """A practitioner is adding an absence from ``start`` to ``end`` (the practice row is locked).

    ``cancel``: the appointments inside it are to be cancelled (and each patient told); otherwise
    their presence refuses the absence (409 ``absence_conflicts``)."""

    practice: Practice
    start: datetime
    end: datetime
    cancel: bool
    actor: Actor
    audit: AuditTrail
    mail: MailQueue | None
    settings: Settings


#: Booked appointments live in the booking domain, which answers (``app.booking.absences``) with
#: how many it cancelled. Required: an absence must never be added over appointments unchecked.
absence_added: Hook[AbsenceAdded, int] = Hook("practice.absence_added", required=True)
