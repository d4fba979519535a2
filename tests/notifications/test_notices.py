"""Every booking, move and cancellation tells the patient, and the practitioner when someone else
made it, over SMTP, in the reader's language, with an iCalendar invitation whose UID stays and
whose SEQUENCE rises; never a visit reason, a profession or a specialty (docs/api.md
"Notifications", charter C7)."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage

import httpx
import icalendar
from fastapi import FastAPI

from app.core import clock
from tests.factories import People, mail_text
from tests.helpers.booking import book, patient, ready_practitioner, soon
from tests.helpers.smtp import SmtpSink, about_appointments, calendar_of, event_of
from tests.oauth.conftest import bearer, delegated_token

REASON = "Suivi-contraception-zz9"
#: the labels of the practitioner's profession and specialty (app.practice.professions)
HEALTH_WORDS = (REASON, "Médecin", "médecin", "Médecine générale", "generaliste", "medecin")


def text_of(message: EmailMessage) -> str:
    return str(message["Subject"]) + mail_text(message, ("plain",)) + mail_text(message, ("html",))


def assert_no_health_data(messages: list[EmailMessage]) -> None:
    for message in messages:
        whole = message.as_string()
        for part in message.walk():
            if not part.is_multipart():
                whole += str(part.get_content())
        for word in HEALTH_WORDS:
            assert word not in whole, (word, message["Subject"])


async def test_book_move_cancel_tell_both_sides_with_one_calendar_entry(
    people: People, smtp: SmtpSink
) -> None:
    doctor, (reason,) = await ready_practitioner(
        people, reasons=[(REASON, 15)], name="Dr Alma Ruiz"
    )
    alice = await patient(people)
    assert (await doctor.patch("/api/v1/me", json={"language": "en"})).status_code == 200

    booked = await book(alice, doctor.account_id, reason, soon(24 * 60))
    assert booked.status_code == 201, booked.text
    appointment = booked.json()["id"]
    (confirmation,) = about_appointments(smtp, alice.email)
    assert confirmation["Subject"] == "Rendez-vous confirmé"
    assert "Dr Alma Ruiz" in text_of(confirmation)
    assert "1 rue de la Paix, Paris" in text_of(confirmation)
    assert calendar_of(confirmation)["METHOD"] == "REQUEST"
    first = event_of(confirmation)
    assert str(first["UID"]) == f"{appointment}@erdv"
    assert int(first.decoded("SEQUENCE")) == 0
    assert first.decoded("DTSTART") == soon(24 * 60)
    (news,) = about_appointments(smtp, doctor.email)
    assert news["Subject"] == "New appointment"  # the practitioner reads English
    assert alice.full_name in text_of(news)

    later = soon(48 * 60)
    moved = await alice.post(
        f"/api/v1/appointments/{appointment}/reschedule", json={"start": later.isoformat()}
    )
    assert moved.status_code == 200, moved.text
    change = smtp.to(alice.email)[-1]
    assert change["Subject"] == "Rendez-vous déplacé"
    assert (str(event_of(change)["UID"]), int(event_of(change).decoded("SEQUENCE"))) == (
        f"{appointment}@erdv",
        1,
    )
    assert event_of(change).decoded("DTSTART") == later
    assert smtp.to(doctor.email)[-1]["Subject"] == "Appointment moved"
    # the download carries the sequence of the last invitation
    ics = await alice.get(f"/api/v1/appointments/{appointment}.ics")
    downloaded = icalendar.Calendar.from_ical(ics.content)
    (event,) = downloaded.walk("VEVENT")
    assert (downloaded["METHOD"], int(event.decoded("SEQUENCE"))) == ("PUBLISH", 1)

    cancelled = await alice.post(f"/api/v1/appointments/{appointment}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    notice = smtp.to(alice.email)[-1]
    assert notice["Subject"] == "Rendez-vous annulé"
    assert calendar_of(notice)["METHOD"] == "CANCEL"
    assert int(event_of(notice).decoded("SEQUENCE")) == 2
    assert str(event_of(notice)["STATUS"]) == "CANCELLED"
    assert smtp.to(doctor.email)[-1]["Subject"] == "Appointment cancelled"

    assert len(about_appointments(smtp, alice.email)) == 3
    assert_no_health_data(smtp.to(alice.email) + smtp.to(doctor.email))


async def test_the_practice_is_not_told_of_its_own_changes_nor_when_it_said_no(
    people: People, smtp: SmtpSink
) -> None:
    doctor, (reason,) = await ready_practitioner(people)
    alice = await patient(people)
    bob = await patient(people)
    assert (await bob.patch("/api/v1/me", json={"language": "en"})).status_code == 200
    before = len(smtp.to(doctor.email))

    first = (await book(alice, doctor.account_id, reason, soon(120))).json()
    assert len(smtp.to(doctor.email)) == before + 1
    done = await doctor.post(f"/api/v1/appointments/{first['id']}/cancel")
    assert done.status_code == 200
    assert len(smtp.to(doctor.email)) == before + 1  # its own cancellation: nothing
    told = smtp.to(alice.email)[-1]
    assert "annulé par le cabinet" in text_of(told)

    switched = await doctor.put("/api/v1/me/notifications", json={"new_booking_mail": False})
    assert switched.status_code == 200, switched.text
    assert switched.json() == {"new_booking_mail": False}
    read = await doctor.get("/api/v1/me/notifications/settings")
    assert read.json() == {"new_booking_mail": False}
    second = (await book(bob, doctor.account_id, reason, soon(240))).json()
    await bob.post(f"/api/v1/appointments/{second['id']}/cancel")
    assert len(smtp.to(doctor.email)) == before + 1
    assert [m["Subject"] for m in about_appointments(smtp, bob.email)] == [
        "Appointment confirmed",
        "Appointment cancelled",
    ]


async def test_my_notifications_list_what_was_sent_and_nothing_of_it(
    people: People, smtp: SmtpSink
) -> None:
    doctor, (reason,) = await ready_practitioner(people)
    alice = await patient(people)
    booked = (await book(alice, doctor.account_id, reason, soon(120))).json()
    await alice.post(f"/api/v1/appointments/{booked['id']}/cancel")

    mine = await alice.get("/api/v1/me/notifications")
    assert mine.status_code == 200, mine.text
    assert mine.headers["cache-control"] == "no-store"
    kinds = [(n["kind"], n["channel"], n["status"]) for n in mine.json()]
    assert kinds == [
        ("appointment-cancelled", "mail", "sent"),
        ("appointment-booked", "mail", "sent"),
        ("email-verification", "mail", "sent"),  # the sign-up's, newest first
    ]
    assert all(n["sent_at"] for n in mine.json())
    assert set(mine.json()[0]) == {"id", "kind", "channel", "status", "created_at", "sent_at"}
    theirs = [n["kind"] for n in (await doctor.get("/api/v1/me/notifications")).json()]
    assert theirs == ["practice-cancelled", "practice-booked", "email-verification"]
    # a patient has no practice switch
    refused = await alice.put("/api/v1/me/notifications", json={"new_booking_mail": False})
    assert refused.status_code == 403
    anonymous = await people.anonymous()
    assert (await anonymous.get("/api/v1/me/notifications")).status_code == 401


async def test_an_absence_tells_each_patient_with_a_cancellation(
    people: People, smtp: SmtpSink
) -> None:
    doctor, (reason,) = await ready_practitioner(people)
    alice = await patient(people)
    start = soon(26 * 60)
    booked = (await book(alice, doctor.account_id, reason, start)).json()
    absence = await doctor.post(
        "/api/v1/me/absences",
        json={
            "start": (start - timedelta(hours=1)).isoformat(),
            "end": (start + timedelta(hours=1)).isoformat(),
            "cancel_appointments": True,
        },
    )
    assert absence.status_code == 201, absence.text
    notice = smtp.to(alice.email)[-1]
    assert "annulé par le cabinet" in text_of(notice)
    event = event_of(notice)
    assert (str(event["UID"]), int(event.decoded("SEQUENCE"))) == (f"{booked['id']}@erdv", 1)
    assert clock.now() < event.decoded("DTSTART")


async def test_an_application_booking_moving_and_cancelling_tells_both(
    app: FastAPI, client: httpx.AsyncClient, people: People, smtp: SmtpSink
) -> None:
    doctor, (reason,) = await ready_practitioner(people, reasons=[(REASON, 15)])
    alice = await patient(people)
    admin = await people.signed_in(role="admin")
    assert (await admin.reauth()).status_code == 204
    token = await delegated_token(app, admin, alice)
    start = soon(24 * 60)
    booked = await client.post(
        "/api/v1/appointments",
        json={
            "practitioner_id": doctor.account_id,
            "visit_reason_id": reason,
            "start": start.isoformat(),
        },
        headers=bearer(token),
    )
    assert booked.status_code == 201, booked.text
    (confirmation,) = about_appointments(smtp, alice.email)
    assert confirmation["Subject"] == "Rendez-vous confirmé"
    (news,) = about_appointments(smtp, doctor.email)
    assert "par une application autorisée" in text_of(news)
    later = soon(48 * 60)
    moved = await client.post(
        f"/api/v1/appointments/{booked.json()['id']}/reschedule",
        json={"start": later.isoformat()},
        headers=bearer(token),
    )
    assert moved.status_code == 200, moved.text
    assert about_appointments(smtp, alice.email)[-1]["Subject"] == "Rendez-vous déplacé"
    assert event_of(about_appointments(smtp, alice.email)[-1]).decoded("DTSTART") == later
    assert "a déplacé son rendez-vous" in text_of(about_appointments(smtp, doctor.email)[-1])
    cancelled = await client.post(
        f"/api/v1/appointments/{booked.json()['id']}/cancel", headers=bearer(token)
    )
    assert cancelled.status_code == 200, cancelled.text
    notice = about_appointments(smtp, alice.email)[-1]
    assert "par une application que vous avez autorisée" in text_of(notice)
    assert_no_health_data(smtp.to(alice.email) + smtp.to(doctor.email))
