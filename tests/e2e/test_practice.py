"""A practitioner's own screens: charter purposes and status while awaiting approval, profile and
booking rules, visit reasons and absences, each checked where patients see it (the public page)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httpx
import icalendar
import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.patient import Patient
from playwright.sync_api import expect

from tests.e2e.conftest import (
    Api,
    Person,
    Server,
    book_via_api,
    listed_practitioner,
    new_context,
    new_person,
    screenshot,
    sign_in,
    wait_for_mail,
)
from tests.factories import mail_text, outbox
from tests.helpers.fhir import resources_of

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
    # no opening hours yet: the reason is not said to be offered in them
    expect(page.locator("#notice")).to_contain_text(
        "Motif ajouté. Vous n'avez pas encore de plages horaires"
    )
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


def test_titles_no_reason_asked_then_the_practitioner_leaves_with_the_export(
    page: Any, browser: Any, server: Server, watch: Any
) -> None:
    """Charter C2, C6 and C12 as people meet them: the practitioner states titles and a mode of
    practice (the public page shows them), stops asking a visit reason (a patient books without
    picking one), then downloads the agenda and closes the account; the patient is told, the
    profile is gone."""
    doctor, practitioner_id, _reason = listed_practitioner(server, "Dr Hugo Marchand")
    sign_in(page, doctor.email, doctor.password)
    expect(page.get_by_role("heading", level=1)).to_have_text("Mon cabinet")
    page.get_by_label("Mode d'exercice").select_option("mixed")
    page.get_by_label("Titres").fill("Ancien chef de clinique\nDU d'échographie\n")
    page.get_by_role("button", name="Enregistrer").first.click()
    expect(page.locator("#notice")).to_contain_text("Modifications enregistrées")

    page.goto("/pro/reasons")
    region = page.get_by_role("region", name="Ne pas demander de motif")
    region.get_by_label("Durée d'une consultation (minutes)").fill("20")
    page.once("dialog", lambda dialog: dialog.accept())
    region.get_by_role("button", name="Ne plus demander de motif").click()
    expect(page.locator("#notice")).to_contain_text("Vos patients ne choisissent plus de motif")
    expect(page.get_by_role("region", name="Ne pas demander de motif")).to_contain_text(
        "consultation de 20 min"
    )
    screenshot(page, "pro-no-reason")

    # a patient, in another browser: the public page, and a booking without a reason to pick
    patient = new_person(server, full_name="Inès Roussel")
    with Api(server) as api:
        api.sign_in(patient)
        api.grant("privacy-notice")
    context = new_context(browser, server, watch)
    other = context.new_page()
    other.set_default_timeout(15_000)
    sign_in(other, patient.email, patient.password)
    other.goto(f"/practitioners/{practitioner_id}")
    facts = other.locator("dl.facts")
    expect(facts).to_contain_text("Libéral et salarié")
    expect(facts).to_contain_text("Ancien chef de clinique · DU d'échographie")
    expect(other.locator("#no-reason-asked")).to_contain_text("ne demande pas de motif")
    expect(other.get_by_label("Motif de consultation")).to_have_count(0)
    screenshot(other, "book-no-reason")
    other.locator(".slot").nth(2).click()
    box = other.get_by_role("region", name="Confirmer le rendez-vous")
    box.get_by_role("button", name="Confirmer le rendez-vous").click()
    expect(other.get_by_role("heading", level=1)).to_have_text("Mes rendez-vous")

    # the practitioner takes the agenda first, then closes
    page.goto("/pro")
    leave = page.get_by_role("region", name="Quitter erdv")
    expect(leave).to_contain_text("1. Emportez vos données")
    leave.get_by_role("link", name="Télécharger mon agenda et mes patients (FHIR JSON)").click()
    dialog = page.locator("dialog")
    dialog.get_by_label("Mot de passe").fill(doctor.password)
    dialog.get_by_label(re.compile("Code à 6 chiffres")).fill(doctor.code())
    with page.expect_download() as download:
        dialog.get_by_role("button", name="Confirmer").click()
    bundle = Bundle.model_validate_json(Path(download.value.path()).read_text())
    names = [p.name[0].text if p.name else None for p in resources_of(bundle, Patient)]
    assert names == ["Inès Roussel"]
    leave.get_by_role("button", name="Fermer mon compte").click()
    expect(page.locator("#notice")).to_contain_text("Cochez d'abord la case")
    leave.get_by_label(re.compile("Je comprends que ma fiche sera retirée")).check()
    screenshot(page, "pro-leave")
    leave.get_by_role("button", name="Fermer mon compte").click()
    expect(page.locator("#notice")).to_contain_text("Votre compte est fermé")
    expect(page).to_have_url(re.compile(r"/$"))
    last = wait_for_mail(server, doctor.email, "Votre compte professionnel erdv est fermé")
    assert "l'exploitant garde votre agenda" in mail_text(last, ("plain",))
    wait_for_mail(server, patient.email, "Rendez-vous annulé")

    other.goto(f"/practitioners/{practitioner_id}")
    expect(other.get_by_role("heading", level=1)).to_have_text("Professionnel introuvable")
    other.get_by_role("link", name="Mes rendez-vous").click()
    expect(other.locator("[data-appointment]").first).to_contain_text("Annulé")
    context.close()


def test_the_agenda_in_a_calendar_application_then_revoked(page: Any, server: Server) -> None:
    """The practitioner creates the secret link, a calendar application (httpx here) reads the
    booked visit from it with no reason inside, and revoking stops it at once."""
    doctor, practitioner_id, reason_id = listed_practitioner(server, "Dr Paul Gauthier")
    patient = new_person(server, full_name="Lina Mercier")
    book_via_api(server, patient, practitioner_id, reason_id)
    sign_in(page, doctor.email, doctor.password)
    region = page.get_by_role("region", name="Mon agenda dans mon calendrier")
    # no link yet: nothing to revoke, and the first one replaces nothing
    expect(region).to_contain_text("Aucun lien actif")
    expect(region.get_by_role("button", name="Révoquer le lien")).to_be_hidden()
    region.get_by_role("button", name="Créer un lien d'abonnement").click()
    expect(page.locator("#notice")).to_contain_text("Lien créé : copiez-le")
    expect(region).to_contain_text("Un lien est actif")
    url = region.get_by_label(re.compile("Lien d'abonnement")).input_value()
    assert url.startswith(f"{server.url}/api/v1/calendar/")
    screenshot(page, "calendar-feed")
    feed = httpx.get(url)
    assert feed.status_code == 200
    events = icalendar.Calendar.from_ical(feed.text).walk("VEVENT")
    assert [str(e["SUMMARY"]) for e in events] == ["Rendez-vous : Lina Mercier"]
    assert "Consultation" not in feed.text
    region.get_by_role("button", name="Révoquer le lien").click()
    expect(page.locator("#notice")).to_contain_text("Lien révoqué")
    assert httpx.get(url).status_code == 404
    expect(region.get_by_role("button", name="Révoquer le lien")).to_be_hidden()
    # after a reload too: the page asks the server whether a link is live
    page.reload()
    region = page.get_by_role("region", name="Mon agenda dans mon calendrier")
    expect(region).to_contain_text("Aucun lien actif")
