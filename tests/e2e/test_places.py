"""Sites and particular days as a practitioner and a patient meet them (issue #26): a second site
added, one date opened there in the evening, the public page listing both sites, the evening slot
booked with its site named, and the search finding the practice by the new site's postcode."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from tests.e2e.conftest import (
    Api,
    Server,
    listed_practitioner,
    new_context,
    new_person,
    screenshot,
    sign_in,
)

PARIS = ZoneInfo("Europe/Paris")


def test_a_second_site_and_an_evening_opened_there_reach_the_patient(
    page: Any, browser: Any, server: Server, watch: Any
) -> None:
    doctor, practitioner_id, _reason = listed_practitioner(server, "Dr Inès Garnier")
    sign_in(page, doctor.email, doctor.password)
    page.goto("/pro/places")
    sites = page.get_by_role("region", name="Lieux de consultation")
    expect(sites.get_by_text("lieu principal")).to_be_visible()
    sites.get_by_text("Ajouter un lieu").click()
    sites.get_by_label("Nom du lieu").last.fill("Annexe d'Aix")
    sites.get_by_label("Adresse").last.fill("5 cours Mirabeau")
    sites.get_by_label("Code postal").last.fill("13100")
    sites.get_by_label("Ville").last.fill("Aix-en-Provence")
    sites.get_by_role("button", name="Ajouter ce lieu").click()
    expect(page.get_by_text("Lieu « Annexe d'Aix » ajouté.")).to_be_visible()

    # three days ahead, the evening at the annexe only
    day = (datetime.now(PARIS) + timedelta(days=3)).date()
    days = page.get_by_role("region", name="Jours particuliers")
    days.get_by_label("Date").fill(day.isoformat())
    days.get_by_label("Début").fill("21:00")
    days.get_by_label("Fin").fill("21:30")
    days.get_by_label("Lieu").select_option(label="Annexe d'Aix")
    days.get_by_role("button", name="Enregistrer ce jour").click()
    expect(days.locator(f"[data-override='{day.isoformat()}']")).to_contain_text("21:00–21:30")
    expect(days.locator(f"[data-override='{day.isoformat()}']")).to_contain_text("Annexe d'Aix")
    screenshot(page, "places")

    patient = new_person(server, full_name="Paul Roche")
    with Api(server) as api:
        api.sign_in(patient)
        api.grant("privacy-notice")
    context = new_context(browser, server, watch)
    other = context.new_page()
    sign_in(other, patient.email, patient.password)
    other.goto("/?postcode=13100")
    result = other.locator(f"[data-practitioner='{practitioner_id}']")
    expect(result).to_be_visible()
    other.goto(f"/practitioners/{practitioner_id}")
    expect(other.locator("#sites")).to_contain_text(
        "Annexe d'Aix — 5 cours Mirabeau, 13100 Aix-en-Provence"
    )
    booking = other.get_by_role("region", name="Prendre rendez-vous")
    # that day holds the annexe's evening only: one slot, at 21:00
    column = booking.locator(f"[data-day='{day.isoformat()}']")
    expect(column.locator("button.slot")).to_have_count(1)
    column.locator("button.slot").click()
    confirm = other.get_by_role("region", name="Confirmer le rendez-vous")
    expect(confirm).to_contain_text("Lieu : Annexe d'Aix")
    screenshot(other, "places-booking")
    confirm.get_by_role("button", name="Confirmer le rendez-vous").click()
    other.wait_for_url(re.compile(r"/account$"))
    expect(other.get_by_role("region", name="À venir")).to_contain_text("5 cours Mirabeau")
    context.close()
