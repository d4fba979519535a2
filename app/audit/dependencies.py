"""The request's audit recorder, bound to the request's session (same transaction)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.audit.service import AuditTrail
from app.core.deps import AppSettings
from app.core.request_db import DbSession


async def get_audit_trail(session: DbSession, settings: AppSettings) -> AuditTrail:
    return AuditTrail.for_settings(session, settings)


Audit = Annotated[AuditTrail, Depends(get_audit_trail)]
