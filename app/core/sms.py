"""Outgoing SMS: the message, and the two transports (``ERDV_SMS_BACKEND``).

- ``file`` writes one JSON document per message, ``{"to", "body"}``, under
  ``<data dir>/sms-outbox/`` (docs/api.md "Notifications"), atomically as ``app.core.mail`` writes
  mail, so a reader never meets half a message. For development and tests.
- ``http`` posts the same document to the provider's URL (``ERDV_SMS_HTTP_URL``) with the key as a
  bearer token (``ERDV_SMS_HTTP_KEY``), within ``ERDV_SMS_TIMEOUT_SECONDS``, on the event loop
  (httpx): no thread is held while a provider is slow.

Like mail, an SMS is written to the durable outbox in the transaction of the change it reports and
delivered after it (``app.outbox``): what the provider answers decides the outbox state. A 2xx is
sent; a 4xx other than 408 and 429 is refused for good (``PermanentFailure``: the message is dead at
once, since sending it again would be refused again); a 408, 429, 5xx, a timeout or a network
error is retried with growing delays. Numbers are E.164 (``app.accounts.phones``), and a body never
holds health data: the reminder names the practitioner, the day and the time only.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from app.core import clock
from app.core.messages import PermanentFailure, Sms
from app.core.settings import Settings, SmsBackend

if TYPE_CHECKING:
    import httpx

#: provider answers worth another try: a timeout and "too many requests" (RFC 9110, RFC 6585)
_RETRIED_4XX = frozenset({408, 429})


class ProviderError(Exception):
    """The provider could not take the message now (408, 429, 5xx): tried again later. Carries the
    status only: a provider's body may quote the number (personal data)."""

    def __init__(self, code: int) -> None:
        super().__init__(f"SMS provider {code}")
        self.code = code


class SmsSender(Protocol):
    async def send(self, sms: Sms, *, message_id: str) -> None: ...

    async def aclose(self) -> None: ...


class FileSms:
    """``<sms-outbox>/<timestamp>-<random>.json``, fsynced, renamed into place, in a thread of
    its own."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="erdv-sms-file")

    async def send(self, sms: Sms, *, message_id: str) -> None:
        document = json.dumps({"to": sms.to, "body": sms.body}, ensure_ascii=False)
        await asyncio.get_running_loop().run_in_executor(self._pool, self._write, document)

    def _write(self, document: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = clock.now().strftime("%Y%m%dT%H%M%S%f")
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(document)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.directory / f"{stamp}-{os.urandom(4).hex()}.json")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    async def aclose(self) -> None:
        self._pool.shutdown(wait=False)


class HttpSms:
    """POST ``{"to", "body"}`` to the provider, authenticated by a bearer key. The outbox message id
    goes along as ``Idempotency-Key``, so a provider that honours it sends a retried message once."""

    def __init__(
        self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        if settings.sms_http_url is None or settings.sms_http_key is None:  # pragma: no cover
            raise ValueError("the http SMS backend needs a URL and a key (settings check it)")
        import httpx  # only a server sending texts loads it (B9, idle memory)

        self.url = settings.sms_http_url
        self._client = httpx.AsyncClient(
            timeout=settings.sms_timeout_seconds,
            headers={"Authorization": f"Bearer {settings.sms_http_key.get_secret_value()}"},
            transport=transport,
            follow_redirects=False,
        )

    async def send(self, sms: Sms, *, message_id: str) -> None:
        response = await self._client.post(
            self.url,
            json={"to": sms.to, "body": sms.body},
            headers={"Idempotency-Key": message_id},
        )
        status = response.status_code
        if 200 <= status < 300:
            return
        if 400 <= status < 500 and status not in _RETRIED_4XX:
            raise PermanentFailure(status, transport="SMS provider")
        raise ProviderError(status)

    async def aclose(self) -> None:
        await self._client.aclose()


def build_sms_sender(settings: Settings) -> SmsSender:
    if settings.sms_backend is SmsBackend.HTTP:
        return HttpSms(settings)
    return FileSms(settings.sms_outbox_dir)
