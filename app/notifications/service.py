"""A person's own notifications, and the practitioner's switch."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.principal import Principal
from app.audit.models import AuditAction
from app.audit.service import AuditTrail
from app.notifications.repository import NotificationRepository, Sent
from app.practice.errors import PractitionerNotFound

#: the list is a person's recent messages, newest first
MAX_LISTED = 200


class NotificationService:
    def __init__(self, session: AsyncSession, audit: AuditTrail) -> None:
        self.repository = NotificationRepository(session)
        self.audit = audit

    async def mine(self, principal: Principal) -> Sequence[Sent]:
        return await self.repository.sent_to(principal.account_id, MAX_LISTED)

    async def new_booking_mail(self, principal: Principal) -> bool:
        value = await self.repository.new_booking_mail(principal.account_id)
        if value is None:
            raise PractitionerNotFound()
        return value

    async def set_new_booking_mail(self, principal: Principal, on: bool) -> bool:
        if not await self.repository.set_new_booking_mail(principal.account_id, on):
            raise PractitionerNotFound()
        await self.audit.record(
            AuditAction.PRACTICE_PROFILE_UPDATED,
            actor=principal.actor,
            object_type="practice",
            object_id=principal.account_id,
            details={"fields": "new_booking_mail"},
        )
        return on
