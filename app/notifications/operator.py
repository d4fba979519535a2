"""Operator notices to every practitioner: what the practitioner contract's clause 4 promises them.

The operator "informs the practitioner of any change to [the sub-processors listed on the
transparency page], so that they can object" and "notifies the practitioner of any breach of
these data without undue delay" (GDPR Art. 28(2) and 33(2)). What to say is the operator's to
write; erdv carries it: ``erdv practitioners notify`` mails the text to every practitioner whose
account is active, each in their language, through the outbox (delivered by a server's outbox
worker, retried, listed in their messages under ``operator-notice``). docs/operations.md says
when to use it.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.mails import language_of
from app.core.mail import MailQueue
from app.core.messages import Mail
from app.core.settings import Settings
from app.notifications.repository import NotificationRepository
from app.outbox.service import Stager

TOPIC = "operator-notice"


async def notify_practitioners(
    session: AsyncSession,
    settings: Settings,
    subject: Mapping[str, str],
    body: Mapping[str, str],
) -> int:
    """Stage the notice for every active practitioner (``subject`` and ``body`` by language,
    ``fr`` and ``en``); how many. Staged with the transaction: nothing goes if it rolls back."""
    queue = MailQueue(lambda: session, Stager(settings))
    people = await NotificationRepository(session).active_practitioners()
    for person in people:
        language = language_of(person.language)
        queue.queue(
            Mail(
                to=person.email,
                subject=subject[language],
                body=body[language],
                recipient_id=str(person.id),
                topic=TOPIC,
            )
        )
    return len(people)
