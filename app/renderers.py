"""Every kind of message written after the commit that staged it, and its renderer (composition
root, as ``app.jobs`` is for periodic jobs): the outbox runs the renderer of a staged message's kind
once the transaction that staged it has committed (``app.outbox.service``)."""

from __future__ import annotations

from app.accounts.deferred import renderers as account_renderers
from app.booking.holds import WAITLIST_OFFER
from app.booking.notices import APPOINTMENT_NOTICE
from app.core.hashing import PasswordHasher
from app.core.settings import Settings
from app.notifications.contracts import CONTRACT_KIND, contract_renderer
from app.notifications.notices import notice_renderer
from app.notifications.reminders import REMINDER_KIND, reminder_renderer
from app.notifications.waitlist import waitlist_renderer
from app.outbox.service import Renderer


def renderers(settings: Settings, passwords: PasswordHasher) -> dict[str, Renderer]:
    return account_renderers(settings, passwords) | {
        APPOINTMENT_NOTICE: notice_renderer(settings),
        REMINDER_KIND: reminder_renderer(settings),
        CONTRACT_KIND: contract_renderer(settings),
        WAITLIST_OFFER: waitlist_renderer(settings),
    }
