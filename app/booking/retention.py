"""Charter C7's retention: visit reasons erased after the visit plus a grace delay, and what the
compliance report reads to prove it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditAction
from app.audit.service import Actor, AuditTrail
from app.booking.repository import BookingRepository
from app.booking.views import IDEMPOTENCY_TTL
from app.core import clock
from app.core.settings import Settings


async def purge_visit_reasons(session: AsyncSession, settings: Settings) -> str:
    """C7 retention job: erase visit reasons ``ERDV_VISIT_REASON_GRACE_HOURS`` after the visit
    (and any a cancellation left, defensively), then the visits' lengths (a length can name the
    reason: ``BookingRepository.forget_lengths``), drop day-old idempotency records; audited."""
    repository = BookingRepository(session)
    now = clock.now()
    bound = now - timedelta(hours=settings.visit_reason_grace_hours)
    erased = await repository.erase_visit_reasons(bound)
    shortened = await repository.forget_lengths(bound)
    forgotten = await repository.forget_idempotency_keys(now - IDEMPOTENCY_TTL)
    await AuditTrail.for_settings(session, settings).record(
        AuditAction.VISIT_REASONS_PURGED,
        actor=Actor.system(),
        object_type="appointment",
        details={
            "erased": erased,
            "lengths_forgotten": shortened,
            "grace_hours": settings.visit_reason_grace_hours,
        },
    )
    return (
        f"erased {erased} visit reasons, forgot {shortened} visit lengths and "
        f"{forgotten} idempotency keys"
    )


#: the retention job runs hourly: a reason may outlive its grace by up to one run
RETENTION_JOB_SLACK = timedelta(hours=1)


async def kept_visit_reasons(session: AsyncSession, settings: Settings) -> int:
    """Visit reasons still stored past their grace (plus one job interval) or after a
    cancellation: charter C7 is met when this is zero."""
    grace = timedelta(hours=settings.visit_reason_grace_hours) + RETENTION_JOB_SLACK
    return await BookingRepository(session).count_kept_visit_reasons(clock.now() - grace)


async def kept_lengths(session: AsyncSession, settings: Settings) -> int:
    """Visits past their grace (plus one job interval) that still have a length or cells: charter
    C7 is met when this is zero too."""
    grace = timedelta(hours=settings.visit_reason_grace_hours) + RETENTION_JOB_SLACK
    return await BookingRepository(session).count_kept_lengths(clock.now() - grace)


async def anonymise_appointments(session: AsyncSession, settings: Settings) -> str:
    """The appointment-retention job: past appointments of patients inactive for
    ``ERDV_APPOINTMENT_RETENTION_DAYS`` (3 years, the privacy notice) are anonymised; audited."""
    bound = clock.now() - timedelta(days=settings.appointment_retention_days)
    anonymised = await BookingRepository(session).anonymise_inactive(bound)
    await AuditTrail.for_settings(session, settings).record(
        AuditAction.APPOINTMENTS_ANONYMISED,
        actor=Actor.system(),
        object_type="appointment",
        details={"anonymised": anonymised, "retention_days": settings.appointment_retention_days},
    )
    return f"anonymised {anonymised} past appointments"
