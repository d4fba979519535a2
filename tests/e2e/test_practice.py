"""A practitioner's own screens: charter purposes and status while awaiting approval, profile and
booking rules, visit reasons and absences, each checked where patients see it (the public page)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import (
    Api,
    Person,
    Server,
    listed_practitioner,
    new_person,
    screenshot,
    sign_in,
    wait_for_mail,
)
from tests.factories import outbox

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture(scope="module")
def practitioner(server: Server) -> tuple[Person, str]:
    """A listed practitioner of this module and their practitioner id."""
    person, practitioner_id, _reason = listed_practitioner(server, "Dr Lucie Perrin")
    return person, practitioner_id


def test_new_practitioner_accepts_purposes_fills_profile_and_awaits_approval(
    page: Any, server: Server
) -> None:
    person = new_person(server, "practitioner", "Dr Rémi Caron")
    sign_in(page, person.email, person.password)
    expect(page.get_by_role("heading", level=1)).to_have_text("Mon cabinet")
    status = page.locator("section[aria-labelledby=status-title]")
    expect(status).to_contain_text("attend la validation d'un administrateur")
    expect(status).to_contain_text("n'apparaît pas encore dans la recherche")
    for missing in ("la validation par un administrateur", "la profession", "la ville"):
        expect(status).to_contain_text(missing)
    screenshot(page, "pro-pending")

    # the three practitioner purposes, each accepted with a click
    purposes = page.locator("section[aria-labelledby=consents-title] li[data-purpose]")
    expect(purposes).to_have_count(3)
    for purpose_id in ("profile-publication", "practitioner-contract", "deontology"):
        card = page.locator(f'[data-purpose="{purpose_id}"]')
        expect(card.locator(".status")).to_have_text("Non accordé")
        expect(card).to_contain_text("Nécessaire pour apparaître dans la recherche")
        card.get_by_role("button", name="Accepter").click()
        expect(page.locator("#notice")).to_contain_text("Décision enregistrée")
        expect(page.locator(f'[data-purpose="{purpose_id}"] .status')).to_contain_text("Accordé le")
    expect(status).not_to_contain_text(re.compile("profile-publication|practitioner-contract"))

    # profile and booking rules, persisted
    page.get_by_label("Profession").select_option("medecin")
    page.get_by_label("Spécialité").select_option("pediatrie")
    page.get_by_label("Adresse").fill("4 rue Crébillon, 44000 Nantes")
    page.get_by_label("Ville").fill("Nantes")
    page.get_by_label("Secteur de conventionnement").select_option("2")
    page.get_by_label("Honoraires").fill("35 € ; dépassements possibles")
    page.get_by_label("Délai minimal avant un rendez-vous (minutes)").fill("240")
    page.get_by_label("Réservation possible jusqu'à (jours)").fill("45")
    page.get_by_label("Annulation en ligne jusqu'à (minutes avant)").fill("720")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.locator("#notice")).to_contain_text("Modifications enregistrées")
    page.reload()
    expect(page.get_by_label("Profession")).to_have_value("medecin")
    expect(page.get_by_label("Spécialité")).to_have_value("pediatrie")
    expect(page.get_by_label("Ville")).to_have_value("Nantes")
    expect(page.get_by_label("Secteur de conventionnement")).to_have_value("2")
    expect(page.get_by_label("Honoraires")).to_have_value("35 € ; dépassements possibles")
    expect(page.get_by_label("Délai minimal avant un rendez-vous (minutes)")).to_have_value("240")
    expect(page.get_by_label("Réservation possible jusqu'à (jours)")).to_have_value("45")
    expect(page.get_by_label("Annulation en ligne jusqu'à (minutes avant)")).to_have_value("720")
    # only the approval is missing now
    expect(status).to_contain_text("la validation par un administrateur")
    expect(status).not_to_contain_text("la profession")
    expect(status).not_to_contain_text("la ville")

    # an admin approves: the status says so; a visit reason is still missing (nothing to book)
    practice = page.request.get("/api/v1/me/practice").json()
    server.cli("practitioners", "approve", practice["id"])
    page.reload()
    expect(status).to_contain_text("Votre compte est validé")
    expect(status).to_contain_text("Il manque")
    expect(status).to_contain_text("au moins un motif de consultation")
    page.get_by_role("link", name="Motifs", exact=True).click()
    page.get_by_label("Libellé").fill("Consultation")
    page.get_by_role("button", name="Ajouter le motif").click()
    expect(page.locator("#notice")).to_contain_text("Motif ajouté")
    # listed now, with the new fees
    page.get_by_role("link", name="Mon cabinet", exact=True).click()
    expect(status).to_contain_text("Votre profil apparaît dans la recherche")
    screenshot(page, "pro-approved")
    page.get_by_role("link", name="Voir ma page publique").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dr Rémi Caron")
    expect(page.locator(".facts")).to_contain_text("35 € ; dépassements possibles")
    expect(page.locator(".facts")).to_contain_text("Secteur 2")


def test_visit_reason_added_then_removed_shows_on_the_public_page(
    page: Any, practitioner: tuple[Person, str]
) -> None:
    person, practitioner_id = practitioner
    sign_in(page, person.email, person.password)
    page.get_by_role("link", name="Motifs", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Motifs de consultation")
    page.get_by_label("Libellé").fill("Bilan annuel")
    page.get_by_label("Durée (minutes, par pas de 5)").fill("40")
    page.get_by_role("button", name="Ajouter le motif").click()
    expect(page.locator("#notice")).to_contain_text("Motif ajouté")
    expect(page.locator("table")).to_contain_text("Bilan annuel")
    screenshot(page, "pro-reasons")

    reason = page.get_by_label("Motif de consultation")
    page.goto(f"/practitioners/{practitioner_id}")
    expect(reason.locator("option", has_text="Bilan annuel (40 min)")).to_have_count(1)

    page.goto("/pro/reasons")
    page.get_by_role("button", name="Supprimer Bilan annuel").click()
    expect(page.locator("#notice")).to_contain_text("Motif supprimé")
    expect(page.locator("table")).not_to_contain_text("Bilan annuel")
    page.goto(f"/practitioners/{practitioner_id}")
    expect(reason.locator("option", has_text="Consultation")).to_have_count(1)
    expect(reason.locator("option", has_text="Bilan annuel")).to_have_count(0)


def _day_label(page: Any, day: datetime) -> str:
    """The heading the public page gives a day (the front end's own Intl format)."""
    return str(
        page.evaluate(
            """(iso) => new Intl.DateTimeFormat("fr-FR", {weekday: "long", day: "numeric",
                 month: "long", timeZone: "Europe/Paris"}).format(new Date(iso))""",
            day.isoformat(),
        )
    )


def test_absence_removes_its_slots_from_the_public_page(
    page: Any, practitioner: tuple[Person, str]
) -> None:
    person, practitioner_id = practitioner
    # two days ahead: clear of the minimum notice, inside the first week shown
    day = (datetime.now(PARIS) + timedelta(days=2)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    page.goto(f"/practitioners/{practitioner_id}")
    label = _day_label(page, day + timedelta(hours=12))
    absent_day = page.locator(f'details.day[aria-label="{label}"]')
    expect(absent_day.locator(".slot").first).to_be_visible()

    sign_in(page, person.email, person.password)
    page.get_by_role("link", name="Absences", exact=True).click()
    expect(page.locator("section[aria-labelledby=abs-list]")).to_contain_text(
        "Aucune absence prévue"
    )
    page.get_by_label("Début").fill(day.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Fin").fill((day + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Ajouter l'absence").click()
    expect(page.locator("#notice")).to_contain_text("Absence enregistrée (0 rendez-vous annulé(s))")
    absences = page.locator("section[aria-labelledby=abs-list] li.card")
    expect(absences).to_have_count(1)
    screenshot(page, "pro-absences")

    page.goto(f"/practitioners/{practitioner_id}")
    expect(page.locator(".slot").first).to_be_visible()
    expect(absent_day.locator(".slot")).to_have_count(0)
    expect(absent_day).to_contain_text("aucun créneau")

    # deleting the absence gives the day back
    page.goto("/pro/absences")
    absences.first.get_by_role("button", name="Supprimer").click()
    expect(page.locator("#notice")).to_contain_text("Absence supprimée")
    expect(absences).to_have_count(0)
    page.goto(f"/practitioners/{practitioner_id}")
    expect(absent_day.locator(".slot").first).to_be_visible()


def test_the_new_booking_mail_switch_is_kept_and_obeyed(page: Any, server: Server) -> None:
    doctor, doctor_id, reason = listed_practitioner(server, "Dr Noé Martin")
    sign_in(page, doctor.email, doctor.password)
    page.goto("/pro")
    switch = page.get_by_label(
        "M'envoyer un e-mail pour chaque rendez-vous pris, déplacé ou annulé par un patient ou une "
        "application"
    )
    expect(switch).to_be_checked()
    switch.uncheck()
    page.get_by_role("button", name="Mettre à jour mes notifications").click()
    expect(page.locator("#notice")).to_contain_text("Modifications enregistrées")
    page.reload()
    expect(switch).not_to_be_checked()
    screenshot(page, "pro-notifications")

    # a patient books: told by mail; the practice, switched off, is not
    with Api(server) as api:
        patient = new_person(server, "patient", "Inès Caron", api=api)
        api.grant(audience="patient")
        start = (datetime.now(UTC) + timedelta(days=8)).replace(microsecond=0)
        free = api.call(
            "GET",
            f"/api/v1/practitioners/{doctor_id}/slots?"
            + urlencode({"from": start.isoformat(), "to": (start + timedelta(days=3)).isoformat()}),
        )
        booked = {
            "practitioner_id": doctor_id,
            "visit_reason_id": reason,
            "start": free[0]["start"],
        }
        api.call("POST", "/api/v1/appointments", booked, expect=201)
    wait_for_mail(server, patient.email, "Rendez-vous confirmé")
    time.sleep(1)  # the practice's mail, were it sent, goes with the patient's
    told = [m for m in outbox(server.settings) if m["To"] == doctor.email]
    assert not [m for m in told if "rendez-vous" in str(m["Subject"]).lower()]
