"""The request's audit recorder, bound to the request's session (same transaction)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.service import AuditTrail, audit_key
from app.core.db import DbSession
from app.core.deps import AppSettings
from app.core.settings import Settings


async def get_audit_trail(session: DbSession, settings: AppSettings) -> AuditTrail:
    return audit_for(session, settings)


def audit_for(session: AsyncSession, settings: Settings) -> AuditTrail:
    """The request's recorder, for dependencies that build a service from the app's state rather
    than resolve ``Audit`` (each dependency FastAPI resolves costs Python on every request). Any
    number of them may exist per request: what they record is buffered in the session."""
    return AuditTrail(session, audit_key(settings.secret_key_bytes))


Audit = Annotated[AuditTrail, Depends(get_audit_trail)]
