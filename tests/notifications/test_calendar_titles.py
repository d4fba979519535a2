"""A calendar entry's title is in its reader's language, as the mail that carries it is
(docs/api.md "Notifications": every message, ICS included, in the account's language): the mails'
invitations and cancellations, the ``.ics`` download and the practice's feed. Before, the title
was French for everyone: an English reader's calendar said "Rendez-vous : …"."""

from __future__ import annotations

import icalendar

from tests.factories import People
from tests.helpers.booking import book, patient, ready_practitioner, soon
from tests.helpers.smtp import SmtpSink, about_appointments, event_of


def _title(text: str) -> str:
    (event,) = icalendar.Calendar.from_ical(text).walk("VEVENT")
    return str(event["SUMMARY"])


async def test_each_invitation_is_titled_in_its_readers_language(
    people: People, smtp: SmtpSink
) -> None:
    doctor, (reason,) = await ready_practitioner(people, name="Dr Alma Ruiz")
    alice = await patient(people)
    assert (await alice.patch("/api/v1/me", json={"language": "en"})).status_code == 200

    booked = await book(alice, doctor.account_id, reason, soon(24 * 60))
    assert booked.status_code == 201, booked.text
    appointment = booked.json()["id"]
    (to_alice,) = about_appointments(smtp, alice.email)
    (to_doctor,) = about_appointments(smtp, doctor.email)
    assert str(event_of(to_alice)["SUMMARY"]) == "Appointment: Dr Alma Ruiz"
    assert str(event_of(to_doctor)["SUMMARY"]) == f"Rendez-vous : {alice.full_name}"

    # the other way round, for a cancellation
    assert (await alice.patch("/api/v1/me", json={"language": "fr"})).status_code == 200
    assert (await doctor.patch("/api/v1/me", json={"language": "en"})).status_code == 200
    cancelled = await alice.post(f"/api/v1/appointments/{appointment}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    to_alice = about_appointments(smtp, alice.email)[-1]
    to_doctor = about_appointments(smtp, doctor.email)[-1]
    assert str(event_of(to_alice)["STATUS"]) == "CANCELLED"
    assert str(event_of(to_alice)["SUMMARY"]) == "Rendez-vous : Dr Alma Ruiz"
    assert str(event_of(to_doctor)["SUMMARY"]) == f"Appointment: {alice.full_name}"


async def test_the_download_and_the_feed_are_titled_in_the_readers_language(
    people: People,
) -> None:
    doctor, (reason,) = await ready_practitioner(people, name="Dr Alma Ruiz")
    alice = await patient(people)
    booked = await book(alice, doctor.account_id, reason, soon(24 * 60))
    assert booked.status_code == 201, booked.text
    path = f"/api/v1/appointments/{booked.json()['id']}.ics"
    feed_url = (await doctor.post("/api/v1/me/calendar-feed")).json()["url"]
    feed_path = feed_url.removeprefix("http://testserver")

    assert _title((await alice.get(path)).text) == "Rendez-vous : Dr Alma Ruiz"
    assert _title((await people.client().get(feed_path)).text) == (
        f"Rendez-vous : {alice.full_name}"
    )

    for person in (alice, doctor):
        assert (await person.patch("/api/v1/me", json={"language": "en"})).status_code == 200
    assert _title((await alice.get(path)).text) == "Appointment: Dr Alma Ruiz"
    assert _title((await people.client().get(feed_path)).text) == (
        f"Appointment: {alice.full_name}"
    )
