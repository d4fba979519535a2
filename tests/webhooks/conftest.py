"""Webhook test helpers: a real HTTP receiver on 127.0.0.1, an admin, a registered client with an
endpoint, and the Standard Webhooks package's own verification (not erdv's code)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks import Webhook as StandardWebhook

from app.core.settings import Settings
from app.outbox.models import outbox_table
from tests.factories import People, Person
from tests.oauth.conftest import Registered, register_client


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def verified(self, secret: str) -> Any:
        """What the receiver's own library makes of it: the JSON payload, or an exception."""
        return StandardWebhook(secret).verify(self.body, self.headers)

    @property
    def payload(self) -> Any:
        return json.loads(self.body)


class Receiver(ThreadingHTTPServer):
    """Answers each POST with the next status of ``script`` (then ``status``), keeping each
    request as it came: path, headers and the body's bytes."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: list[Received] = []
        self.script: list[int] = []
        self.status = 200
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}/hooks/erdv?channel=abc"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:  # noqa: N802 - the http.server protocol
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        with self.server.lock:
            self.server.received.append(Received(self.path, dict(self.headers.items()), body))
            status = self.server.script.pop(0) if self.server.script else self.server.status
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *_args: object) -> None:
        return None


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Loopback receivers allowed (ERDV_WEBHOOK_ALLOW_LOOPBACK, off by default outside
    development); no background outbox worker, so that each test drives retries itself."""
    return settings.model_copy(
        update={
            "webhook_allow_loopback": True,
            "outbox_worker_enabled": False,
            "outbox_max_attempts": 3,
            "outbox_retry_base_seconds": 10.0,
            "outbox_retry_max_seconds": 15.0,
        }
    )


@pytest.fixture
async def admin(people: People) -> Person:
    person = await people.signed_in(role="admin")
    assert (await person.reauth()).status_code == 204
    return person


@dataclass
class Hooked:
    """A registered, enabled client with one webhook endpoint on the receiver."""

    client: Registered
    endpoint_id: str
    secret: str
    events: list[str] = field(default_factory=list)


ALL_EVENTS = ["appointment.booked", "appointment.rescheduled", "appointment.cancelled"]


async def add_endpoint(
    admin: Person, client_id: str, url: str, events: list[str] | None = None
) -> httpx.Response:
    return await admin.post(
        f"/api/v1/admin/oauth/clients/{client_id}/webhooks",
        json={"url": url, "events": events or ALL_EVENTS},
    )


async def hooked_client(
    admin: Person, receiver: Receiver, events: list[str] | None = None
) -> Hooked:
    registered = await register_client(admin)
    created = await add_endpoint(admin, registered.client_id, receiver.url, events)
    assert created.status_code == 201, created.text
    data = created.json()
    return Hooked(registered, data["id"], data["secret"], events or ALL_EVENTS)


async def outbox_rows(engine: AsyncEngine, kind: str = "webhook") -> list[Any]:
    async with engine.connect() as connection:
        result = await connection.execute(
            sa.select(outbox_table)
            .where(outbox_table.c.kind == kind)
            .order_by(outbox_table.c.created_at)
        )
        return list(result.all())
