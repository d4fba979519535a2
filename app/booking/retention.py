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
    (and any a cancellation left, defensively), drop day-old idempotency records; audited."""
    repository = BookingRepository(session)
    now = clock.now()
    erased = await repository.erase_visit_reasons(
        now - timedelta(hours=settings.visit_reason_grace_hours)
    )
    forgotten = await repository.forget_idempotency_keys(now - IDEMPOTENCY_TTL)
    await AuditTrail.for_settings(session, settings).record(
        AuditAction.VISIT_REASONS_PURGED,
        actor=Actor.system(),
        object_type="appointment",
        details={"erased": erased, "grace_hours": settings.visit_reason_grace_hours},
    )
    return f"erased {erased} visit reasons, forgot {forgotten} idempotency keys"


#: the retention job runs hourly: a reason may outlive its grace by up to one run
RETENTION_JOB_SLACK = timedelta(hours=1)


async def kept_visit_reasons(session: AsyncSession, settings: Settings) -> int:
    """Visit reasons still stored past their grace (plus one job interval) or after a
    cancellation: charter C7 is met when this is zero."""
    grace = timedelta(hours=settings.visit_reason_grace_hours) + RETENTION_JOB_SLACK
    return await BookingRepository(session).count_kept_visit_reasons(clock.now() - grace)
