"""The outbox: staged in the transaction, retried with growing delays, dead after the last try,
taken over after a crash, never delivered twice by two processes, and visible to admins."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.audit.repository import entry_table
from app.core import clock
from app.core.db import create_engine, session_factory, transaction
from app.core.logging import JsonFormatter
from app.core.mail import MailQueue, SmtpMailer, build_mailer
from app.core.messages import Mail
from app.core.settings import Settings
from app.outbox.models import OutboxStatus, outbox_table
from app.outbox.service import Outbox
from tests.factories import People
from tests.helpers.backends import Backend
from tests.helpers.cli import backend_env, free_port, run_erdv
from tests.helpers.problems import assert_problem


class Relay:
    """A real SMTP server whose answer to DATA the test chooses."""

    def __init__(self) -> None:
        self.reply = "250 OK"
        #: answers to the next messages, in turn, before ``reply`` again
        self.replies: list[str] = []
        self.received: list[tuple[list[str], bytes]] = []
        #: the SMTP connection each message came over, in order
        self.connections: list[int] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        reply = self.replies.pop(0) if self.replies else self.reply
        self.connections.append(id(session))
        if reply.startswith("250"):
            self.received.append((list(envelope.rcpt_tos), envelope.content))
        return reply


@pytest.fixture
def relay() -> Iterator[tuple[Relay, int]]:
    handler, port = Relay(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture
def smtp_settings(settings: Settings, relay: tuple[Relay, int]) -> Settings:
    return settings.model_copy(
        update={
            "mail_backend": "smtp",
            "smtp_port": relay[1],
            "outbox_max_attempts": 3,
            "outbox_retry_base_seconds": 10.0,
            "outbox_retry_max_seconds": 15.0,
            "outbox_lease_seconds": 60.0,
        }
    )


def outbox_of(settings: Settings, factory: async_sessionmaker[AsyncSession]) -> Outbox:
    return Outbox(settings, factory, SmtpMailer(settings), renderers={})


async def stage(
    outbox: Outbox, factory: async_sessionmaker[AsyncSession], *mails: Mail, claimed: bool = False
) -> list[Any]:
    staged: list[Any] = []
    async with transaction(factory) as session:
        queue = MailQueue(lambda: session, outbox, deliver_after=staged if claimed else None)
        for mail in mails:
            queue.queue(mail)
    return staged


async def rows(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as connection:
        result = await connection.execute(
            sa.select(outbox_table).order_by(outbox_table.c.created_at)
        )
        return list(result.all())


HELLO = Mail(to="someone@example.test", subject="Hello", body="A link: https://x/#token=secret\n")
T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


async def test_only_a_committed_transaction_stages_its_mail_sealed(
    smtp_settings: Settings, sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    outbox = outbox_of(smtp_settings, sessions)

    async def failing_change() -> None:
        async with transaction(sessions) as session:
            MailQueue(lambda: session, outbox).queue(HELLO)
            await session.execute(sa.text("SELECT 1"))
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        await failing_change()
    assert await rows(engine) == []

    await stage(outbox, sessions, HELLO)
    [row] = await rows(engine)
    assert row.status == "pending"
    assert row.attempts == 0
    assert (row.kind, row.channel) == ("mail", "mail")
    # the address and the single-use link are not in the table in clear
    assert "someone@example.test" not in row.payload
    assert "secret" not in row.payload


async def test_one_lane_sends_many_messages_over_one_connection(
    smtp_settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    relay: tuple[Relay, int],
) -> None:
    """app.outbox.courier: a lane keeps its session while messages keep coming; a refusal for
    good (550) leaves it usable, a relay closing it (421) makes the lane open another."""
    handler, _ = relay
    handler.replies = ["250 OK", "550 5.1.1 No such user", "250 OK", "421 4.3.2 Closing", "250 OK"]
    outbox = outbox_of(smtp_settings.model_copy(update={"outbox_concurrency": 1}), sessions)
    try:
        mails = [Mail(to=f"n{i}@example.test", subject=f"n{i}", body="x\n") for i in range(6)]
        staged = await stage(outbox, sessions, *mails, claimed=True)
        await outbox.deliver(staged)
    finally:
        await outbox.aclose()
    assert [rcpt for rcpt, _ in handler.received] == [
        ["n0@example.test"],
        ["n2@example.test"],
        ["n4@example.test"],
        ["n5@example.test"],
    ]
    first, second = handler.connections[0], handler.connections[-1]
    assert handler.connections == [first] * 4 + [second] * 2
    assert first != second
    statuses = sorted(row.status for row in await rows(engine))
    assert statuses == ["dead", "pending", "sent", "sent", "sent", "sent"]


async def test_failures_retry_with_growing_delays_then_the_message_is_dead(
    smtp_settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    relay: tuple[Relay, int],
) -> None:
    handler, _ = relay
    handler.reply = "451 4.3.0 Try again later"
    outbox = outbox_of(smtp_settings, sessions)
    with clock.frozen(T0) as frozen:
        await stage(outbox, sessions, HELLO)
        assert await outbox.drain() == 1
        [row] = await rows(engine)
        assert (row.status, row.attempts) == ("pending", 1)
        assert row.next_attempt_at == T0 + timedelta(seconds=10)
        assert row.last_error == "SMTPDataError 451"
        assert await outbox.drain() == 0  # not due yet

        frozen.advance(timedelta(seconds=10))
        assert await outbox.drain() == 1
        [row] = await rows(engine)
        assert row.attempts == 2
        assert row.next_attempt_at == frozen() + timedelta(seconds=15)  # 20 s, capped at 15

        frozen.advance(timedelta(seconds=15))
        assert await outbox.drain() == 1
        [row] = await rows(engine)
        assert (row.status, row.attempts) == ("dead", 3)
        assert row.payload is not None  # kept, so that it can be retried

        frozen.advance(timedelta(days=1))
        assert await outbox.drain() == 0  # dead: never tried again by itself
    assert handler.received == []


async def test_a_permanent_refusal_is_dead_at_once(
    smtp_settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    relay: tuple[Relay, int],
) -> None:
    relay[0].reply = "550 5.1.1 No such mailbox"
    outbox = outbox_of(smtp_settings, sessions)
    await stage(outbox, sessions, HELLO)
    assert await outbox.drain() == 1
    [row] = await rows(engine)
    assert (row.status, row.attempts, row.last_error) == ("dead", 1, "SMTP 550")


async def test_relay_replies_that_quote_the_address_stay_out_of_logs_and_rows(
    smtp_settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    relay: tuple[Relay, int],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """SMTP replies quote recipients ("550 5.1.1 <x@y>: no such user"): a failed try, a dead
    message and the row's ``last_error`` keep the type and the code only (docs/security.md
    "Data protection": no email in application logs). Every logger captured, at DEBUG."""
    address = "zephyrine.quillard@example.test"
    mail = Mail(to=address, subject="Rendez-vous", body="Bonjour Zéphyrine\n")
    relay[0].replies = [f"451 4.2.0 <{address}>: mailbox busy, Zéphyrine"]
    relay[0].reply = f"550 5.1.1 <{address}>: no such user here"
    outbox = outbox_of(smtp_settings, sessions)
    with caplog.at_level(logging.DEBUG), clock.frozen(T0) as frozen:
        await stage(outbox, sessions, mail)
        assert await outbox.drain() == 1  # 451: tried again later
        frozen.advance(timedelta(seconds=10))
        assert await outbox.drain() == 1  # 550: dead
    [row] = await rows(engine)
    assert (row.status, row.last_error) == ("dead", "SMTP 550")
    messages = {r.getMessage() for r in caplog.records}
    assert {"outbox try failed", "outbox message dead"} <= messages
    # erdv's records and its libraries' (aiosmtplib's included), not the test relay's own
    # ("mail.log": aiosmtpd is the receiving server here, not part of erdv)
    formatter = JsonFormatter()
    ours = [formatter.format(r) for r in caplog.records if r.name != "mail.log"]
    for secret in (address, "zephyrine.quillard", "Zéphyrine", "Z\\u00e9phyrine"):
        assert not [line for line in ours if secret in line], secret


async def test_a_message_whose_process_died_is_delivered_once_its_lease_ran_out(
    smtp_settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    relay: tuple[Relay, int],
) -> None:
    outbox = outbox_of(smtp_settings, sessions)
    with clock.frozen(T0) as frozen:
        # staged for delivery by its request, which then died before delivering it
        await stage(outbox, sessions, HELLO, claimed=True)
        [row] = await rows(engine)
        assert (row.status, row.attempts) == ("sending", 1)
        other = outbox_of(smtp_settings, sessions)  # another process's worker
        assert await other.drain() == 0  # still leased
        frozen.advance(timedelta(seconds=61))
        assert await other.drain() == 1
    [row] = await rows(engine)
    assert (row.status, row.attempts) == ("sent", 2)
    assert row.payload is None  # delivered: the content is gone
    [(recipients, content)] = relay[0].received
    assert recipients == ["someone@example.test"]
    assert f"<{row.id}@erdv.localhost>".encode() in content  # the Message-ID of every try


async def test_two_processes_draining_together_deliver_each_message_once(
    smtp_settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    relay: tuple[Relay, int],
) -> None:
    outbox = outbox_of(smtp_settings, sessions)
    mails = [Mail(to=f"p{n}@example.test", subject="n", body="b") for n in range(40)]
    await stage(outbox, sessions, *mails)
    engines = [create_engine(smtp_settings) for _ in range(2)]  # two processes' pools
    try:
        workers = [outbox_of(smtp_settings, session_factory(e)) for e in engines]
        tried = await asyncio.gather(*(w.drain() for w in workers))
    finally:
        for e in engines:
            await e.dispose()
    assert sum(tried) == 40
    delivered = sorted(to for recipients, _ in relay[0].received for to in recipients)
    assert delivered == sorted(m.to for m in mails)
    assert {row.status for row in await rows(engine)} == {"sent"}


async def _dead_message(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> str:
    outbox = outbox_of(settings, sessions)
    await stage(outbox, sessions, HELLO)
    async with transaction(sessions) as session:
        await session.execute(
            sa.update(outbox_table).values(
                status=OutboxStatus.DEAD.value, attempts=3, last_error="SMTP 550"
            )
        )
    async with sessions() as session:
        return str((await session.execute(sa.select(outbox_table.c.id))).scalar_one())


async def test_admins_list_dead_messages_without_their_content(
    people: People, settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    dead = await _dead_message(settings, sessions)
    admin = await people.signed_in(role="admin")
    listed = await admin.get("/api/v1/admin/outbox", params={"status": "dead"})
    assert listed.status_code == 200
    [item] = listed.json()
    assert item["id"] == dead
    assert (item["status"], item["attempts"], item["last_error"]) == ("dead", 3, "SMTP 550")
    assert "someone@example.test" not in listed.text
    assert (await admin.get("/api/v1/admin/outbox", params={"status": "sent"})).json() == []
    assert_problem(
        await admin.get("/api/v1/admin/outbox", params={"status": "lost"}), 422, "validation_error"
    )
    patient = await people.signed_in(role="patient")
    assert_problem(await patient.get("/api/v1/admin/outbox"), 403, "forbidden")
    stranger = await people.anonymous()
    assert_problem(await stranger.get("/api/v1/admin/outbox"), 401, "not_authenticated")


async def test_the_cli_lists_and_retries_dead_messages(
    backend: Backend,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    tmp_path: Path,
) -> None:
    dead = await _dead_message(settings, sessions)
    # listing and retrying read no message content: the command needs no encryption key
    env = backend_env(backend) | {"ERDV_DATA_DIR": str(tmp_path / "cli")}
    listed = await asyncio.to_thread(run_erdv, "outbox", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "dead=1" in listed.stdout
    assert dead in listed.stdout
    assert "someone@example.test" not in listed.stdout

    assert (await asyncio.to_thread(run_erdv, "outbox", "retry", env=env)).returncode == 2
    assert (await asyncio.to_thread(run_erdv, "outbox", "retry", "x", env=env)).returncode == 2
    retried = await asyncio.to_thread(run_erdv, "outbox", "retry", dead, env=env)
    assert retried.returncode == 0, retried.stderr
    [row] = await rows(engine)
    assert (row.status, row.attempts, row.last_error) == ("pending", 0, None)
    again = await asyncio.to_thread(run_erdv, "outbox", "retry", dead, env=env)
    assert again.returncode == 1  # no longer dead
    other = str(uuid.uuid4())
    assert (await asyncio.to_thread(run_erdv, "outbox", "retry", other, env=env)).returncode == 1


async def test_an_admin_sends_a_dead_message_again_from_the_api(
    people: People, settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    outbox = Outbox(settings, sessions, build_mailer(settings), renderers={})
    await stage(outbox, sessions, HELLO)
    async with transaction(sessions) as session:
        await session.execute(
            sa.update(outbox_table).values(status="dead", attempts=10, last_error="SMTP 550")
        )
        (dead_id,) = (await session.execute(sa.select(outbox_table.c.id))).scalars().all()
    admin = await people.signed_in(role="admin")
    listed = await admin.get("/api/v1/admin/outbox", params={"status": "dead"})
    assert [m["id"] for m in listed.json()] == [str(dead_id)]
    patient = await people.signed_in()
    assert (await patient.post(f"/api/v1/admin/outbox/{dead_id}/retry")).status_code == 403
    again = await admin.post(f"/api/v1/admin/outbox/{dead_id}/retry")
    assert again.status_code == 200, again.text
    assert (again.json()["status"], again.json()["attempts"]) == ("pending", 0)
    assert_problem(await admin.post(f"/api/v1/admin/outbox/{dead_id}/retry"), 404, "not_found")
    assert_problem(await admin.post(f"/api/v1/admin/outbox/{uuid.uuid4()}/retry"), 404, "not_found")
    async with transaction(sessions) as session:
        retried = await session.execute(
            sa.select(entry_table.c.object_id).where(entry_table.c.action == "outbox.retried")
        )
        assert retried.scalars().all() == [str(dead_id)]
    await outbox.aclose()
