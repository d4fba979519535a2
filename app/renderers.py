"""Every kind of message written after the commit that staged it, and its renderer (composition
root, as ``app.jobs`` is for periodic jobs): the outbox runs the renderer of a staged message's kind
once the transaction that staged it has committed (``app.outbox.service``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.deferred import renderers as account_renderers
from app.booking.holds import WAITLIST_ENDED, WAITLIST_OFFER
from app.booking.notices import APPOINTMENT_NOTICE
from app.core.hashing import PasswordHasher
from app.core.mail import MailQueue
from app.core.settings import Settings
from app.notifications.contracts import (
    CONSENT_KIND,
    CONTRACT_KIND,
    consent_renderer,
    contract_renderer,
)
from app.notifications.notices import notice_renderer
from app.notifications.reminders import REMINDER_KIND, reminder_renderer
from app.notifications.waitlist import waitlist_ended_renderer, waitlist_renderer
from app.outbox.service import Renderer
from app.webhooks.fanout import webhook_renderer


def both(*parts: Renderer) -> Renderer:
    """One kind, several renderers, in turn, in the same transaction: an appointment's notice
    mails the people (``app.notifications``) and signals the clients the patient authorized
    (``app.webhooks``)."""

    async def render(session: AsyncSession, queue: MailQueue, data: dict[str, Any]) -> None:
        for part in parts:
            await part(session, queue, data)

    return render


def renderers(settings: Settings, passwords: PasswordHasher) -> dict[str, Renderer]:
    return account_renderers(settings, passwords) | {
        APPOINTMENT_NOTICE: both(notice_renderer(settings), webhook_renderer()),
        REMINDER_KIND: reminder_renderer(settings),
        CONTRACT_KIND: contract_renderer(settings),
        CONSENT_KIND: consent_renderer(settings),
        WAITLIST_OFFER: waitlist_renderer(settings),
        WAITLIST_ENDED: waitlist_ended_renderer(settings),
    }
