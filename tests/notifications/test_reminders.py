"""Reminders: one per appointment, offset and channel, whatever the number of server processes; only
with the channel's consent; dropped or planned again when the appointment changes; caught up after
a stop (docs/api.md "Notifications")."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
from fastapi import FastAPI

from app.core import clock
from app.core.jobs import run_job
from app.core.settings import Settings
from app.jobs import JOBS
from app.main import create_app
from app.notifications.reminders import JOB_NAME
from tests.factories import People, Person
from tests.helpers.booking import book, grant, patient, ready_practitioner, soon, withdraw
from tests.helpers.lifespan import lifespan
from tests.helpers.smtp import SmtpSink

REASON = "Suivi-contraception-zz9"
(REMINDERS,) = [job for job in JOBS if job.name == JOB_NAME]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # reminders 24 h and 2 h before; deliveries driven by the test, not by a background worker
    return settings.model_copy(update={"reminder_hours": (24, 2), "outbox_worker_enabled": False})


@pytest.fixture
async def other_process(settings: Settings) -> AsyncIterator[FastAPI]:
    """A second server on the same database: its own engine, pools and outbox."""
    second = create_app(settings)
    async with lifespan(second):
        yield second


async def run_everywhere(apps: list[FastAPI], settings: Settings) -> None:
    """Each process runs the reminders job (forced: as if its interval had passed), then
    delivers, all at once."""
    await asyncio.gather(
        *(run_job(a.state.session_factory, settings, REMINDERS, force=True) for a in apps)
    )
    await asyncio.gather(*(a.state.outbox.drain() for a in apps))


def reminders(smtp: SmtpSink, person: Person) -> list[str]:
    return [str(m["Subject"]) for m in smtp.to(person.email) if "Rappel" in str(m["Subject"])]


def texts(settings: Settings) -> list[dict[str, str]]:
    folder = settings.sms_outbox_dir
    if not folder.exists():
        return []
    return [json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))]


async def consenting_patient(people: People, phone: str = "06 12 34 56 78") -> Person:
    person = await patient(people)
    await grant(person, "reminders-email", "reminders-sms")
    assert (await person.patch("/api/v1/me", json={"phone": phone})).status_code == 200
    return person


async def test_one_mail_and_one_sms_per_offset_across_two_processes(
    app: FastAPI, other_process: FastAPI, people: People, settings: Settings, smtp: SmtpSink
) -> None:
    doctor, (reason,) = await ready_practitioner(people, reasons=[(REASON, 15)], name="Dr Ruiz")
    alice = await consenting_patient(people)
    bob = await patient(people)  # no reminder consent
    start = soon(30 * 60, span_hours=1)
    assert (await book(alice, doctor.account_id, reason, start)).status_code == 201
    assert (
        await book(bob, doctor.account_id, reason, start + timedelta(hours=1))
    ).status_code == 201
    apps = [app, other_process]

    with clock.frozen(start - timedelta(hours=25)):  # nothing due yet
        await run_everywhere(apps, settings)
    assert reminders(smtp, alice) == []
    for _ in range(2):  # twice: the second round finds everything staged already
        with clock.frozen(start - timedelta(hours=24) + timedelta(minutes=1)):
            await run_everywhere(apps, settings)
    assert reminders(smtp, alice) == ["Rappel de rendez-vous"]
    assert texts(settings) == [{"to": "+33612345678", "body": texts(settings)[0]["body"]}]
    assert "Dr Ruiz" in texts(settings)[0]["body"]
    with clock.frozen(start - timedelta(hours=2) + timedelta(minutes=3)):
        await run_everywhere(apps, settings)
        await run_everywhere(apps, settings)
    assert reminders(smtp, alice) == ["Rappel de rendez-vous"] * 2
    assert len(texts(settings)) == 2
    with clock.frozen(start + timedelta(minutes=5)):  # past: nothing more
        await run_everywhere(apps, settings)
    assert len(reminders(smtp, alice)) == 2
    assert reminders(smtp, bob) == []
    for message in smtp.to(alice.email):
        assert REASON not in message.as_string()
    assert all(REASON not in sms["body"] for sms in texts(settings))
    mine = [(n["kind"], n["channel"]) for n in (await alice.get("/api/v1/me/notifications")).json()]
    assert mine.count(("reminder", "mail")) == 2
    assert mine.count(("reminder", "sms")) == 2


async def test_withdrawn_consent_cancelled_or_moved_appointments_drop_their_reminders(
    app: FastAPI, people: People, settings: Settings, smtp: SmtpSink
) -> None:
    doctor, (reason,) = await ready_practitioner(people)
    alice = await consenting_patient(people)
    carol = await consenting_patient(people, phone="+33698765432")
    dan = await consenting_patient(people, phone="+33611111111")
    start = soon(30 * 60, span_hours=2)
    kept = (await book(alice, doctor.account_id, reason, start)).json()
    cancelled = (await book(carol, doctor.account_id, reason, start + timedelta(hours=1))).json()
    moved = (await book(dan, doctor.account_id, reason, start + timedelta(hours=2))).json()
    due = start + timedelta(hours=2) - timedelta(hours=24) + timedelta(minutes=1)

    with clock.frozen(due):  # planned: staged for all three, delivered to none yet
        await run_job(app.state.session_factory, settings, REMINDERS, force=True)
    # meanwhile: alice withdraws the mail reminders, carol cancels, dan moves a day later
    await withdraw(alice, "reminders-email")
    assert (await carol.post(f"/api/v1/appointments/{cancelled['id']}/cancel")).status_code == 200
    later = start + timedelta(hours=26)
    assert (
        await dan.post(
            f"/api/v1/appointments/{moved['id']}/reschedule", json={"start": later.isoformat()}
        )
    ).status_code == 200
    with clock.frozen(due):
        await app.state.outbox.drain()
    assert reminders(smtp, alice) == []  # the mail: consent withdrawn
    assert [sms["to"] for sms in texts(settings)] == ["+33612345678"]  # alice's SMS stays
    assert reminders(smtp, carol) == []
    assert reminders(smtp, dan) == []
    with clock.frozen(later - timedelta(hours=24) + timedelta(minutes=1)):  # the new time's
        await run_job(app.state.session_factory, settings, REMINDERS, force=True)
        await app.state.outbox.drain()
    assert reminders(smtp, dan) == ["Rappel de rendez-vous"]
    del kept


async def test_a_reminder_due_while_no_server_ran_goes_out_if_still_ahead(
    app: FastAPI, people: People, settings: Settings, smtp: SmtpSink
) -> None:
    doctor, (reason,) = await ready_practitioner(people)
    alice = await consenting_patient(people)
    start = soon(30 * 60)
    assert (await book(alice, doctor.account_id, reason, start)).status_code == 201
    with clock.frozen(start - timedelta(hours=26)):
        await run_everywhere([app], settings)
    # every server down from 26 h before to 20 h before: the 24 h reminder is still worth sending
    with clock.frozen(start - timedelta(hours=20)):
        await run_everywhere([app], settings)
    assert reminders(smtp, alice) == ["Rappel de rendez-vous"]
    # down again until after the start: the 2 h reminder is not sent late
    with clock.frozen(start + timedelta(minutes=1)):
        await run_everywhere([app], settings)
    assert reminders(smtp, alice) == ["Rappel de rendez-vous"]


async def test_an_appointment_booked_after_its_reminder_hour_gets_only_the_later_ones(
    app: FastAPI, people: People, settings: Settings, smtp: SmtpSink
) -> None:
    doctor, (reason,) = await ready_practitioner(people)
    alice = await consenting_patient(people)
    start: datetime = soon(5 * 60)  # booked 5 h ahead: the 24 h reminder had passed already
    assert (await book(alice, doctor.account_id, reason, start)).status_code == 201
    with clock.frozen(clock.now() + timedelta(minutes=10)):
        await run_everywhere([app], settings)
    assert reminders(smtp, alice) == []
    with clock.frozen(start - timedelta(hours=2) + timedelta(minutes=1)):
        await run_everywhere([app], settings)
    assert reminders(smtp, alice) == ["Rappel de rendez-vous"]
