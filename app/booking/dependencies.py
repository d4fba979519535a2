"""Who may call the booking routes, in one place each (CONVENTIONS habit 4).

Third-party OAuth tokens (``slots:read``, ``practitioners:read``, ``appointments:read``,
``appointments:write``, ``agenda:read``) will join here: swapping an alias below changes every route
that uses it, and the services already take a ``Principal`` (whose ``actor.client_id`` marks a
third party, recorded as the booking ``channel``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.accounts.dependencies import (
    CurrentAccount,
    CurrentPatient,
    CurrentPractitioner,
    RecentlyAuthenticated,
)
from app.accounts.models import Role
from app.accounts.principal import Principal
from app.audit.dependencies import Audit
from app.booking.service import BookingService
from app.core.db import DbSession
from app.core.deps import AppSettings
from app.core.errors import Forbidden
from app.core.mail import OutgoingMail
from app.throttle.dependencies import RequestThrottle

#: books on their own behalf (later: or a token with ``appointments:write`` acting for a patient)
Booker = CurrentPatient
#: lists their own appointments (later: or ``appointments:read``)
AppointmentReader = CurrentPatient
#: the patient or the practitioner of one appointment; the service answers 404 to anyone else
AppointmentParty = CurrentAccount
#: reads their own agenda (later: or ``agenda:read``)
AgendaReader = CurrentPractitioner


async def _recent_practitioner(principal: RecentlyAuthenticated) -> Principal:
    if principal.role is not Role.PRACTITIONER:
        raise Forbidden("This route is not for your kind of account.")
    return principal


#: the reversibility export carries every patient's contact details: re-authentication required
Exporter = Annotated[Principal, Depends(_recent_practitioner)]


def get_booking_service(
    db: DbSession,
    settings: AppSettings,
    audit: Audit,
    throttle: RequestThrottle,
    mail: OutgoingMail,
) -> BookingService:
    return BookingService(db, settings, audit, throttle, mail)


Booking = Annotated[BookingService, Depends(get_booking_service)]
