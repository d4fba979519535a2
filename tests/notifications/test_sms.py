"""The SMS transports: ``file`` writes ``{"to", "body"}`` documents; ``http`` posts them to a real
provider endpoint (a local HTTP server here) with its bearer key, and the provider's answer decides
the outbox state: sent, tried again later, or dead at once."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.core import clock
from app.core.db import transaction
from app.core.mail import MailQueue, build_mailer
from app.core.messages import Sms
from app.core.settings import Settings, SmsBackend
from app.outbox.models import outbox_table
from app.outbox.service import Outbox


class Provider(BaseHTTPRequestHandler):
    """Answers each POST with the next status of ``server.script`` (then 200), keeping what came."""

    server: Any

    def do_POST(self) -> None:  # noqa: N802 - the http.server protocol
        length = int(self.headers["Content-Length"])
        self.server.received.append(
            {
                "body": json.loads(self.rfile.read(length)),
                "authorization": self.headers["Authorization"],
                "idempotency_key": self.headers["Idempotency-Key"],
            }
        )
        status = self.server.script.pop(0) if self.server.script else 200
        if status == "hang":
            self.server.release.wait(5)
            status = 200
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"quoted": "+33612345678 is not reachable"}')

    def log_message(self, *_args: object) -> None:
        return None


@pytest.fixture
def provider() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Provider)
    server.received = []  # type: ignore[attr-defined]
    server.script = []  # type: ignore[attr-defined]
    server.release = threading.Event()  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()  # type: ignore[attr-defined]
        server.shutdown()
        server.server_close()


@pytest.fixture
def http_settings(settings: Settings, provider: ThreadingHTTPServer) -> Settings:
    return settings.model_copy(
        update={
            "sms_backend": SmsBackend.HTTP,
            "sms_http_url": f"http://127.0.0.1:{provider.server_port}/messages",
            "sms_http_key": SecretStr("provider-key-123"),
            "sms_timeout_seconds": 1.0,
            "outbox_max_attempts": 3,
        }
    )


async def send_one(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> Any:
    outbox = Outbox(settings, sessions, build_mailer(settings), renderers={})
    try:
        async with transaction(sessions) as session:
            MailQueue(lambda: session, outbox).queue(
                Sms(to="+33612345678", body="Rappel : rendez-vous", topic="reminder")
            )
        await outbox.drain()
    finally:
        await outbox.aclose()
    async with engine.connect() as connection:
        return (await connection.execute(sa.select(outbox_table))).one()


async def test_http_provider_success_is_sent_with_the_bearer_key(
    http_settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    provider: Any,
) -> None:
    row = await send_one(http_settings, sessions, engine)
    assert (row.status, row.channel, row.payload) == ("sent", "sms", None)
    (received,) = provider.received
    assert received["body"] == {"to": "+33612345678", "body": "Rappel : rendez-vous"}
    assert received["authorization"] == "Bearer provider-key-123"
    assert received["idempotency_key"] == str(row.id)


@pytest.mark.parametrize(
    ("answers", "status", "error"),
    [
        ([400], "dead", "SMS provider 400"),  # refused for good: not tried again
        ([503], "pending", "ProviderError 503"),  # the provider is busy: later
        ([429], "pending", "ProviderError 429"),
        (["hang"], "pending", "ReadTimeout"),  # no answer within the timeout
    ],
)
async def test_http_provider_failures_map_to_the_outbox_state(
    http_settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    provider: Any,
    answers: list[Any],
    status: str,
    error: str,
) -> None:
    provider.script.extend(answers)
    row = await send_one(http_settings, sessions, engine)
    assert (row.status, row.last_error) == (status, error)
    assert "+336" not in (row.last_error or "")  # never the provider's words (they quote numbers)
    if status == "pending":
        assert row.next_attempt_at > clock.now()
        assert row.payload is not None  # kept for the next try


async def test_file_backend_writes_one_json_document_per_message(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    row = await send_one(settings, sessions, engine)
    assert row.status == "sent"
    (path,) = settings.sms_outbox_dir.glob("*.json")
    assert json.loads(path.read_text()) == {"to": "+33612345678", "body": "Rappel : rendez-vous"}


def test_the_http_backend_needs_its_url_and_key() -> None:
    with pytest.raises(Exception, match="ERDV_SMS_HTTP_URL"):
        Settings(env="test", sms_backend="http")
