"""What the practice domain announces to the domains above it (``app.core.hooks``)."""

from __future__ import annotations

import uuid
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


@dataclass(frozen=True)
class SiteRemoving:
    """A practitioner is removing one of the practice's sites (the practice row is locked)."""

    practice_id: uuid.UUID
    site_id: uuid.UUID


#: The booking domain answers how many booked visits ahead are at that site: the removal is
#: refused while any is (409 ``site_in_use``), so no patient is sent to the wrong address.
site_removing: Hook[SiteRemoving, int] = Hook("practice.site_removing", required=True)


@dataclass(frozen=True)
class HoursWidened:
    """Time became bookable that was not (an absence removed, a date overridden): the waiting
    list may have someone for it (``app.booking.waitlist``). Fired in the practitioner's
    transaction, before commit; ``start`` to ``end`` bounds the time that may have freed."""

    practice_id: uuid.UUID
    start: datetime
    end: datetime
    audit: AuditTrail
    settings: Settings
    mail: MailQueue | None


hours_widened: Hook[HoursWidened, None] = Hook("practice.hours_widened")
