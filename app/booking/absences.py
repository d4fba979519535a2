"""What the practice domain's hooks ask of booked appointments: an absence over them (``absence_added``:
refused with 409 ``absence_conflicts``, or the appointments cancelled and each patient told), and a
site being removed (``site_removing``: how many visits ahead it still holds)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.audit.models import AuditAction
from app.booking.appointments import AppointmentService
from app.booking.notices import Change
from app.booking.repository import BookingRepository
from app.core import clock
from app.practice.errors import AbsenceConflicts
from app.practice.hooks import AbsenceAdded, SiteRemoving


async def cancel_for_absence(session: AsyncSession, event: AbsenceAdded) -> int:
    """The appointments inside a new absence: 409 ``absence_conflicts`` unless ``cancel``; else
    they are cancelled (visit reasons erased, cells freed) and each patient is told
    (``app.booking.notices``)."""
    service = AppointmentService(session, event.settings, event.audit, None, event.mail)
    rows = await service.repository.booked_between(event.practice.id, event.start, event.end)
    if not rows:
        return 0
    if not event.cancel:
        raise AbsenceConflicts(len(rows))
    now = clock.now()
    count = await service.repository.cancel([r.id for r in rows], Role.PRACTITIONER.value, now)
    for r in rows:
        await event.audit.record(
            AuditAction.APPOINTMENT_CANCELLED,
            actor=event.actor,
            subject_id=r.patient_id,
            object_type="appointment",
            object_id=r.id,
            details={"by": "practitioner", "absence": True},
        )
        service.announce(Change.CANCELLED, r, by=Role.PRACTITIONER.value, sequence=r.sequence + 1)
    return count


async def booked_at_site(session: AsyncSession, event: SiteRemoving) -> int:
    """How many booked visits ahead are at the site being removed (practice domain's hook
    ``site_removing``): the removal waits until they are moved or cancelled. With none, the
    visits past let go of the site, which is removed next in the same transaction: they are told
    at the practice's main address, as visits booked before sites existed are."""
    repository = BookingRepository(session)
    ahead = await repository.booked_at_site(event.practice_id, event.site_id, clock.now())
    if not ahead:
        await repository.leave_site(event.practice_id, event.site_id)
    return ahead
