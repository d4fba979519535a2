"""Consent proofs outlive their account by ``ERDV_CONSENT_PROOF_RETENTION_DAYS`` (5 years), as the
privacy notice says, and then go.

A proof of consent is kept while the account lives (GDPR art. 7(1): the operator must be able to
show who agreed to which text, when), and after its erasure for as long as a claim about it could
still be brought (the notice's 5 years). Then the decisions and the current states of the erased
account are deleted; the audit entries that recorded them keep only the account's id, which
names nobody.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Account, AccountStatus
from app.audit.models import AuditAction
from app.audit.service import Actor, AuditTrail
from app.consent.models import ConsentDecision, ConsentState
from app.core import clock
from app.core.repository import changed, table_of
from app.core.settings import Settings

_account = table_of(Account)
_decision = table_of(ConsentDecision)
_state = table_of(ConsentState)


async def purge_consent_proofs(session: AsyncSession, settings: Settings) -> str:
    """The consent-retention job: the proofs of accounts erased longer ago than the retention."""
    bound = clock.now() - timedelta(days=settings.consent_proof_retention_days)
    gone = sa.select(_account.c.id).where(
        _account.c.status == AccountStatus.DELETED.value, _account.c.erased_at <= bound
    )
    await session.execute(sa.delete(_state).where(_state.c.account_id.in_(gone.scalar_subquery())))
    result = await session.execute(
        sa.delete(_decision).where(_decision.c.account_id.in_(gone.scalar_subquery()))
    )
    removed = changed(result)
    await AuditTrail.for_settings(session, settings).record(
        AuditAction.CONSENT_PROOFS_PURGED,
        actor=Actor.system(),
        object_type="consent_decision",
        details={"removed": removed, "retention_days": settings.consent_proof_retention_days},
    )
    return f"removed {removed} consent proofs of erased accounts"
