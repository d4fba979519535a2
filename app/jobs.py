"""The periodic jobs erdv runs (composition root: each domain contributes its retention work)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.service import Actor, audit_key, purge_older_than, verify_and_record
from app.auth.sessions import forget_ended_sessions
from app.booking.closing import JOB_NAME as PRACTICE_CLOSING
from app.booking.closing import purge_closed_practices
from app.booking.holds import JOB_NAME as WAITLIST_OFFERS
from app.booking.holds import lapse_job
from app.booking.retention import anonymise_appointments, purge_visit_reasons
from app.consent.retention import purge_consent_proofs
from app.core.jobs import Job
from app.core.settings import Settings
from app.notifications.contracts import JOB_NAME as CONTRACT_NOTICES
from app.notifications.contracts import announce_contract_versions
from app.notifications.reminders import JOB_NAME as REMINDERS
from app.notifications.reminders import plan_reminders
from app.throttle.service import forget_stale


async def _purge_audit(session: AsyncSession, settings: Settings) -> str:
    """Audit entries older than the retention (default 12 months, docs/charter.md "Retention") go; a
    checkpoint stays."""
    removed = await purge_older_than(
        session,
        audit_key(settings.secret_key_bytes),
        timedelta(days=settings.audit_retention_days),
    )
    return f"removed {removed} audit entries"


async def _verify_audit(session: AsyncSession, settings: Settings) -> str:
    """Recompute the chain daily and record the outcome: the compliance report (C9) reads it, and
    a broken chain becomes visible without anyone having to ask."""
    key = audit_key(settings.secret_key_bytes)
    result = await verify_and_record(session, key, Actor.system())
    return f"chain {'ok' if result.ok else 'BROKEN'} over {result.entries} entries"


#: what ``erdv purge`` runs at once: the retention work, and the chain's check
RETENTION_JOBS: list[Job] = [
    Job("audit-retention", timedelta(hours=24), _purge_audit),
    Job("audit-verify", timedelta(hours=24), _verify_audit),
    # charter C7: visit reasons erased after the visit + grace; hourly keeps the delay bounded
    Job("visit-reason-retention", timedelta(hours=1), purge_visit_reasons),
    # consent proofs outlive an erased account by 5 years (the privacy notice), then go
    Job("consent-retention", timedelta(hours=24), purge_consent_proofs),
    # past appointments of patients inactive for 3 years (the privacy notice) name nobody
    Job("appointment-retention", timedelta(hours=24), anonymise_appointments),
    # C12: what a closed practice's platform kept goes ERDV_PRACTICE_CLOSING_DAYS after closing
    Job(PRACTICE_CLOSING, timedelta(hours=24), purge_closed_practices),
    # throttle keys hold client IPs; forgotten by every policy after its window (24 h by default)
    Job("throttle-retention", timedelta(hours=1), forget_stale),
    # sessions hold IP addresses and user agents: gone once past their timeout
    Job("session-retention", timedelta(hours=1), forget_ended_sessions),
]

JOBS: list[Job] = [
    *RETENTION_JOBS,
    # reminders (ERDV_REMINDER_HOURS) go out within this long of their hour
    Job(REMINDERS, timedelta(minutes=5), plan_reminders),
    # a slot held for a waiting patient goes to the next one within a minute of its hold's end
    Job(WAITLIST_OFFERS, timedelta(minutes=1), lapse_job),
    # C11: a new version of the practitioner contract is announced once to each practitioner
    Job(CONTRACT_NOTICES, timedelta(hours=1), announce_contract_versions),
]
