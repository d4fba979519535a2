"""The waiting list as patients meet it (issue #26): a patient asks for an earlier slot on the
practitioner's page, another patient cancels, the first gets the offer by mail, follows its link
and books the held slot in one click."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from playwright.sync_api import expect

from tests.e2e.conftest import (
    Api,
    Server,
    Watch,
    book_via_api,
    listed_practitioner,
    new_context,
    new_person,
    screenshot,
    sign_in,
    wait_for_mail,
)
from tests.factories import mail_text

OFFER_SUBJECT = "Un créneau plus tôt vous est réservé"


def test_a_waiting_patient_is_offered_the_cancelled_slot_and_books_it(
    page: Any, server: Server, browser: Any, watch: Watch
) -> None:
    doctor, practitioner_id, reason_id = listed_practitioner(server, "Dr Hugo Marchand")
    bob = new_person(server, full_name="Bob Martin")
    held = book_via_api(server, bob, practitioner_id, reason_id)
    # alice's API session stays open for the last check: signing in again would wait for the
    # next TOTP time step (each is used once), half a minute of this test
    with Api(server) as alice_api:
        alice = new_person(server, full_name="Alice Durand", api=alice_api)
        alice_api.grant("privacy-notice")

        sign_in(page, alice.email, alice.password)
        page.goto(f"/practitioners/{practitioner_id}")
        waitlist = page.get_by_role("region", name="Un créneau plus tôt ?")
        expect(waitlist).to_be_visible()
        # the slot bob holds is two days ahead: ask for one before the fifth day
        before = (datetime.now().astimezone() + timedelta(days=5)).date().isoformat()
        waitlist.get_by_label("Un créneau avant le").fill(before)
        screenshot(page, "waitlist-join")
        waitlist.get_by_role("button", name="M'inscrire sur la liste d'attente").click()
        # the practice has free time before that date: the page offers it first
        free = waitlist.locator("#waitlist-free")
        expect(free).to_contain_text("Un créneau est déjà libre avant cette date")
        first = free.get_by_role("link", name="Réserver ce créneau")
        expect(first).to_have_attribute("href", re.compile(r"[?&]slot=.+&reason="))
        screenshot(page, "waitlist-free-first")
        free.get_by_role("button", name="M'inscrire quand même").click()
        page.wait_for_url(re.compile(r"/account"))
        mine = page.get_by_role("region", name="Mes demandes de créneau plus tôt")
        expect(mine.get_by_text("En attente d'un créneau libéré.")).to_be_visible()
        expect(mine.get_by_role("link", name="Dr Hugo Marchand")).to_be_visible()

        # bob cancels: the freed slot is offered to alice by mail
        with Api(server) as api:
            api.sign_in(bob)
            cancelled = api.call("POST", f"/api/v1/appointments/{held}/cancel")
        mail = wait_for_mail(server, alice.email, OFFER_SUBJECT)
        body = mail_text(mail, ("plain",))
        assert "Dr Hugo Marchand" in body
        assert "1 quai du Port" in body
        found = re.search(r"/waitlist/[0-9a-f-]{36}", body)
        assert found, body

        # the practice's agenda shows the time as held, and nothing of who holds it
        desk = new_context(browser, server, watch)
        doctor_page = desk.new_page()
        sign_in(doctor_page, doctor.email, doctor.password)
        day = cancelled["start"][:10]
        doctor_page.goto(f"/pro/agenda?view=day&date={day}")
        held = doctor_page.locator(".visit.held")
        expect(held).to_have_count(1)
        start = datetime.fromisoformat(cancelled["start"])
        expect(held).to_contain_text(f"{start:%H:%M}–")
        expect(held).to_contain_text("Réservé (liste d'attente) jusqu'à")
        expect(doctor_page.locator(".timegrid")).not_to_contain_text("Alice")
        # bob's cancelled visit is listed below the grid with its times
        expect(doctor_page.locator(".agenda-cancelled")).to_contain_text(
            f"{start:%H:%M}–{datetime.fromisoformat(cancelled['end']):%H:%M} · Bob Martin"
        )
        screenshot(doctor_page, "waitlist-held-in-agenda")
        desk.close()

        page.goto(found.group(0))
        offer = page.get_by_role("status").filter(has_text="Un créneau vous est réservé")
        expect(offer).to_be_visible()
        screenshot(page, "waitlist-offer")
        page.get_by_role("button", name="Réserver ce créneau").click()
        page.wait_for_url(re.compile(r"/account$"))
        expect(page.get_by_text("Rendez-vous confirmé")).to_be_visible()
        upcoming = page.get_by_role("region", name="À venir")
        expect(upcoming.get_by_role("link", name="Dr Hugo Marchand")).to_be_visible()
        expect(page.get_by_role("region", name="Mes demandes de créneau plus tôt")).to_contain_text(
            "Aucune demande en cours."
        )
        screenshot(page, "waitlist-booked")

        (appointment,) = alice_api.call("GET", "/api/v1/me/appointments?scope=upcoming")
        assert datetime.fromisoformat(appointment["start"]) == datetime.fromisoformat(
            cancelled["start"]
        )
