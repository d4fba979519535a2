"""Registering, listing and removing a client's webhook endpoints (the admin routes,
``app.admin.webhooks``; docs/api.md "Admin").

The signing secret follows the Standard Webhooks format, ``whsec_`` and the base64 of 32 random
bytes ("Signature scheme": 24 to 64 bytes), so any of its libraries takes it as it is. It is
shown once, in the answer to the registration, and kept encrypted (``app.webhooks.models``): a
receiver that lost it deletes the endpoint and registers it again.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditAction
from app.audit.service import Actor, AuditTrail
from app.core import clock
from app.core.crypto import ColumnCipher
from app.core.db import new_id
from app.core.settings import Settings
from app.oauth import service as oauth
from app.oauth.errors import ClientNotFound
from app.webhooks.addresses import check_url
from app.webhooks.errors import WebhookNotFound
from app.webhooks.models import WebhookEndpoint, WebhookEvent, secret_aad
from app.webhooks.repository import WebhookRepository

#: Standard Webhooks' marker of a signing secret (a prefix, not a secret)
SECRET_PREFIX = "whsec_"  # noqa: S105
SECRET_BYTES = 32


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


@dataclass(frozen=True)
class NewEndpoint:
    endpoint: WebhookEndpoint
    #: shown once
    secret: str


async def _require_client(session: AsyncSession, client_id: str) -> None:
    if len(client_id) > 64 or client_id not in await oauth.client_names(session, {client_id}):
        raise ClientNotFound("No OAuth client has this id.")


async def create_endpoint(
    session: AsyncSession,
    audit: AuditTrail,
    settings: Settings,
    *,
    actor: Actor,
    client_id: str,
    url: str,
    events: Sequence[WebhookEvent],
) -> NewEndpoint:
    """Register ``url`` for ``events`` of ``client_id``'s patients: 404 for an unknown client,
    422 ``invalid_webhook_url`` for a URL the SSRF rule refuses (``app.webhooks.addresses``)."""
    # the name is resolved before the first query: no transaction waits on DNS
    await check_url(url, allow_loopback=settings.webhooks_reach_loopback)
    await _require_client(session, client_id)
    secret = new_secret()
    endpoint_id = new_id()
    cipher = ColumnCipher.from_settings(settings)
    row = WebhookEndpoint(
        id=endpoint_id,
        client_id=client_id,
        url=url,
        events=[e.value for e in dict.fromkeys(events)],
        secret_ct=cipher.encrypt(secret, associated_data=secret_aad(endpoint_id)),
        enabled=True,
        created_at=clock.now(),
    )
    await WebhookRepository(session).add(row)
    await audit.record(
        AuditAction.WEBHOOK_CREATED,
        actor=actor,
        object_type="webhook_endpoint",
        object_id=endpoint_id,
        # the host only: a receiver may put a token of its own in the URL's path or query
        details={
            "client_id": client_id,
            "host": urlsplit(url).hostname,
            "events": " ".join(row.events),
        },
    )
    return NewEndpoint(row, secret)


async def list_endpoints(session: AsyncSession, client_id: str) -> list[WebhookEndpoint]:
    await _require_client(session, client_id)
    return list(await WebhookRepository(session).for_client(client_id))


async def delete_endpoint(
    session: AsyncSession,
    audit: AuditTrail,
    *,
    actor: Actor,
    client_id: str,
    endpoint_id: uuid.UUID,
) -> None:
    """Messages already queued for it end without being sent (``app.webhooks.delivery``)."""
    await _require_client(session, client_id)
    if not await WebhookRepository(session).delete(client_id, endpoint_id):
        raise WebhookNotFound("This client has no webhook endpoint with this id.")
    await audit.record(
        AuditAction.WEBHOOK_DELETED,
        actor=actor,
        object_type="webhook_endpoint",
        object_id=endpoint_id,
        details={"client_id": client_id},
    )
