"""Who may call the booking routes, in one place each (docs/architecture.md "Who may call").

Each alias takes a browser session of the right role, or a third-party OAuth token with the scope
the route needs, acting for one person (``app.auth.authenticator.Authenticator``): the services take the
resulting ``Principal`` and check every object against ``principal.account_id``, so a token acting
for patient P sees and books only as P; ``actor.client_id`` marks the third party in the audit
trail and as the booking ``channel``. Public routes accept a token too, which must then be valid
and carry ``practitioners:read`` or ``slots:read`` (and counts against its client's rate limit).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.accounts.principal import Principal
from app.audit.service import AuditTrail
from app.auth.authenticator import Authenticator, PublicCaller, RecentlyAuthenticatedPractitioner
from app.auth.callers import AnyCaller, Caller
from app.booking.agenda import AgendaService
from app.booking.appointments import AppointmentService
from app.booking.desk import DeskService
from app.booking.directory import DirectoryService
from app.booking.feed import FeedService
from app.booking.waitlist import WaitlistService
from app.core.deps import settings_of
from app.core.mail import OutgoingMail
from app.core.request_db import Database
from app.core.settings import Settings
from app.throttle.dependencies import throttle_for
from app.throttle.service import Throttle

WiredParts = tuple[AsyncSession, Settings, AuditTrail, Throttle, OutgoingMail]

#: books on their own behalf, or a token with ``appointments:write`` acting for a patient
Booker = Annotated[Principal, Depends(Authenticator(Role.PATIENT, scope="appointments:write"))]
#: lists their own appointments, or ``appointments:read``
AppointmentReader = Annotated[
    Principal, Depends(Authenticator(Role.PATIENT, scope="appointments:read"))
]
#: the patient or the practitioner of one appointment; the service answers 404 to anyone else
#: (a secretary of its practice too: ``AppointmentService._mine``)
AppointmentViewer = Annotated[
    Principal,
    Depends(
        Authenticator(Role.PATIENT, Role.PRACTITIONER, Role.SECRETARY, scope="appointments:read")
    ),
]
AppointmentChanger = Annotated[
    Principal,
    Depends(
        Authenticator(Role.PATIENT, Role.PRACTITIONER, Role.SECRETARY, scope="appointments:write")
    ),
]
#: the practitioner of a practice or one of its secretaries (``DeskService`` checks which practice)
PracticeSide = Annotated[Principal, Depends(Authenticator(Role.PRACTITIONER, Role.SECRETARY))]
#: a patient in their own browser session: the waiting list is theirs alone (no application)
PatientSelf = Annotated[Principal, Depends(Authenticator(Role.PATIENT))]
#: reads their own agenda, or ``agenda:read``
AgendaReader = Annotated[Principal, Depends(Authenticator(Role.PRACTITIONER, scope="agenda:read"))]
#: anyone; a token, if sent, must be valid and carry the scope
DirectoryReader = Annotated[Caller, Depends(PublicCaller("practitioners:read"))]
SlotReader = Annotated[Caller, Depends(PublicCaller("slots:read"))]
#: the reversibility export carries every patient's contact details: re-authentication required
Exporter = RecentlyAuthenticatedPractitioner


def _wired(request: Request, database: Database, mail: OutgoingMail) -> WiredParts:
    """Wired from the app's state, as ``get_auth_service`` is: resolving the settings, audit and
    throttle as dependencies costs Python on every booking, cancellation and agenda read, and none
    of them does I/O (bench/README.md "Performance rules in the code")."""
    db = database.session
    settings = settings_of(request)
    return (
        db,
        settings,
        AuditTrail.for_settings(db, settings),
        throttle_for(request, db, settings),
        mail,
    )


async def get_appointment_service(
    request: Request, database: Database, mail: OutgoingMail
) -> AppointmentService:
    return AppointmentService(*_wired(request, database, mail))


Appointments = Annotated[AppointmentService, Depends(get_appointment_service)]


async def get_agenda_service(
    request: Request, database: Database, mail: OutgoingMail
) -> AgendaService:
    return AgendaService(*_wired(request, database, mail))


Agenda = Annotated[AgendaService, Depends(get_agenda_service)]


async def get_directory_service(
    request: Request, database: Database, who: AnyCaller
) -> DirectoryService:
    """For the public reads (search, profile, slots), which write nothing: a read session (no write
    lock, no transaction round trips), and no audit trail, throttle or mail queue to set up on the
    busiest routes (each is per-request work: keys, policies). The settings come from the app's
    state: one dependency less to resolve on every public read.

    An anonymous caller reads from the replica when there is one; a signed-in person or a token
    from the primary (``RequestDatabase.read_from_primary``). ``who`` is the request's caller,
    which every request resolves anyway (FastAPI resolves it once)."""
    if who.token is not None or who.principal is not None:
        database.read_from_primary()
    settings = settings_of(request)
    # the recorder is mandatory; these routes read no personal data, so it never writes here
    return DirectoryService(
        database.reader, settings, AuditTrail.for_settings(database.reader, settings)
    )


Directory = Annotated[DirectoryService, Depends(get_directory_service)]


async def get_desk_service(request: Request, database: Database, mail: OutgoingMail) -> DeskService:
    return DeskService(*_wired(request, database, mail))


Desk = Annotated[DeskService, Depends(get_desk_service)]


async def get_feed_service(request: Request, database: Database, mail: OutgoingMail) -> FeedService:
    return FeedService(*_wired(request, database, mail))


Feeds = Annotated[FeedService, Depends(get_feed_service)]


async def get_waitlist_service(
    request: Request, database: Database, mail: OutgoingMail
) -> WaitlistService:
    return WaitlistService(*_wired(request, database, mail))


Waitlists = Annotated[WaitlistService, Depends(get_waitlist_service)]
