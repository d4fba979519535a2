"""Webhook deliveries, received by a real HTTP server on 127.0.0.1 and verified with the
``standardwebhooks`` package from PyPI: who is told of which appointment change, what they are
told (ids and times only), retries then dead, and a withdrawal that stops everything at once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks.webhooks import WebhookVerificationError

from app.accounts.repository import account_table
from app.core import clock
from app.core.mail import MailQueue
from app.core.messages import Webhook
from app.core.settings import Settings
from app.webhooks.delivery import WebhookDelivery
from app.webhooks.errors import InvalidWebhookUrl
from app.webhooks.fanout import webhook_renderer
from tests.factories import People, Person
from tests.helpers.booking import book, patient, ready_practitioner, soon
from tests.oauth.conftest import bearer, get_tokens, oauth_client
from tests.webhooks.conftest import Hooked, Receiver, add_endpoint, hooked_client, outbox_rows

REASON = "Douleur confidentielle"


async def setup(
    app: FastAPI, people: People, admin: Person, receiver: Receiver
) -> tuple[Hooked, Person, Person, str, dict[str, Any]]:
    """A client with an endpoint on the receiver, a practitioner, and a patient who authorized
    the client (their token)."""
    hooked = await hooked_client(admin, receiver)
    practitioner, [reason] = await ready_practitioner(people, reasons=[(REASON, 15)])
    alice = await patient(people)
    scope = "appointments:read appointments:write slots:read"
    async with oauth_client(app, hooked.client, scope=scope) as platform:
        token = await get_tokens(platform, alice)
    return hooked, practitioner, alice, reason, token


def only_ids_and_times(received: Any, *, names: list[str]) -> None:
    text = received.body.decode()
    for word in [REASON, *names]:
        assert word not in text
    assert set(received.payload) == {"type", "timestamp", "data"}
    assert set(received.payload["data"]) == {
        "appointment_id",
        "practitioner_id",
        "patient_id",
        "start",
        "end",
        "status",
    }


async def test_a_booking_move_and_cancellation_through_a_client_are_signed_and_delivered(
    app: FastAPI, client: httpx.AsyncClient, people: People, admin: Person, receiver: Receiver
) -> None:
    hooked, practitioner, alice, reason, token = await setup(app, people, admin, receiver)
    start = soon(24 * 60, span_hours=1)
    booked = await book(client, practitioner.account_id, reason, start, headers=bearer(token))
    assert booked.status_code == 201, booked.text
    appointment_id = booked.json()["id"]
    moved = await client.post(
        f"/api/v1/appointments/{appointment_id}/reschedule",
        json={"start": (start + timedelta(hours=1)).isoformat()},
        headers=bearer(token),
    )
    assert moved.status_code == 200, moved.text
    cancelled = await alice.post(f"/api/v1/appointments/{appointment_id}/cancel")
    assert cancelled.status_code == 200, cancelled.text

    assert [r.payload["type"] for r in receiver.received] == [
        "appointment.booked",
        "appointment.rescheduled",
        "appointment.cancelled",
    ]
    ids = set()
    for received in receiver.received:
        # the receiver's own library accepts it: webhook-id, -timestamp, -signature v1,<b64>
        payload = received.verified(hooked.secret)
        assert received.headers["webhook-signature"].startswith("v1,")
        assert received.path == "/hooks/erdv?channel=abc"
        assert received.headers["Content-Type"] == "application/json"
        ids.add(received.headers["webhook-id"])
        assert payload["data"]["appointment_id"] == appointment_id
        assert payload["data"]["patient_id"] == alice.account_id
        assert payload["data"]["practitioner_id"] == practitioner.account_id
        only_ids_and_times(received, names=[alice.full_name, practitioner.full_name])
    assert len(ids) == 3
    first, second, third = (r.payload["data"] for r in receiver.received)
    assert datetime.fromisoformat(first["start"]) == start
    assert datetime.fromisoformat(first["start"]).utcoffset() == timedelta(0)
    assert datetime.fromisoformat(second["start"]) == start + timedelta(hours=1)
    assert datetime.fromisoformat(second["end"]) == start + timedelta(hours=1, minutes=15)
    assert (first["status"], second["status"], third["status"]) == (
        "booked",
        "booked",
        "cancelled",
    )


async def test_a_tampered_body_or_a_wrong_secret_fails_verification(
    app: FastAPI, client: httpx.AsyncClient, people: People, admin: Person, receiver: Receiver
) -> None:
    hooked, practitioner, _alice, reason, token = await setup(app, people, admin, receiver)
    booked = await book(
        client, practitioner.account_id, reason, soon(24 * 60), headers=bearer(token)
    )
    assert booked.status_code == 201, booked.text
    [received] = receiver.received
    received.verified(hooked.secret)
    tampered = received.body.replace(b"appointment.booked", b"appointment.cancelled")
    assert tampered != received.body
    with pytest.raises(WebhookVerificationError):
        type(received)(received.path, received.headers, tampered).verified(hooked.secret)
    other = await add_endpoint(admin, hooked.client.client_id, receiver.url)
    with pytest.raises(WebhookVerificationError):
        received.verified(other.json()["secret"])


async def test_a_patient_who_authorized_a_client_and_books_on_the_web_is_reported_to_it_only(
    app: FastAPI, people: People, admin: Person, receiver: Receiver, engine: AsyncEngine
) -> None:
    hooked, practitioner, alice, reason, _token = await setup(app, people, admin, receiver)
    # another client with an endpoint, that alice never authorized
    await hooked_client(admin, receiver)
    booked = await book(alice, practitioner.account_id, reason, soon(24 * 60))
    assert booked.status_code == 201, booked.text
    [received] = receiver.received
    assert received.verified(hooked.secret)["data"]["appointment_id"] == booked.json()["id"]
    # a patient who authorized no client: nothing at all
    bob = await patient(people)
    other = await book(bob, practitioner.account_id, reason, soon(26 * 60))
    assert other.status_code == 201, other.text
    assert len(receiver.received) == 1
    [row] = await outbox_rows(engine)
    assert (row.status, row.channel, row.recipient_id, row.topic) == ("sent", "webhook", None, None)
    # never among the patient's own notifications
    listed = await alice.get("/api/v1/me/notifications")
    assert listed.status_code == 200, listed.text
    assert all(item["channel"] != "webhook" for item in listed.json())


async def test_only_the_subscribed_events_are_sent(
    app: FastAPI, client: httpx.AsyncClient, people: People, admin: Person, receiver: Receiver
) -> None:
    hooked = await hooked_client(admin, receiver, ["appointment.cancelled"])
    practitioner, [reason] = await ready_practitioner(people)
    alice = await patient(people)
    async with oauth_client(app, hooked.client, scope="appointments:write") as platform:
        token = await get_tokens(platform, alice)
    booked = await book(
        client, practitioner.account_id, reason, soon(24 * 60), headers=bearer(token)
    )
    assert booked.status_code == 201, booked.text
    assert receiver.received == []
    cancelled = await alice.post(f"/api/v1/appointments/{booked.json()['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert [r.verified(hooked.secret)["type"] for r in receiver.received] == [
        "appointment.cancelled"
    ]


async def test_a_receiver_answering_500_gets_retries_then_the_message_is_dead(
    app: FastAPI, people: People, admin: Person, receiver: Receiver, engine: AsyncEngine
) -> None:
    """Three tries (ERDV_OUTBOX_MAX_ATTEMPTS here), 10 s then 15 s apart (the base doubled,
    capped), the same webhook-id each time; then dead, listed for admins, retried by them."""
    hooked, practitioner, alice, reason, _token = await setup(app, people, admin, receiver)
    receiver.status = 500
    # the clock stands still near real time: the receiver's library refuses stale timestamps
    with clock.frozen(datetime.now(UTC)) as frozen:
        booked = await book(alice, practitioner.account_id, reason, soon(24 * 60))
        assert booked.status_code == 201, booked.text
        [row] = await outbox_rows(engine)
        assert (row.status, row.attempts, row.last_error) == ("pending", 1, "ReceiverError 500")
        assert await app.state.outbox.drain() == 0  # not due yet
        frozen.advance(timedelta(seconds=10))
        assert await app.state.outbox.drain() == 1
        frozen.advance(timedelta(seconds=15))
        assert await app.state.outbox.drain() == 1
        [row] = await outbox_rows(engine)
        assert (row.status, row.attempts) == ("dead", 3)
        frozen.advance(timedelta(days=1))
        assert await app.state.outbox.drain() == 0
    assert len(receiver.received) == 3
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
    assert receiver.received[0].headers["webhook-id"] == str(row.id)
    assert len({r.body for r in receiver.received}) == 1

    dead = await admin.get("/api/v1/admin/outbox", params={"status": "dead"})
    assert [(m["id"], m["channel"]) for m in dead.json()] == [(str(row.id), "webhook")]
    # an admin sends it again once the receiver is back
    receiver.status = 204
    retried = await admin.post(f"/api/v1/admin/outbox/{row.id}/retry")
    assert retried.status_code == 200, retried.text
    assert await app.state.outbox.drain() == 1
    [row] = await outbox_rows(engine)
    assert row.status == "sent"
    assert row.payload is None
    received = receiver.received[-1]
    assert received.verified(hooked.secret)["data"]["patient_id"] == alice.account_id


async def test_a_withdrawal_stops_queued_and_later_events_at_once(
    app: FastAPI, people: People, admin: Person, receiver: Receiver, engine: AsyncEngine
) -> None:
    hooked, practitioner, alice, reason, _token = await setup(app, people, admin, receiver)
    receiver.script = [503]
    with clock.frozen(datetime.now(UTC)) as frozen:
        booked = await book(alice, practitioner.account_id, reason, soon(24 * 60))
        assert booked.status_code == 201, booked.text
        [row] = await outbox_rows(engine)
        assert row.status == "pending"  # queued for a retry
        withdrawn = await alice.delete(f"/api/v1/me/apps/{hooked.client.client_id}")
        assert withdrawn.status_code == 204, withdrawn.text
        frozen.advance(timedelta(seconds=10))
        assert await app.state.outbox.drain() == 1
        [row] = await outbox_rows(engine)
        # ended without being sent: not dead, not to be retried
        assert (row.status, row.payload) == ("done", None)
        cancelled = await alice.post(f"/api/v1/appointments/{booked.json()['id']}/cancel")
        assert cancelled.status_code == 200, cancelled.text
    assert len(receiver.received) == 1  # the first, failed try only
    assert len(await outbox_rows(engine)) == 1  # the cancellation queued nothing


async def test_a_removed_endpoint_gets_nothing_more(
    app: FastAPI, people: People, admin: Person, receiver: Receiver, engine: AsyncEngine
) -> None:
    hooked, practitioner, alice, reason, _token = await setup(app, people, admin, receiver)
    receiver.script = [500]
    with clock.frozen(datetime.now(UTC)) as frozen:
        booked = await book(alice, practitioner.account_id, reason, soon(24 * 60))
        assert booked.status_code == 201, booked.text
        path = f"/api/v1/admin/oauth/clients/{hooked.client.client_id}/webhooks"
        deleted = await admin.delete(f"{path}/{hooked.endpoint_id}")
        assert deleted.status_code == 204, deleted.text
        frozen.advance(timedelta(seconds=10))
        assert await app.state.outbox.drain() == 1
    [row] = await outbox_rows(engine)
    assert row.status == "done"
    assert len(receiver.received) == 1


async def test_a_receiver_answering_410_disables_its_endpoint(
    app: FastAPI, people: People, admin: Person, receiver: Receiver, engine: AsyncEngine
) -> None:
    hooked, practitioner, alice, reason, _token = await setup(app, people, admin, receiver)
    receiver.status = 410
    booked = await book(alice, practitioner.account_id, reason, soon(24 * 60))
    assert booked.status_code == 201, booked.text
    [row] = await outbox_rows(engine)
    assert row.status == "dead"
    listed = await admin.get(f"/api/v1/admin/oauth/clients/{hooked.client.client_id}/webhooks")
    assert [item["enabled"] for item in listed.json()] == [False]
    cancelled = await alice.post(f"/api/v1/appointments/{booked.json()['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert len(await outbox_rows(engine)) == 1
    assert len(receiver.received) == 1


async def test_a_disabled_client_is_told_nothing(
    app: FastAPI, people: People, admin: Person, receiver: Receiver
) -> None:
    hooked, practitioner, alice, reason, _token = await setup(app, people, admin, receiver)
    disabled = await admin.post(f"/api/v1/admin/oauth/clients/{hooked.client.client_id}/disable")
    assert disabled.status_code == 200, disabled.text
    booked = await book(alice, practitioner.account_id, reason, soon(24 * 60))
    assert booked.status_code == 201, booked.text
    assert receiver.received == []


async def test_an_appointment_without_a_patient_account_sends_no_webhook(
    app: FastAPI, people: People, admin: Person, receiver: Receiver
) -> None:
    """A practice's booking for a person without an account (``patient_id`` None): nobody
    authorized any client, and the fan-out asks the database nothing."""
    await hooked_client(admin, receiver)
    queue = MailQueue.collecting(app.state.outbox)

    class NoDatabase:
        async def execute(self, *_args: object, **_kwargs: object) -> None:
            raise AssertionError("no query for a booking without a patient account")

    data = {
        "change": "booked",
        "appointment_id": str(uuid.uuid4()),
        "patient_id": None,
        "practitioner_id": str(uuid.uuid4()),
        "start": "2027-03-01T09:00:00+00:00",
        "end": "2027-03-01T09:15:00+00:00",
        "contact_email": "someone@example.test",
    }
    await webhook_renderer()(NoDatabase(), queue, data)  # type: ignore[arg-type]
    assert queue.pending == []


async def test_the_address_is_checked_again_at_each_try(
    app: FastAPI,
    people: People,
    admin: Person,
    receiver: Receiver,
    settings: Settings,
) -> None:
    """What resolved to an allowed address at registration may not any more (DNS rebinding; here
    the rule itself tightens): the try fails before any request leaves."""
    hooked, _practitioner, alice, _reason, _token = await setup(app, people, admin, receiver)
    strict = WebhookDelivery(
        settings.model_copy(update={"webhook_allow_loopback": False}), app.state.session_factory
    )
    webhook = Webhook(
        endpoint_id=hooked.endpoint_id,
        client_id=hooked.client.client_id,
        patient_id=alice.account_id,
        event="appointment.booked",
        body="{}",
    )
    try:
        with pytest.raises(InvalidWebhookUrl):
            await strict.send(webhook, message_id=str(uuid.uuid4()))
    finally:
        await strict.aclose()
    assert receiver.received == []


async def test_an_erased_account_s_queued_events_are_not_sent(
    app: FastAPI, people: People, admin: Person, receiver: Receiver, engine: AsyncEngine
) -> None:
    """The consent proof outlives an erased account (docs/charter.md "Retention"); its
    authorization of the client does not."""
    _hooked, practitioner, alice, reason, _token = await setup(app, people, admin, receiver)
    receiver.script = [500]
    with clock.frozen(datetime.now(UTC)) as frozen:
        booked = await book(alice, practitioner.account_id, reason, soon(24 * 60))
        assert booked.status_code == 201, booked.text
        async with engine.begin() as connection:
            await connection.execute(
                sa.update(account_table)
                .where(account_table.c.id == uuid.UUID(alice.account_id))
                .values(status="deleted")
            )
        frozen.advance(timedelta(seconds=10))
        assert await app.state.outbox.drain() == 1
    [row] = await outbox_rows(engine)
    assert row.status == "done"
    assert len(receiver.received) == 1
