"""Messages whose content is written after the request that asked for them (composition root, as
``app.jobs`` is for periodic jobs): each kind staged with ``MailQueue.prepare`` has a renderer here,
which the outbox runs once the request has committed (``app.outbox.service``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.recovery import PASSWORD_RESET_KIND, PasswordService
from app.audit.service import AuditTrail
from app.core.hashing import PasswordHasher
from app.core.mail import MailQueue
from app.core.settings import Settings
from app.outbox.service import Renderer
from app.throttle.service import DatabaseStore, Policies, Throttle


def renderers(settings: Settings, passwords: PasswordHasher) -> dict[str, Renderer]:
    async def password_reset(session: AsyncSession, mail: MailQueue, data: dict[str, Any]) -> None:
        # forgot-password's account lookup, token, audit entry and mail (docs/security.md
        # "Passwords": the request
        # itself does the same work for a registered and an unknown address)
        service = PasswordService(
            session,
            settings,
            passwords,
            Throttle(DatabaseStore(session), Policies.from_settings(settings)),
            AuditTrail.for_settings(session, settings),
            mail,
        )
        await service.send_password_reset(str(data["email"]))

    return {PASSWORD_RESET_KIND: password_reset}
