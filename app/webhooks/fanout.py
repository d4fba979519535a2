"""From an appointment's notice to the webhooks it triggers, in the change's own transaction.

``app.renderers`` composes this with the notice's mail renderer under ``APPOINTMENT_NOTICE``
(``app.booking.notices``), which runs just before the change commits (``write_at_commit``): the
webhook messages are staged in the outbox with the change, so a change that commits cannot lose
its events and one that rolls back announces none.

**Who is told.** The contract says "appointments made through that client or of patients who
authorized it". A booking made through a client needs the patient's token for it, which the
patient gave on the consent page, which records the ``third-party-sharing`` consent for that
client (``app.oauth.service.record_authorization``). So both halves are one set: the clients the
patient *currently* authorizes (the consent granted at the purpose's current version, the client
enabled). A patient who withdrew a client (``withdraw_app``) gets no event to it from then on,
whichever way the appointment was made; and since the sender checks again at each try
(``app.webhooks.delivery``), neither do the ones already queued.

**What is said.** Ids and times only (``payload``): never the visit reason, a name, an address, a
phone number or the practice's cancellation reason. The client reads the rest through the API
with the patient's token, within its scopes. Times are UTC instants (RFC 3339, ``+00:00``): the
receiver is a program, and the appointment's local time is one API call away.

**Cost.** One statement per change of an appointment with a patient account (the repository's
``subscribed``: an index probe when no endpoint matches); none for a practice's booking for a
person without an account (``patient_id`` None), who authorized nothing.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.booking.notices import Change
from app.charter.model import PurposeId
from app.charter.registry import default_charter
from app.core import clock
from app.core.mail import MailQueue
from app.core.messages import Webhook
from app.outbox.service import Renderer
from app.webhooks.models import WebhookEvent
from app.webhooks.repository import WebhookRepository

EVENTS = {
    Change.BOOKED: WebhookEvent.BOOKED,
    Change.RESCHEDULED: WebhookEvent.RESCHEDULED,
    Change.CANCELLED: WebhookEvent.CANCELLED,
}


def sharing_version() -> int:
    """The current version of ``third-party-sharing``: a grant of an older text no longer counts
    (as for every consent, ``app.consent.service.current_consents``)."""
    return default_charter().purpose(PurposeId.THIRD_PARTY_SHARING.value).version


def _utc(instant: str) -> str:
    return datetime.fromisoformat(instant).astimezone(UTC).isoformat()


def payload(event: WebhookEvent, data: dict[str, Any]) -> dict[str, Any]:
    """The Standard Webhooks envelope (``type``, ``timestamp``, ``data``) of one notice, ids and
    times only (module docstring). ``timestamp`` is when the change happened."""
    cancelled = event is WebhookEvent.CANCELLED
    return {
        "type": event.value,
        "timestamp": clock.now().isoformat(),
        "data": {
            "appointment_id": data["appointment_id"],
            "practitioner_id": data["practitioner_id"],
            "patient_id": data["patient_id"],
            "start": _utc(data["start"]),
            "end": _utc(data["end"]),
            "status": "cancelled" if cancelled else "booked",
        },
    }


def webhook_renderer() -> Renderer:
    async def render(session: AsyncSession, queue: MailQueue, data: dict[str, Any]) -> None:
        if data.get("patient_id") is None:  # a person without an account authorized no one
            return
        patient_id = uuid.UUID(data["patient_id"])
        endpoints = await WebhookRepository(session).subscribed(patient_id, sharing_version())
        event = EVENTS[Change(data["change"])]
        wanted = [e for e in endpoints if event.value in e.events]
        if not wanted:
            return
        body = json.dumps(payload(event, data), separators=(",", ":"))
        for endpoint in wanted:
            queue.queue(
                Webhook(
                    endpoint_id=str(endpoint.endpoint_id),
                    client_id=endpoint.client_id,
                    patient_id=str(patient_id),
                    event=event.value,
                    body=body,
                )
            )

    return render
