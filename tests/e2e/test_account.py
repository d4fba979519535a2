"""A patient's account screens: forgotten password, recovery codes, sessions, consents, rescheduling.

Each test makes its own account through the API (``new_person``): changing a password or ending a
session must not touch the demo accounts the other tests sign in with.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import icalendar
import pytest
from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.bundle import Bundle
from playwright.sync_api import expect

from tests.e2e.conftest import (
    Api,
    Server,
    Watch,
    authenticator,
    book_via_api,
    listed_practitioner,
    new_context,
    new_person,
    screenshot,
    sign_in,
    sign_out,
    wait_for_mail,
    wait_for_mail_token,
)
from tests.factories import mail_text
from tests.helpers.fhir import resources_of

NEW_PASSWORD = "Saffron-Glacier-Tambourine-92"  # noqa: S105 - a test account's


@pytest.fixture(scope="module")
def practitioner(server: Server) -> tuple[str, str]:
    """A listed practitioner of this module: (practitioner id, visit reason id)."""
    _person, practitioner_id, reason_id = listed_practitioner(server, "Dr Paul Girard")
    return practitioner_id, reason_id


def _login_form(page: Any, email: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Continuer").click()


def test_forgotten_password_reset_with_the_mailed_link_and_a_code(
    page: Any, server: Server
) -> None:
    person = new_person(server)
    page.goto("/login")
    page.get_by_role("link", name="Mot de passe oublié ?").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mot de passe oublié")
    screenshot(page, "forgot-password")
    page.get_by_label("Adresse e-mail").fill(person.email)
    page.get_by_role("button", name="Envoyer le lien").click()
    expect(page.locator("main")).to_contain_text("Si un compte existe pour cette adresse")

    token = wait_for_mail_token(server, person.email, "reset-password")
    page.goto(f"/reset-password#token={token}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Nouveau mot de passe")
    # the token leaves the address bar at once
    assert "token" not in page.url
    screenshot(page, "reset-password")
    page.get_by_label("Nouveau mot de passe").fill(NEW_PASSWORD)
    page.get_by_label(re.compile("^Code à 6 chiffres")).fill(person.code())
    page.get_by_role("button", name="Changer le mot de passe").click()
    expect(page.locator("#notice")).to_contain_text("Mot de passe changé")
    expect(page).to_have_url(re.compile(r"/login$"))

    # the old password is refused, the new one signs in
    _login_form(page, person.email, person.password)
    expect(page.locator("#notice")).to_contain_text("Adresse e-mail ou mot de passe incorrect")
    sign_in(page, person.email, NEW_PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes rendez-vous")

    # the link was single-use
    sign_out(page)
    page.goto(f"/reset-password#token={token}")
    page.get_by_label("Nouveau mot de passe").fill("Another-Brand-New-Pass-77")
    # the token is checked first: no code is spent on a dead link
    page.get_by_label(re.compile("^Code à 6 chiffres")).fill("000000")
    page.get_by_role("button", name="Changer le mot de passe").click()
    expect(page.locator("#notice")).to_contain_text("Ce lien n'est plus valable")


def test_sign_in_with_a_recovery_code_instead_of_totp(page: Any, server: Server) -> None:
    person = new_person(server)
    _login_form(page, person.email, person.password)
    expect(page.get_by_role("heading", level=1)).to_have_text("Double authentification")
    screenshot(page, "mfa-code")
    page.get_by_text("Utiliser un code de secours").click()
    page.get_by_label("Code de secours").fill(person.recovery_codes[0])
    screenshot(page, "mfa-recovery-code")
    page.get_by_role("button", name="Valider").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes rendez-vous")
    sign_out(page)

    # each recovery code works once
    _login_form(page, person.email, person.password)
    page.get_by_text("Utiliser un code de secours").click()
    page.get_by_label("Code de secours").fill(person.recovery_codes[0])
    page.get_by_role("button", name="Valider").click()
    expect(page.locator("#notice")).to_contain_text("Code incorrect ou déjà utilisé")
    page.get_by_label("Code de secours").fill(person.recovery_codes[1])
    page.get_by_role("button", name="Valider").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes rendez-vous")


def test_ending_another_session_signs_it_out(
    page: Any, browser: Any, server: Server, watch: Watch
) -> None:
    person = new_person(server)
    other_context = new_context(browser, server, watch)
    other = other_context.new_page()
    sign_in(other, person.email, person.password)
    expect(other.get_by_role("heading", level=1)).to_have_text("Mes rendez-vous")

    sign_in(page, person.email, person.password)
    page.get_by_role("link", name="Sécurité").click()
    cards = page.locator("section[aria-labelledby=sessions-title] li.card")
    expect(cards).to_have_count(2)
    # the current session's title says so (and its button signs out); the other one can be ended
    current = page.get_by_role("heading", level=3, name="Cette session", exact=True)
    expect(current).to_have_count(1)
    screenshot(page, "security")
    cards.get_by_role("button", name="Fermer cette session").click()
    expect(page.locator("#notice")).to_contain_text("Session fermée")
    expect(cards).to_have_count(1)
    expect(current).to_be_visible()

    # the other browser is signed out at its next request
    other.reload()
    expect(other.get_by_role("heading", level=1)).to_have_text("Connexion requise")
    expect(other.get_by_role("link", name="Se connecter").first).to_be_visible()
    other_context.close()
    # and this one still works
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sécurité du compte")


def test_consent_granted_then_withdrawn_with_history_and_receipts(
    page: Any, server: Server
) -> None:
    person = new_person(server)
    sign_in(page, person.email, person.password)
    page.get_by_role("link", name="Mes données").click()
    card = page.locator('[data-purpose="reminders-email"]')
    expect(card.locator(".status")).to_have_text("Non accordé")
    expect(page.locator("section[aria-labelledby=history-title]")).to_contain_text(
        "Aucune décision enregistrée"
    )

    card.get_by_role("button", name="Accepter").click()
    expect(page.locator("#notice")).to_contain_text("Décision enregistrée (reçu ")
    expect(card.locator(".status")).to_contain_text("Accordé le")
    card.get_by_role("button", name="Retirer mon accord").click()
    expect(card.locator(".status")).to_have_text("Non accordé")
    expect(card.get_by_role("button", name="Accepter")).to_be_visible()

    history = page.request.get("/api/v1/me/consents/history").json()
    assert [r["decision"] for r in history] == ["grant", "withdraw"]
    # the notice quotes the latest receipt; the table lists every decision with its receipt
    expect(page.locator("#notice")).to_contain_text(history[-1]["receipt_sha256"][:16])
    rows = page.locator("section[aria-labelledby=history-title] tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Accordé")
    expect(rows.nth(0)).to_contain_text(history[0]["receipt_sha256"])
    expect(rows.nth(1)).to_contain_text("Retiré")
    expect(rows.nth(1)).to_contain_text(history[1]["receipt_sha256"])
    screenshot(page, "consent-history")
    # withdrawn is what the API says too
    states = {c["purpose_id"]: c["status"] for c in page.request.get("/api/v1/me/consents").json()}
    assert states["reminders-email"] == "withdrawn"


def test_reschedule_an_appointment(
    page: Any, server: Server, practitioner: tuple[str, str]
) -> None:
    person = new_person(server)
    appointment_id = book_via_api(server, person, *practitioner)
    sign_in(page, person.email, person.password)
    card = page.locator(f'[data-appointment="{appointment_id}"]')
    before = card.locator("h3").text_content()
    with page.expect_response(re.compile(r"/api/v1/practitioners/[^/]+/slots")) as answer:
        card.get_by_role("button", name="Déplacer").click()
    expect(card.locator(".reschedule h4")).to_have_text("Choisir un nouveau créneau")
    screenshot(page, "reschedule")
    slots = answer.value.json()
    booked_at = page.request.get(f"/api/v1/appointments/{appointment_id}").json()["start"]
    target = card.locator(".reschedule .slot").nth(1)
    target.click()
    # nothing moves before the patient confirms, from the old time to the new one
    confirm = card.locator(".move-confirm")
    expect(confirm).to_contain_text("Déplacer le rendez-vous du")
    screenshot(page, "reschedule-confirm")
    still = page.request.get(f"/api/v1/appointments/{appointment_id}").json()["start"]
    assert still == booked_at
    confirm.get_by_role("button", name="Confirmer le déplacement").click()
    expect(page.locator("#notice")).to_contain_text("Rendez-vous déplacé")
    moved = page.locator(f'[data-appointment="{appointment_id}"]')
    expect(moved.locator("h3")).not_to_have_text(before or "")
    expect(moved.locator(".status")).to_have_text("Confirmé")
    screenshot(page, "rescheduled")
    # the API agrees: same appointment, the chosen start
    current = page.request.get(f"/api/v1/appointments/{appointment_id}").json()
    assert datetime.fromisoformat(current["start"]) == datetime.fromisoformat(slots[1]["start"])
    assert current["status"] == "booked"
    # the patient is told, with a calendar update of the same event: same UID, SEQUENCE raised,
    # the new time; the appointment's own .ics download agrees
    told = wait_for_mail(server, person.email, "Rendez-vous déplacé")
    (invite,) = [p for p in told.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert invite.get_param("method") == "REQUEST"
    (event,) = icalendar.Calendar.from_ical(invite.get_content()).walk("VEVENT")
    downloaded = page.request.get(f"/api/v1/appointments/{appointment_id}.ics")
    assert downloaded.status == 200
    (saved,) = icalendar.Calendar.from_ical(downloaded.body()).walk("VEVENT")
    assert str(event["UID"]) == str(saved["UID"])
    assert int(event.decoded("SEQUENCE")) == int(saved.decoded("SEQUENCE")) == 1
    assert event.decoded("DTSTART") == datetime.fromisoformat(current["start"])


def test_change_password_keeps_this_session_and_ends_the_others(
    page: Any, browser: Any, server: Server, watch: Watch
) -> None:
    person = new_person(server)
    other_context = new_context(browser, server, watch)
    other = other_context.new_page()
    sign_in(other, person.email, person.password)
    sign_in(page, person.email, person.password)
    page.get_by_role("link", name="Sécurité").click()
    form = page.locator("section[aria-labelledby=password-title]")
    expect(form.get_by_role("heading", level=2)).to_have_text("Changer le mot de passe")
    current = form.get_by_label("Mot de passe actuel")
    new = form.get_by_label("Nouveau mot de passe", exact=True)
    again = form.get_by_label("Nouveau mot de passe, une seconde fois")
    submit = form.get_by_role("button", name="Changer le mot de passe")

    # a wrong current password, two different new ones, a common one: each says why
    current.fill("Not-My-Password-At-All-1")
    new.fill(NEW_PASSWORD)
    again.fill(NEW_PASSWORD)
    submit.click()
    expect(page.locator("#notice")).to_contain_text("Le mot de passe actuel est incorrect")
    expect(current).to_have_attribute("aria-invalid", "true")
    current.fill(person.password)
    again.fill(NEW_PASSWORD + "x")
    submit.click()
    expect(page.locator("#notice")).to_contain_text(
        "Les deux saisies du nouveau mot de passe diffèrent"
    )
    expect(again).to_be_focused()
    screenshot(page, "password-change-error")
    new.fill("password1234")
    again.fill("password1234")
    submit.click()
    expect(page.locator("#notice")).to_contain_text("trop faible ou trop courant")

    new.fill(NEW_PASSWORD)
    again.fill(NEW_PASSWORD)
    submit.click()
    expect(page.locator("#notice")).to_contain_text("Mot de passe changé")
    sessions = page.locator("section[aria-labelledby=sessions-title] li.card")
    expect(sessions).to_have_count(1)

    # the other browser is signed out; this one is not
    other.reload()
    expect(other.get_by_role("heading", level=1)).to_have_text("Connexion requise")
    other_context.close()
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sécurité du compte")

    # the old password no longer works, the new one does
    sign_out(page)
    _login_form(page, person.email, person.password)
    expect(page.locator("#notice")).to_contain_text("Adresse e-mail ou mot de passe incorrect")
    sign_in(page, person.email, NEW_PASSWORD)


def test_appointments_show_the_practitioners_local_time(page: Any, server: Server) -> None:
    """The browser is in Paris, the practice in Nouméa (UTC+11): the card gives Nouméa's time and
    says so, as the API's ``timezone`` field tells it to."""
    _doctor, practitioner_id, reason_id = listed_practitioner(
        server, "Dr Tane Wakolo", timezone="Pacific/Noumea"
    )
    person = new_person(server)
    appointment_id = book_via_api(server, person, practitioner_id, reason_id, nth=4)
    sign_in(page, person.email, person.password)
    appointment = page.request.get(f"/api/v1/appointments/{appointment_id}").json()
    assert appointment["timezone"] == "Pacific/Noumea"
    local = datetime.fromisoformat(appointment["start"])
    card = page.locator(f'[data-appointment="{appointment_id}"] h3')
    expect(card).to_contain_text(f"{local:%H:%M}")
    expect(card).to_contain_text("heure de Pacific/Noumea")
    # 09:00 in Nouméa is 23:00 the day before in Paris: the Paris time must not be what it shows
    paris = local.astimezone(ZoneInfo("Europe/Paris"))
    expect(card).not_to_contain_text(f"{paris:%H:%M}")


def test_download_my_data_as_json_and_as_fhir(
    page: Any, server: Server, practitioner: tuple[str, str]
) -> None:
    """GDPR art. 15 and 20 from the patient's space: the download asks for the password and a code
    first (a download cannot answer a 403), then saves the whole export; the FHIR one is a valid
    R4 Bundle of the same appointment."""
    person = new_person(server)
    appointment_id = book_via_api(server, person, *practitioner)
    sign_in(page, person.email, person.password)
    page.get_by_role("link", name="Mes données").click()
    expect(page.get_by_role("heading", name="Télécharger mes données")).to_be_visible()
    page.get_by_role("link", name="Télécharger mes données (JSON)").click()
    dialog = page.locator("dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Mot de passe").fill(person.password)
    dialog.get_by_label(re.compile("Code à 6 chiffres")).fill(authenticator(person.email).code())
    with page.expect_download() as download:
        dialog.get_by_role("button", name="Confirmer").click()
    expect(dialog).to_have_count(0)
    assert re.fullmatch(r"erdv-export-\d{8}\.json", download.value.suggested_filename)
    data = json.loads(Path(download.value.path()).read_text())
    assert data["account"]["email"] == person.email
    assert [a["id"] for a in data["appointments"]] == [appointment_id]
    screenshot(page, "export")

    # within the re-authentication window the next download starts at once
    with page.expect_download() as fhir:
        page.get_by_role("link", name=re.compile("format FHIR")).click()
    bundle = Bundle.model_validate_json(Path(fhir.value.path()).read_text())
    appointments = resources_of(bundle, Appointment)
    assert [a.id for a in appointments] == [appointment_id]
    # both downloads are in the patient's own access log, in words
    page.reload()
    log = page.get_by_role("region", name="Qui a consulté mes données")
    expect(log.get_by_text("export de vos données")).to_have_count(2)


def test_delete_my_account_from_the_security_page(
    page: Any, server: Server, practitioner: tuple[str, str]
) -> None:
    """GDPR art. 17 from the patient's space: the box to tick, the password and a code again, the
    home page; the practice is told of the cancelled visit, the last mail says what went, and the
    address no longer signs in."""
    person = new_person(server)
    book_via_api(server, person, *practitioner)
    sign_in(page, person.email, person.password)
    page.get_by_role("link", name="Sécurité").click()
    region = page.get_by_role("region", name="Supprimer mon compte")
    expect(region).to_contain_text("sans votre nom")
    region.get_by_role("button", name="Supprimer mon compte").click()
    expect(page.locator("#notice")).to_contain_text("Cochez d'abord la case")
    region.get_by_label("Je comprends que mon compte sera supprimé définitivement").check()
    screenshot(page, "delete-account")
    region.get_by_role("button", name="Supprimer mon compte").click()
    dialog = page.locator("dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Mot de passe").fill(person.password)
    dialog.get_by_label(re.compile("Code à 6 chiffres")).fill(authenticator(person.email).code())
    dialog.get_by_role("button", name="Confirmer").click()
    expect(page.locator("#notice")).to_contain_text("Votre compte est supprimé")
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("link", name="Se connecter").first).to_be_visible()
    screenshot(page, "account-deleted")
    last = wait_for_mail(server, person.email, "Votre compte erdv est supprimé")
    assert "sans votre nom" in mail_text(last, ("plain",))
    wait_for_mail(server, person.email, "Rendez-vous annulé")

    _login_form(page, person.email, person.password)
    expect(page.get_by_role("alert").or_(page.locator("#notice"))).to_contain_text(
        "Adresse e-mail ou mot de passe incorrect"
    )


def test_rectify_my_name_and_phone(page: Any, server: Server) -> None:
    """GDPR art. 16 from the patient's space: a number that is not one is refused in words, a good
    one is kept in E.164, and the new name is what the API and the header show."""
    person = new_person(server)
    sign_in(page, person.email, person.password)
    page.get_by_role("link", name="Sécurité").click()
    region = page.get_by_role("region", name="Mon profil")
    expect(region).to_contain_text(person.email)
    region.get_by_label("Téléphone").fill("12")
    region.get_by_role("button", name="Enregistrer mon profil").click()
    expect(page.locator("#notice")).not_to_contain_text("Profil enregistré")
    expect(page.locator("#notice")).to_be_visible()
    region.get_by_label("Nom complet").fill("Sacha Lambert-Nguyen")
    region.get_by_label("Téléphone").fill("06 12 34 56 78")
    region.get_by_role("button", name="Enregistrer mon profil").click()
    expect(page.locator("#notice")).to_contain_text("Profil enregistré")
    expect(region.get_by_label("Téléphone")).to_have_value("+33612345678")
    screenshot(page, "profile")
    me = page.request.get("/api/v1/me").json()
    assert (me["full_name"], me["phone"]) == ("Sacha Lambert-Nguyen", "+33612345678")


def test_move_my_account_to_another_address(page: Any, server: Server) -> None:
    """GDPR art. 16 for the address: asked from the profile (password and code again), confirmed
    from the link mailed to the new address, told to the old one; the new one signs in."""
    person = new_person(server)
    sign_in(page, person.email, person.password)
    page.get_by_role("link", name="Sécurité").click()
    region = page.get_by_role("region", name="Mon profil")
    new = f"moved.{person.email}"
    region.get_by_label("Nouvelle adresse e-mail").fill(new)
    region.get_by_role("button", name="Changer d'adresse").click()
    dialog = page.locator("dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Mot de passe").fill(person.password)
    dialog.get_by_label(re.compile("Code à 6 chiffres")).fill(authenticator(person.email).code())
    dialog.get_by_role("button", name="Confirmer").click()
    expect(page.locator("#notice")).to_contain_text(f"Un lien de confirmation a été envoyé à {new}")
    wait_for_mail(server, person.email, "Un changement de votre adresse erdv a été demandé")
    token = wait_for_mail_token(server, new, "confirm-email")
    page.goto(f"/confirm-email#token={token}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Nouvelle adresse e-mail")
    expect(page.locator("main")).to_contain_text("Votre nouvelle adresse est enregistrée")
    assert "token" not in page.url
    screenshot(page, "email-changed")
    wait_for_mail(server, person.email, "Votre adresse erdv a changé")
    assert page.request.get("/api/v1/me").json()["email"] == new
    # the next sign-in is with the new address (once the app shows the sign-out done: a sign-in
    # page opened while the logout is in flight still finds the session and sends the person home)
    sign_out(page)
    _login_form(page, new, person.password)
    expect(page.get_by_label(re.compile("Code à 6 chiffres"))).to_be_visible()


def test_a_page_asked_twice_is_shown_once(page: Any, server: Server) -> None:
    """Two renders of one page overlap when its link is clicked twice (in CI: a sign-in landing on
    "Mes rendez-vous" while the person already clicked it): each used to append its sections to
    the same <main> after its requests came back, so the page showed two "Mes proches", two forms
    with one id. Each render now fills a <main> of its own."""
    person = new_person(server)
    sign_in(page, person.email, person.password)
    page.get_by_role("link", name="Mes rendez-vous").dblclick()
    page.wait_for_load_state("networkidle")
    expect(page.get_by_role("heading", level=1)).to_have_count(1)
    expect(page.get_by_role("region", name="Mes proches")).to_have_count(1)
    expect(page.locator("#add-relative")).to_have_count(1)
    expect(page.locator("main")).to_have_count(1)
    # the page still works: the form it shows is the one in the document
    region = page.get_by_role("region", name="Mes proches")
    region.get_by_label("Nom complet du proche").fill("Léo Benali")
    region.get_by_label("Date de naissance").fill("2019-04-02")
    region.get_by_role("button", name="Ajouter ce proche").click()
    expect(page.locator("#notice")).to_contain_text("Léo Benali fait partie de vos proches.")


def test_book_for_a_relative(page: Any, server: Server) -> None:
    """A parent adds a child to their relatives, books for the child from the practitioner's page
    ("Pour qui ?"), sees the visit in the child's name; the practice's agenda shows the child."""
    doctor, practitioner_id, _reason = listed_practitioner(server, "Dr Anna Kovac")
    person = new_person(server, full_name="Nadia Benali")
    with Api(server) as api:
        api.sign_in(person)
        api.grant("privacy-notice")
    sign_in(page, person.email, person.password)
    page.get_by_role("link", name="Mes rendez-vous").click()
    region = page.get_by_role("region", name="Mes proches")
    expect(region).to_contain_text("Aucun proche pour l'instant.")
    region.get_by_label("Nom complet du proche").fill("Léo Benali")
    region.get_by_label("Date de naissance").fill("2019-04-02")
    region.get_by_role("button", name="Ajouter ce proche").click()
    expect(page.locator("#notice")).to_contain_text("Léo Benali fait partie de vos proches.")
    region = page.get_by_role("region", name="Mes proches")
    expect(region).to_contain_text("Né(e) le 2 avril 2019")
    screenshot(page, "relatives")

    page.goto(f"/practitioners/{practitioner_id}")
    slot = page.locator(".slot").nth(3)
    slot.click()
    box = page.get_by_role("region", name="Confirmer le rendez-vous")
    whom = box.get_by_label("Pour qui ?")
    expect(whom).to_be_visible()
    whom.select_option(label="Léo Benali")
    screenshot(page, "book-for-relative")
    box.get_by_role("button", name="Confirmer le rendez-vous").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes rendez-vous")
    card = page.locator("section[aria-labelledby=upcoming-title] [data-appointment]").first
    expect(card).to_contain_text("Pour : Léo Benali")
    expect(card).to_contain_text("Dr Anna Kovac")

    with Api(server) as api:
        api.sign_in(doctor)
        start = datetime.now().astimezone()
        window = urlencode(
            {"from": start.isoformat(), "to": (start + timedelta(days=8)).isoformat()}
        )
        agenda = api.call("GET", f"/api/v1/me/agenda?{window}")
    assert [a["patient"]["full_name"] for a in agenda] == ["Léo Benali"]
