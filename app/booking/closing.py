"""A practitioner's closing (charter C12, the contract's "Reversibility" and "Ending the contract").

``DELETE /api/v1/me`` by a practitioner: the UI offers the reversibility export first; then every
appointment ahead is cancelled and its patient told (``cancel_for_closing``), the practice is
marked closed, and the account is erased like a patient's (``AuthService.erase``), which ends the
listing at once (``listed_clause`` wants an active account). What the platform processed on the
practice's behalf and no patient keeps stays ``ERDV_PRACTICE_CLOSING_DAYS`` (30 by default, stated
on the transparency page), so the operator can still hand the practitioner the export on request
(``GET /api/v1/admin/practices/{id}/export``), then the daily ``practice-closing`` job deletes it
(``purge_closed_practices``). Each patient's own history of their visits stays theirs.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditAction
from app.audit.service import Actor, AuditTrail
from app.booking.repository import BookingRepository
from app.core import clock
from app.core.settings import Settings
from app.practice.repository import PracticeRepository

JOB_NAME = "practice-closing"


async def purge_closed_practices(session: AsyncSession, settings: Settings) -> str:
    """The daily ``practice-closing`` job: practices closed ``ERDV_PRACTICE_CLOSING_DAYS`` ago
    lose the visits no patient keeps, their hours, absences, reasons, place, fees and titles;
    audited with the counts."""
    now = clock.now()
    bound = now - timedelta(days=settings.practice_closing_days)
    practices = PracticeRepository(session)
    bookings = BookingRepository(session)
    closed = await practices.closed_before(bound)
    visits = 0
    for practice_id in closed:
        visits += await bookings.forget_unkept_visits(practice_id)
        # the visits patients keep let go of the sites, which go next
        await bookings.leave_site(practice_id, None)
        await practices.strip_closed(practice_id, now)
    # a visit of a purged practice anonymised since (its patient inactive 3 years) is kept by
    # nobody either
    for practice_id in await practices.purged():
        visits += await bookings.forget_unkept_visits(practice_id)
    await AuditTrail.for_settings(session, settings).record(
        AuditAction.CLOSED_PRACTICES_PURGED,
        actor=Actor.system(),
        object_type="practice",
        details={
            "practices": len(closed),
            "visits_deleted": visits,
            "kept_days": settings.practice_closing_days,
        },
    )
    return f"deleted what {len(closed)} closed practices kept ({visits} visits)"


async def overdue_closed_practices(session: AsyncSession, settings: Settings) -> int:
    """Closed practices whose kept data outlived the delay by more than a day (the job is
    daily): charter C12 is met when this is zero."""
    bound = clock.now() - timedelta(days=settings.practice_closing_days + 1)
    return len(await PracticeRepository(session).closed_before(bound))
