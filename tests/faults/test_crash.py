"""kill -9 of ``erdv serve --workers 2`` under load: no acknowledged booking and no mail is lost.

The outside test killed erdv half a second after 10 registrations and 0 of the 10 verification
mails were ever sent: they lived in the process's memory (issue 21, item 3). Here patients book
and newcomers register against two workers, the SMTP server takes a while per message (so mails
are waiting or in flight when the kill comes), the supervisor and both workers get SIGKILL at once,
and erdv is started again on the same database. Every booking answered 201 must be in the
database, and every registration answered 202 must get its mail (a mail in flight at the kill may
come twice: the same ``Message-ID`` both times, see ``app.outbox.service``).
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections import Counter
from pathlib import Path

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from app.accounts.models import Account
from app.booking.models import appointment_table
from app.core.repository import table_of
from app.core.settings import Settings
from tests.factories import PASSWORD
from tests.faults.conftest import Served, SmtpSink, build_world, free_slots, patient_headers, serve
from tests.helpers.backends import Backend

account_table = table_of(Account)

#: acknowledged before the kill (a loaded machine gets there later: up to LOAD_SECONDS_MAX)
BOOKED_BEFORE_KILL = 20
REGISTERED_BEFORE_KILL = 5
LOAD_SECONDS_MAX = 30.0
#: tries after a crash wait for the dead process's lease to run out
OUTBOX = {"ERDV_OUTBOX_LEASE_SECONDS": "3", "ERDV_OUTBOX_POLL_SECONDS": "0.5"}
_numbers = itertools.count()


async def test_kill_9_under_load_loses_no_booking_and_no_mail(
    backend: Backend,
    settings: Settings,
    engine: AsyncEngine,
    tmp_path: Path,
    servers: list[Served],
    smtp: SmtpSink,
) -> None:
    world = await build_world(backend.url, settings, practitioners=4, patients=16)
    smtp.delay = 0.5  # a mail is owed for a while after its registration's answer
    env = smtp.env() | OUTBOX
    served = serve(servers, backend.url, tmp_path / "first", workers=2, **env)
    slots = free_slots(world, 5000)
    booked: list[str] = []
    registered: list[str] = []
    stop = asyncio.Event()

    async def booker() -> None:
        async with httpx.AsyncClient(base_url=served.url, timeout=30) as client:
            while not stop.is_set():
                headers = patient_headers(random.choice(world.patients))
                try:
                    answer = await client.post(
                        "/api/v1/appointments", json=slots.pop(), headers=headers
                    )
                except httpx.TransportError:
                    return  # killed
                assert answer.status_code == 201, answer.text
                booked.append(answer.json()["id"])

    async def registrar() -> None:
        async with httpx.AsyncClient(base_url=served.url, timeout=30) as client:
            while not stop.is_set():
                address = f"crash-{backend.name}-{next(_numbers)}@example.test"
                body = {
                    "email": address,
                    "password": PASSWORD,
                    "full_name": "Crash Test",
                    "role": "patient",
                }
                try:
                    answer = await client.post("/api/v1/auth/register", json=body)
                except httpx.TransportError:
                    return
                assert answer.status_code == 202, answer.text
                registered.append(address)

    load = [asyncio.create_task(booker()) for _ in range(6)]
    load += [asyncio.create_task(registrar()) for _ in range(3)]
    # the kill comes under load, once enough was acknowledged and while mails are still owed
    deadline = time.monotonic() + LOAD_SECONDS_MAX
    owed: set[str] = set()
    while time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        enough = len(booked) >= BOOKED_BEFORE_KILL and len(registered) >= REGISTERED_BEFORE_KILL
        owed = set(registered) - smtp.recipients()
        if enough and owed:
            break
    served.kill9()
    stop.set()
    await asyncio.wait_for(asyncio.gather(*load), 30)
    assert len(booked) >= BOOKED_BEFORE_KILL
    assert len(registered) >= REGISTERED_BEFORE_KILL
    assert owed  # the kill came while mails were still owed

    serve(servers, backend.url, tmp_path / "second", workers=2, **env)
    deadline = time.monotonic() + 60
    while not set(registered) <= smtp.recipients():
        assert time.monotonic() < deadline, set(registered) - smtp.recipients()
        await asyncio.sleep(0.2)

    async with engine.connect() as connection:
        rows = await connection.execute(
            sa.select(appointment_table.c.id, account_table.c.email).join(
                account_table, account_table.c.id == appointment_table.c.patient_id
            )
        )
        stored = {str(row[0]): str(row[1]) for row in rows}
    assert set(booked) <= set(stored)  # 0 lost acknowledged bookings
    # every booking that committed, acknowledged or not, told its patient exactly once: one
    # confirmation (Message-ID) per stored appointment, however many copies the kill caused
    deadline = time.monotonic() + 60
    while True:
        confirmations = Counter(
            to
            for to, _ in {
                (to, m["message_id"])
                for m in smtp.messages
                if m["subject"] == "Rendez-vous confirmé"
                for to in m["to"]
            }
        )
        if confirmations == Counter(stored.values()) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert confirmations == Counter(stored.values())
    # each registration's mail: one message, copies of it only if the kill came between the
    # relay's answer and the mark
    for address in registered:
        ids = {
            m["message_id"]
            for m in smtp.messages
            if address in m["to"] and m["subject"] != "Rendez-vous confirmé"
        }
        assert len(ids) == 1, (address, ids)
