"""One try of one webhook: the outbox's ``WebhookSender`` (``app.core.messages``), handed to it by
``app.main``.

Each try, in order (Standard Webhooks, "Sending"):

1. **Still wanted?** In a short transaction of its own, the endpoint is read with the patient's
   consent: if the endpoint was removed or disabled, its client disabled, the patient no longer
   authorizes the client or their account was erased, the message ends ``done`` without being
   sent (``NothingToSend``). A
   withdrawal thus stops the events already queued at once, not only the later ones (GDPR Art.
   7(3): withdrawing is as easy, and as effective, as granting).
2. **Still public?** The host is resolved again and every address checked
   (``app.webhooks.addresses``): the name may answer otherwise than at registration (DNS
   rebinding). The request then goes to the checked address itself, with the name in the
   ``Host`` header and, over TLS, as the SNI and the name the certificate must match
   (httpcore's ``sni_hostname`` extension), so nothing resolves the name a second time.
   Connections are not kept: a pooled connection is keyed by address, and one opened (and its
   certificate checked) for one name must not carry another name's request.
3. **Signed.** ``webhook-id`` is the outbox row id (the same on every retry, so a receiver drops
   copies), ``webhook-timestamp`` the try's time (receivers refuse old ones: replay protection),
   ``webhook-signature`` ``v1,<base64 HMAC-SHA256 of "id.timestamp.body">`` computed by the
   ``standardwebhooks`` package with the endpoint's secret.
4. **Posted**, without following redirects (a 3xx could point anywhere, internal included), within
   ``ERDV_WEBHOOK_TIMEOUT_SECONDS`` (and the outbox's own deadline), reading no response body. A
   2xx is sent; 410 Gone disables the endpoint (the receiver says it is gone for good) and the
   message is dead; any other answer, a timeout or a network error is a failed try, retried with
   growing delays, then dead after ``ERDV_OUTBOX_MAX_ATTEMPTS`` (``erdv outbox retry`` sends dead
   ones again).

Nothing here logs a URL (its query may carry the receiver's own token) or a secret; httpx's own
request log is silenced for the same reason (``app.core.logging``).
"""

from __future__ import annotations

import logging
import math
import uuid
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks.webhooks import Webhook as StandardWebhook

from app.core import clock
from app.core.crypto import ColumnCipher
from app.core.db import transaction
from app.core.messages import NothingToSend, PermanentFailure, Webhook
from app.core.settings import Settings
from app.webhooks.addresses import check_url
from app.webhooks.fanout import sharing_version
from app.webhooks.models import secret_aad
from app.webhooks.repository import WebhookRepository

if TYPE_CHECKING:
    import httpx

logger = logging.getLogger("erdv.webhooks")

_GONE = 410


class ReceiverError(Exception):
    """The receiver answered something other than a 2xx: tried again later. Carries the status
    only (the outbox records ``ReceiverError <status>``), never what the receiver said."""

    def __init__(self, code: int) -> None:
        super().__init__(f"webhook receiver {code}")
        self.code = code


class WebhookDelivery:
    def __init__(self, settings: Settings, factory: async_sessionmaker[AsyncSession]) -> None:
        self.settings = settings
        self.factory = factory
        self.cipher = ColumnCipher.from_settings(settings)
        self._client: httpx.AsyncClient | None = None

    @property
    def _http(self) -> httpx.AsyncClient:
        """Made at the first delivery, httpx with it: most processes never send a webhook, and
        loading httpx costs each about 6 MiB (bench/README.md, B9's idle memory)."""
        if self._client is None:
            import httpx

            self._client = httpx.AsyncClient(
                timeout=min(
                    self.settings.webhook_timeout_seconds, self.settings.outbox_lease_seconds / 2
                ),
                follow_redirects=False,
                trust_env=False,  # no proxy from the environment: the address checked is the peer
                limits=httpx.Limits(max_keepalive_connections=0),  # step 2
                headers={"User-Agent": "erdv-webhooks"},
            )
        return self._client

    async def send(self, webhook: Webhook, *, message_id: str) -> None:
        endpoint_id = uuid.UUID(webhook.endpoint_id)
        async with transaction(self.factory) as session:
            found = await WebhookRepository(session).deliverable(
                endpoint_id, uuid.UUID(webhook.patient_id), sharing_version()
            )
        if found is None:
            raise NothingToSend("endpoint removed or disabled, or client no longer authorized")
        secret = self.cipher.decrypt(found.secret_ct, associated_data=secret_aad(endpoint_id))
        target = await check_url(found.url, allow_loopback=self.settings.webhooks_reach_loopback)
        import httpx  # loaded at the first delivery (see ``_http``)

        url = httpx.URL(found.url)
        at = clock.now()
        headers = {
            "Host": url.netloc.decode("ascii"),
            "Content-Type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(math.floor(at.timestamp())),
            "webhook-signature": StandardWebhook(secret).sign(message_id, at, webhook.body),
        }
        request = self._http.build_request(
            "POST",
            url.copy_with(host=str(target.address)),
            content=webhook.body.encode("utf-8"),
            headers=headers,
            extensions={"sni_hostname": target.host} if target.scheme == "https" else None,
        )
        response = await self._http.send(request, stream=True)
        await response.aclose()  # the body is the receiver's business, and may be endless
        if response.is_success:
            return
        if response.status_code == _GONE:
            async with transaction(self.factory) as session:
                await WebhookRepository(session).disable(endpoint_id)
            logger.warning(
                "webhook endpoint gone, disabled", extra={"endpoint_id": str(endpoint_id)}
            )
            raise PermanentFailure(_GONE, transport="webhook receiver")
        raise ReceiverError(response.status_code)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
