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
CONSENT_KIND = "consent-update"
#: optional consents whose new version pauses what they allow (a reminder goes only to a grant of
#: the current version, ``app.notifications.repository``) until the holder accepts it again: each
#: holder of an earlier grant is told once, and how to accept it
PAUSED_BY_A_NEW_VERSION = (PurposeId.REMINDERS_EMAIL, PurposeId.REMINDERS_SMS)


def contract_key(account_id: uuid.UUID, version: int) -> str:
    return f"contract:{account_id}:{version}"


def consent_key(purpose_id: str, account_id: uuid.UUID, version: int) -> str:
    return f"consent:{purpose_id}:{account_id}:{version}"


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
    told = 0
    for paused in PAUSED_BY_A_NEW_VERSION:
        optional = default_charter().purpose(paused)
        holders = await repository.behind(optional.id.value, optional.version)
        their = {consent_key(paused.value, a, optional.version): a for a in holders}
        for key in sorted(their.keys() - await repository.staged_keys(list(their))):
            data = {
                "account_id": str(their[key]),
                "purpose_id": paused.value,
                "version": optional.version,
            }
            queue.prepare(CONSENT_KIND, data, dedupe_key=key)
            told += 1
    return (
        f"announced version {purpose.version} to {len(new)} practitioners; "
        f"{told} patients told a consent's new version paused their reminders"
    )


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


def consent_renderer(settings: Settings) -> Renderer:
    """The mail to a holder of an earlier grant of a ``PAUSED_BY_A_NEW_VERSION`` consent: what
    it allowed is paused until they accept the new text (a consent is given to a text, GDPR
    Art. 7); none if they accepted or withdrew it in between."""
    base = settings.public_url.rstrip("/")

    async def render(session: AsyncSession, queue: MailQueue, data: dict[str, Any]) -> None:
        repository = NotificationRepository(session)
        account_id, version = uuid.UUID(data["account_id"]), int(data["version"])
        purpose = default_charter().purpose(PurposeId(data["purpose_id"]))
        # accepted or withdrawn meanwhile, or a newer version since: nothing to say
        if version != purpose.version or not await repository.is_behind(
            account_id, purpose.id.value, version
        ):
            return
        person = await repository.person(account_id)
        if person is None:
            return
        language = language_of(person.language)
        written = write_mail(
            CONSENT_KIND,
            language,
            purpose=purpose.title.get(language),
            version=version,
            link=f"{base}/account/privacy",
        )
        queue.queue(written.to(person.email, person.id, CONSENT_KIND))

    return render
