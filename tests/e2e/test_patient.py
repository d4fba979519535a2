"""A patient searches, registers, verifies the email, enrols TOTP, books, sees and cancels."""

from __future__ import annotations

import re
import uuid
from typing import Any

from playwright.sync_api import expect

from tests.e2e.conftest import Server, authenticator, screenshot, wait_for_mail, wait_for_mail_token

PASSWORD = "Granite-Pelican-Meadow-58"


def test_home_search_and_practitioner_page(page: Any) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Trouver un professionnel de santé")
    expect(page.locator(".cards li")).not_to_have_count(0)
    screenshot(page, "home")
    page.get_by_label("Ville").fill("Lyon")
    page.get_by_role("button", name="Rechercher", exact=True).click()
    expect(page.locator(".cards li").first).to_contain_text("Lyon")
    expect(page.locator(".cards")).not_to_contain_text("Paris")
    page.get_by_label("Ville").fill("Nulle-part-sur-terre")
    page.get_by_role("button", name="Rechercher", exact=True).click()
    expect(page.locator(".empty")).to_contain_text("Aucun professionnel")
    page.get_by_label("Ville").fill("Paris")
    page.get_by_label("Nom").fill("Bernard")
    page.get_by_role("button", name="Rechercher", exact=True).click()
    page.get_by_role("link", name="Dr Alix Bernard", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dr Alix Bernard")
    expect(page.locator(".facts")).to_contain_text("Honoraires")
    expect(page.locator(".slot").first).to_be_visible()
    first = page.locator(".day .day-name").first.text_content()
    page.get_by_role("button", name="Semaine suivante").click()
    expect(page.locator(".day .day-name").first).not_to_have_text(first or "")
    page.get_by_role("button", name="Semaine précédente").click()
    expect(page.locator(".day .day-name").first).to_have_text(first or "")
    screenshot(page, "practitioner")
    # English switch
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="Book an appointment")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    # the directory's French labels, named in English
    expect(page.locator("p.lead")).to_have_text("Physician — General practice")
    page.get_by_role("button", name="Français").click()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    # charter and transparency are linked from every page
    page.get_by_role("link", name="Charte e-RDV").click()
    expect(page).to_have_url(re.compile(r"/charter"))
    screenshot(page, "charter")
    page.go_back()
    page.get_by_role("link", name="Transparence").click()
    expect(page).to_have_url(re.compile(r"/transparency"))
    screenshot(page, "transparency")


def test_unknown_practitioner_and_bad_links(page: Any) -> None:
    page.goto(f"/practitioners/{uuid.uuid4()}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Professionnel introuvable")
    screenshot(page, "practitioner-not-found")
    page.goto("/verify-email#token=not-a-real-token")
    expect(page.locator("#notice")).to_contain_text("plus valable")
    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill("nobody@example.test")
    page.get_by_label("Mot de passe").fill("Not-The-Password-123")
    page.get_by_role("button", name="Continuer").click()
    expect(page.locator("#notice")).to_contain_text("Adresse e-mail ou mot de passe incorrect")
    screenshot(page, "login-error")


def test_patient_registers_enrols_books_and_cancels(page: Any, server: Server) -> None:
    email = f"camille.{uuid.uuid4().hex[:8]}@example.test"
    page.goto("/register")
    screenshot(page, "register")
    page.get_by_label("Nom complet").fill("Camille Durand")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Créer mon compte").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Vérifiez votre messagerie")

    token = wait_for_mail_token(server, email)
    page.goto(f"/verify-email#token={token}")
    expect(page.locator("main")).to_contain_text("Votre adresse est vérifiée")
    assert "token" not in page.url

    page.get_by_role("link", name="Se connecter").first.click()
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Continuer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Activer la double authentification")
    expect(page.locator("img.qr")).to_have_attribute(
        "src", re.compile(r"^data:image/svg\+xml;base64,")
    )
    screenshot(page, "totp-enrolment")
    secret = (page.locator("#totp-secret").text_content() or "").strip()
    page.locator("#enrol-code").fill(authenticator(email, secret).code())
    page.get_by_role("button", name="Activer").click()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    expect(page.locator("#recovery-continue")).to_be_disabled()
    screenshot(page, "recovery-codes")
    page.get_by_label("J'ai conservé mes codes de secours").check()
    page.locator("#recovery-continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes rendez-vous")
    expect(page.locator("#upcoming-title + p")).to_contain_text("Aucun rendez-vous à venir")

    # book with a listed practitioner: the privacy notice comes first
    page.get_by_role("link", name="Rechercher").click()
    page.get_by_label("Nom").fill("Bernard")
    page.get_by_role("button", name="Rechercher", exact=True).click()
    page.get_by_role("link", name="Dr Alix Bernard", exact=True).click()
    # a week ahead: this week's first slot may fall within the 24 h in which the demo practice
    # takes no online cancellation (on a weekday, or a Sunday morning), and this patient cancels
    page.locator(".slot").first.wait_for()
    page.get_by_role("button", name="Semaine suivante").click()
    slot = page.locator(".slot").first
    slot_label = slot.get_attribute("aria-label") or ""
    slot.click()
    page.locator("#confirm-booking").click()
    expect(page.locator(".consent")).to_be_visible()
    screenshot(page, "privacy-notice")
    expect(page.locator("#consent-accept")).to_be_disabled()
    page.get_by_label("J'ai lu cette notice d'information").check()
    page.locator("#consent-accept").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes rendez-vous")
    expect(page.locator("#notice")).to_contain_text("Rendez-vous confirmé")
    card = page.locator("[data-appointment]").first
    expect(card).to_contain_text("Dr Alix Bernard")
    expect(card).to_contain_text(slot_label.split(" — ")[0].split(" ")[-1])
    ics = card.get_by_role("link", name="Ajouter à mon agenda (.ics)")
    href = ics.get_attribute("href") or ""
    response = page.request.get(href)
    assert response.ok
    assert "BEGIN:VCALENDAR" in response.text()
    screenshot(page, "appointments")
    # the confirmation mail, with the invitation for the patient's calendar
    confirmation = wait_for_mail(server, email, "Rendez-vous confirmé")
    (invite,) = [
        p for p in confirmation.iter_attachments() if p.get_content_type() == "text/calendar"
    ]
    assert "METHOD:REQUEST" in invite.get_content()
    assert "Dr Alix Bernard" in str(confirmation.get_body(preferencelist=("plain",)))

    # privacy page: the consent and its receipt, access log, apps
    page.get_by_role("link", name="Mes données").click()
    expect(page.locator("#history-title + .table-wrap")).to_contain_text("v")
    # what erdv sent: the address check and the confirmation, never their text
    expect(page.locator("#sent-title ~ .table-wrap")).to_contain_text("confirmation de rendez-vous")
    expect(page.locator("#sent-title ~ .table-wrap")).to_contain_text(
        "vérification de l'adresse e-mail"
    )
    screenshot(page, "privacy")
    page.get_by_role("link", name="Sécurité").click()
    expect(page.get_by_text("Cette session")).to_be_visible()

    # cancel
    page.get_by_role("link", name="Mes rendez-vous").click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("[data-appointment]").first.get_by_role(
        "button", name="Annuler le rendez-vous"
    ).click()
    expect(page.locator("#notice")).to_contain_text("Rendez-vous annulé")
    # a cancelled visit is no longer "upcoming": it is listed apart
    expect(page.locator("#cancelled-title ~ ul [data-appointment] .status").first).to_have_text(
        "Annulé"
    )
    expect(page.locator("#upcoming-title + p")).to_contain_text("Aucun rendez-vous à venir")
    notice = wait_for_mail(server, email, "Rendez-vous annulé")
    (cancel,) = [p for p in notice.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert "METHOD:CANCEL" in cancel.get_content()
