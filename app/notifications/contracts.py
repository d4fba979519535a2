"""A new version of the practitioner contract is announced to each practitioner who accepted an
earlier one (charter C11: practitioners accept the contract's versions; until they accept the new
one, the listing gate leaves them out, ``app.consent.service.missing_purposes``).

A periodic job finds them and stages one mail per practitioner and version, under a once-only key
(``contract:<account>:<version>``); the mail is written just before delivery, and not at all if the
practitioner accepted in between.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.mails import language_of
from app.charter.model import PurposeId
from app.charter.registry import default_charter
from app.core.mail import MailQueue
from app.core.settings import Settings
from app.notifications.messages import write_mail
from app.notifications.repository import NotificationRepository
from app.outbox.service import Renderer, Stager

JOB_NAME = "contract-notices"
CONTRACT_KIND = "contract-update"


def contract_key(account_id: uuid.UUID, version: int) -> str:
    return f"contract:{account_id}:{version}"


async def announce_contract_versions(session: AsyncSession, settings: Settings) -> str:
    purpose = default_charter().purpose(PurposeId.PRACTITIONER_CONTRACT)
    repository = NotificationRepository(session)
    behind = await repository.behind(purpose.id.value, purpose.version)
    keys = {contract_key(account_id, purpose.version): account_id for account_id in behind}
    queue = MailQueue(lambda: session, Stager(settings))
    new = keys.keys() - await repository.staged_keys(list(keys))
    for key in sorted(new):
        data = {"account_id": str(keys[key]), "version": purpose.version}
        queue.prepare(CONTRACT_KIND, data, dedupe_key=key)
    return f"announced version {purpose.version} to {len(new)} practitioners"


def contract_renderer(settings: Settings) -> Renderer:
    base = settings.public_url.rstrip("/")

    async def render(session: AsyncSession, queue: MailQueue, data: dict[str, Any]) -> None:
        repository = NotificationRepository(session)
        account_id, version = uuid.UUID(data["account_id"]), int(data["version"])
        purpose = default_charter().purpose(PurposeId.PRACTITIONER_CONTRACT)
        if await repository.granted(account_id, purpose.id.value, version):
            return  # accepted meanwhile
        person = await repository.person(account_id)
        if person is None:
            return
        written = write_mail(
            "contract-update", language_of(person.language), version=version, link=f"{base}/pro"
        )
        queue.queue(written.to(person.email, person.id, "contract-update"))

    return render
