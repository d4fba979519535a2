"""Staging and delivery of outbox messages.

**Nothing lost.** A message is a row written in the transaction of the change it reports
(``app.core.mail.MailQueue``): if the change commits, so does the message, and a process that dies a
moment later loses nothing. The request that staged it delivers it once its response is sent (the
row is leased to that process from the start, so no other process races it); every server process
also runs ``Outbox.run``, which claims due messages (new ones nobody delivers, retries, and those
whose process died: their lease runs out) with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL and under
the write lock on SQLite, so two processes never claim the same row.

**Retries** wait ``ERDV_OUTBOX_RETRY_BASE_SECONDS`` and twice as long after each failure, up to
``ERDV_OUTBOX_RETRY_MAX_SECONDS``; after ``ERDV_OUTBOX_MAX_ATTEMPTS`` tries, or at once when the relay
refuses the message for good (an SMTP 5yz reply), the message is **dead**: listed at
``GET /api/v1/admin/outbox?status=dead`` and by ``erdv outbox list``, sent again by
``erdv outbox retry``.

**At least once, at the SMTP boundary.** A message is marked sent after the relay accepted it. If
the process dies, or the database cannot be reached, between the relay's "250 OK" and that mark, the
message is delivered again when its lease runs out: SMTP has no way to ask a relay whether it already
took a message (RFC 5321 6.1 makes the relay responsible once it said OK, and says nothing of a
client that could not record the answer). That window is one database round trip long; every copy
carries the same ``Message-ID`` (the row id), by which mail systems and readers can recognise it.
Outside that window a message is never sent twice: each try holds a lease, and the try's number
fences its result (``OutboxRepository.finish``).

**Webhooks** (``channel`` ``webhook``) are posted by the ``WebhookSender`` the composition root
hands in (``app.main``; the sender is ``app.webhooks.delivery``, a higher layer this package does
not import). Their ``webhook-id`` is the row id, the same on every try, so a receiver recognises a
copy sent again after a lost "2xx" (Standard Webhooks "Idempotency"). A webhook whose patient no
longer authorizes its client ends ``done`` without being sent (``NothingToSend``).

**No shared threads.** SMTP runs on the event loop (``aiosmtplib``) and the file backend in a thread
of its own, so a slow relay occupies no thread that request work needs (README.md "Mail and the
outbox").
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from email.utils import parseaddr
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core import clock
from app.core.crypto import ColumnCipher, DecryptionError
from app.core.db import transaction
from app.core.logging import client_ip_var, request_id_var
from app.core.mail import Mailer, MailQueue, MailSession, build_message
from app.core.messages import (
    Mail,
    NothingToSend,
    Outgoing,
    PermanentFailure,
    Sms,
    Webhook,
    WebhookSender,
)
from app.core.settings import Settings
from app.core.sms import SmsSender, build_sms_sender
from app.outbox.courier import Courier, Staged
from app.outbox.models import Channel, OutboxStatus, payload_aad
from app.outbox.repository import OutboxRepository

logger = logging.getLogger("erdv.outbox")

#: the kinds of a message written by the request itself (``MailQueue.queue``)
MAIL_KIND = "mail"
SMS_KIND = "sms"
WEBHOOK_KIND = "webhook"


def _uuid(value: str | None) -> uuid.UUID | None:
    return uuid.UUID(value) if value else None


Renderer = Callable[[AsyncSession, MailQueue, dict[str, Any]], Awaitable[None]]
"""Writes a deferred message (``MailQueue.prepare``) in the given transaction: whatever it reads
and records, and the messages it queues on the given queue, commit together with the deferred
message's end, so a render happens once."""


class _Superseded(Exception):
    """The lease ran out before this try ended: another process has the message now."""


def retry_delay(settings: Settings, attempt: int) -> timedelta:
    """The wait after failed try number ``attempt``: the base, doubled at each failure, capped."""
    seconds = settings.outbox_retry_base_seconds * 2 ** min(attempt - 1, 32)
    return timedelta(seconds=min(seconds, settings.outbox_retry_max_seconds))


class Stager:
    """Writes messages into the outbox, sealed (``app.core.mail.MailSink``): what a request, a
    render or a periodic job stages. Delivery is the ``Outbox``'s."""

    def __init__(self, settings: Settings) -> None:
        self.cipher = ColumnCipher.from_settings(settings)
        self._lease = timedelta(seconds=settings.outbox_lease_seconds)

    def _seal(self, message_id: uuid.UUID, content: dict[str, Any]) -> str:
        return self.cipher.encrypt(json.dumps(content), associated_data=payload_aad(message_id))

    def open(self, message_id: uuid.UUID, payload: str | None) -> dict[str, Any] | None:
        if payload is None:
            return None
        try:
            opened: dict[str, Any] = json.loads(
                self.cipher.decrypt(payload, associated_data=payload_aad(message_id))
            )
        except (DecryptionError, ValueError):
            return None
        return opened

    async def stage(
        self, session: AsyncSession, items: Sequence[Outgoing], *, claimed: bool
    ) -> list[Staged]:
        now = clock.now()
        rows: list[dict[str, Any]] = []
        once: list[dict[str, Any]] = []
        staged: list[Staged] = []
        for item in items:
            message_id = uuid.uuid4()
            row: dict[str, Any] = {"recipient_id": None, "topic": None, "dedupe_key": None}
            if isinstance(item, Mail):
                kind, channel, content = MAIL_KIND, Channel.MAIL, {"mail": dataclasses.asdict(item)}
                row |= {"recipient_id": _uuid(item.recipient_id), "topic": item.topic}
            elif isinstance(item, Sms):
                kind, channel, content = SMS_KIND, Channel.SMS, {"sms": dataclasses.asdict(item)}
                row |= {"recipient_id": _uuid(item.recipient_id), "topic": item.topic}
            elif isinstance(item, Webhook):
                # no recipient_id, no topic: a client's webhook is no person's notification
                kind, channel = WEBHOOK_KIND, Channel.WEBHOOK
                content = {"webhook": dataclasses.asdict(item)}
            else:
                kind, channel = item.kind, Channel.MAIL
                # who asked, for the audit entries the render writes (it runs after the request)
                context = {"ip": client_ip_var.get(), "request_id": request_id_var.get()}
                content = {"render": item.data, "context": context}
                row["dedupe_key"] = item.dedupe_key
            row |= {
                "id": message_id,
                "kind": kind,
                "channel": channel.value,
                "payload": self._seal(message_id, content),
                "status": (OutboxStatus.SENDING if claimed else OutboxStatus.PENDING).value,
                "attempts": 1 if claimed else 0,
                "created_at": now,
                "next_attempt_at": now + self._lease if claimed else now,
            }
            (once if row["dedupe_key"] else rows).append(row)
            staged.append(Staged(message_id, kind, 1, content, now + self._lease))
        repository = OutboxRepository(session)
        if rows:
            await repository.add(rows)
        if once:
            # a once-only message another process (or an earlier round) staged is left out here,
            # and not delivered by this one either
            taken = {row["id"] for row in once} - set(await repository.add_once(once))
            staged = [s for s in staged if s.id not in taken]
        return staged

    async def deliver(self, staged: Sequence[Staged]) -> None:
        """A stager alone delivers nothing: the servers' outbox workers will."""

    async def render(
        self, session: AsyncSession, queue: MailQueue, kind: str, data: dict[str, Any]
    ) -> None:
        raise RuntimeError(f"a stager renders nothing at commit ({kind}): use an Outbox")


class Outbox:
    """The process's outbox: stages messages (``app.core.mail.MailSink``), delivers them, and runs
    the worker loop (``run``)."""

    def __init__(
        self,
        settings: Settings,
        factory: async_sessionmaker[AsyncSession],
        mailer: Mailer,
        renderers: Mapping[str, Renderer],
        sms: SmsSender | None = None,
        webhooks: WebhookSender | None = None,
    ) -> None:
        self.settings = settings
        self.factory = factory
        self.mailer = mailer
        self.sms = sms if sms is not None else build_sms_sender(settings)
        #: None in a process that posts no webhook (tools, tests of mail): its webhooks fail
        #: their try and are left to a server's worker
        self.webhooks = webhooks
        self.renderers = dict(renderers)
        self.stager = Stager(settings)
        domain = parseaddr(settings.mail_from)[1].rpartition("@")[2]
        self._domain = domain or "erdv.localhost"
        self._lease = timedelta(seconds=settings.outbox_lease_seconds)
        # a try must end well within its lease, or another process would take the message over
        self._deadline = settings.outbox_lease_seconds / 2
        self._slots = asyncio.Semaphore(settings.outbox_concurrency)  # renders at once
        self.courier = Courier(
            mailer,
            lanes=settings.outbox_concurrency,
            deadline=self._deadline,
            send=self._send,
            failed=self._failed,
            mark_sent=self._finish_sent,
        )

    async def stage(
        self, session: AsyncSession, items: Sequence[Outgoing], *, claimed: bool
    ) -> list[Staged]:
        return await self.stager.stage(session, items, claimed=claimed)

    async def render(
        self, session: AsyncSession, queue: MailQueue, kind: str, data: dict[str, Any]
    ) -> None:
        """A message written at commit (``MailQueue.write_at_commit``): its renderer runs in the
        staging transaction; a kind this version does not know is a programming error."""
        await self.renderers[kind](session, queue, data)

    # delivery ---------------------------------------------------------------------------------

    async def deliver(self, staged: Sequence[Staged]) -> None:
        """Deliver ``staged`` and wait until each is settled; never raises. Messages written
        after a commit are rendered first (``_render``); every message then goes to the
        process's lanes (``app.outbox.courier``), which send over lasting sessions and mark
        what they sent in groups."""
        produced: list[Staged] = []
        renders = [s for s in staged if "render" in s.content]
        if renders:
            await asyncio.gather(*(self._attempt_render(s, produced) for s in renders))
        waits = [self.courier.post(s) for s in staged if "render" not in s.content]
        waits += [self.courier.post(s) for s in produced]
        if waits:
            await asyncio.wait(waits)

    async def _finish_sent(self, sent: Sequence[Staged]) -> None:
        try:
            async with transaction(self.factory) as session:
                await OutboxRepository(session).finish_sent(
                    [(s.id, s.attempt) for s in sent], at=clock.now()
                )
        except Exception as failure:  # the database is away: the leases bring them back
            logger.error(
                "outbox results not recorded",
                extra={"count": len(sent), "error": type(failure).__name__},
            )

    async def _attempt_render(self, staged: Staged, produced: list[Staged]) -> None:
        async with self._slots:
            # a render must end within its lease, or another process could take it over
            if (staged.leased_until - clock.now()).total_seconds() < 2:
                logger.warning("outbox try left to its lease", extra={"outbox_id": str(staged.id)})
                return
            try:
                await self._render(staged, produced)
            except asyncio.CancelledError:
                raise
            except _Superseded:
                logger.warning("outbox try superseded", extra={"outbox_id": str(staged.id)})
            except Exception as error:
                await self._failed(staged, error)

    async def _send(self, staged: Staged, session: MailSession | None) -> None:
        """One try (``app.outbox.courier``): an SMS through the provider, a webhook through the
        injected sender, a mail over the lane's session."""
        if "sms" in staged.content:
            sms = Sms(**staged.content["sms"])
            await self.sms.send(sms, message_id=str(staged.id))
            return
        if "webhook" in staged.content:
            if self.webhooks is None:
                raise ConnectionError("no webhook sender in this process")
            webhook = Webhook(**staged.content["webhook"])
            await self.webhooks.send(webhook, message_id=str(staged.id))
            return
        if session is None:
            raise ConnectionError("no session with the relay")
        mail = Mail.from_dict(staged.content["mail"])
        await session.send(
            build_message(mail, self.settings.mail_from, message_id=self.message_id(staged))
        )

    def message_id(self, staged: Staged) -> str:
        """The same on every try of one message (RFC 5322 3.6.4)."""
        return f"<{staged.id}@{self._domain}>"

    async def _render(self, staged: Staged, produced: list[Staged]) -> None:
        renderer = self.renderers.get(staged.kind)
        if renderer is None:  # a message of a kind this version does not know: not retried
            await self._finish(staged, OutboxStatus.DEAD, error="no renderer for this kind")
            return
        context = staged.content.get("context") or {}
        ip_token = client_ip_var.set(context.get("ip"))
        request_token = request_id_var.set(context.get("request_id"))
        try:
            async with transaction(self.factory) as session:
                queue = MailQueue(lambda: session, self, deliver_after=produced)
                await renderer(session, queue, dict(staged.content["render"]))
                if not await OutboxRepository(session).finish(
                    staged.id, staged.attempt, status=OutboxStatus.DONE, at=clock.now()
                ):
                    raise _Superseded()
        finally:
            request_id_var.reset(request_token)
            client_ip_var.reset(ip_token)

    async def _finish(
        self,
        staged: Staged,
        status: OutboxStatus,
        *,
        error: str | None = None,
        retry_at: Any = None,
    ) -> None:
        try:
            async with transaction(self.factory) as session:
                kept = await OutboxRepository(session).finish(
                    staged.id,
                    staged.attempt,
                    status=status,
                    at=clock.now(),
                    error=error,
                    next_attempt_at=retry_at,
                )
        except Exception as failure:  # the database is away: the lease brings the message back
            logger.error(
                "outbox result not recorded",
                extra={"outbox_id": str(staged.id), "error": type(failure).__name__},
            )
            return
        if not kept:
            logger.warning("outbox try superseded", extra={"outbox_id": str(staged.id)})
        elif status is OutboxStatus.DEAD:
            logger.error(
                "outbox message dead",
                extra={"outbox_id": str(staged.id), "kind": staged.kind, "error": error},
            )

    async def _failed(self, staged: Staged, error: Exception) -> None:
        if isinstance(error, NothingToSend):  # nobody to send it to any more: not a failure
            await self._finish(staged, OutboxStatus.DONE, error=str(error)[:200])
            return
        if isinstance(error, PermanentFailure):  # the relay or the provider will not take it
            await self._finish(staged, OutboxStatus.DEAD, error=str(error))
            return
        # the type and an SMTP code only: SMTP replies quote recipient addresses (personal data)
        code = getattr(error, "code", None)
        text = type(error).__name__ + (f" {code}" if isinstance(code, int) else "")
        if staged.attempt >= self.settings.outbox_max_attempts:
            await self._finish(staged, OutboxStatus.DEAD, error=text)
            return
        logger.warning(
            "outbox try failed",
            extra={"outbox_id": str(staged.id), "attempt": staged.attempt, "error": text},
        )
        retry_at = clock.now() + retry_delay(self.settings, staged.attempt)
        await self._finish(staged, OutboxStatus.PENDING, error=text, retry_at=retry_at)

    # the worker -------------------------------------------------------------------------------

    async def drain(self) -> int:
        """Claim and deliver due messages until none is left; how many were tried."""
        tried = 0
        while True:
            async with transaction(self.factory) as session:
                if not await OutboxRepository(session).any_due(clock.now()):
                    return tried
            async with transaction(self.factory) as session:
                repository = OutboxRepository(session)
                now = clock.now()
                await repository.bury_expired(now, self.settings.outbox_max_attempts)
                rows = await repository.claim(
                    now,
                    now + self._lease,
                    self.settings.outbox_concurrency * 2,
                    self.settings.outbox_max_attempts,
                )
            if not rows:
                return tried
            staged = []
            for row in rows:
                content = self.stager.open(row.id, row.payload)
                item = Staged(row.id, row.kind, row.attempts, content or {}, now + self._lease)
                if content is None:
                    await self._finish(item, OutboxStatus.DEAD, error="payload unreadable")
                else:
                    staged.append(item)
            await self.deliver(staged)
            tried += len(rows)

    async def run(self) -> None:
        """The worker of one server process: drain, sleep ``ERDV_OUTBOX_POLL_SECONDS``, again. A
        database that is away is logged and tried again at the next round."""
        while True:
            try:
                await self.drain()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                logger.warning("outbox worker round failed", extra={"error": type(error).__name__})
            await asyncio.sleep(self.settings.outbox_poll_seconds)

    async def aclose(self) -> None:
        await self.courier.aclose()
        with contextlib.suppress(Exception):
            self.mailer.close()
        with contextlib.suppress(Exception):
            await self.sms.aclose()
        if self.webhooks is not None:
            with contextlib.suppress(Exception):
                await self.webhooks.aclose()


# administration (the admin API and ``erdv outbox``) -------------------------------------------


async def messages(session: AsyncSession, status: OutboxStatus | None, *, limit: int) -> list[Any]:
    """Messages newest first, delivery state only: no content, no recipient."""
    return await OutboxRepository(session).listing(status, limit)


async def message(session: AsyncSession, message_id: uuid.UUID) -> Any:
    """One message's delivery state (no content, no recipient), or None."""
    return await OutboxRepository(session).delivery(message_id)


async def counts(session: AsyncSession) -> dict[str, int]:
    return await OutboxRepository(session).counts()


async def retry(session: AsyncSession, ids: Sequence[uuid.UUID] | None) -> list[uuid.UUID]:
    """Dead messages (``ids``, or all) are due again now, with a fresh count of tries; the
    servers' workers deliver them at their next round."""
    return await OutboxRepository(session).retry(ids, clock.now())
