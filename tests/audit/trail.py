"""A trail written and verified the way the application does, for the audit tests."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit import service as audit_service
from app.audit.models import AuditAction
from app.audit.service import Actor, AuditTrail, audit_key, verify
from app.core.db import transaction
from tests.helpers.backends import TEST_SECRET

#: the audit key the test settings derive from their secret
KEY = audit_key(TEST_SECRET.encode())


async def write_entries(sessions: async_sessionmaker[AsyncSession], n: int) -> None:
    for i in range(n):
        async with transaction(sessions) as session:
            await AuditTrail(session, KEY).record(
                AuditAction.APPOINTMENT_READ,
                actor=Actor.account(f"practitioner-{i}", "practitioner"),
                subject_id=f"patient-{i % 3}",
                object_type="appointment",
                object_id=f"appt-{i}",
                details={"via": "web"},
            )


async def check(sessions: async_sessionmaker[AsyncSession]) -> audit_service.VerifyResult:
    async with transaction(sessions) as session:
        return await verify(session, KEY)
