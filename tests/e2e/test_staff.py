"""Practitioner and admin journeys, and booking with the keyboard alone."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.e2e.conftest import (
    DEMO_PASSWORD,
    Server,
    Watch,
    authenticator,
    new_context,
    screenshot,
    sign_in,
    wait_for_mail_token,
)
from tests.factories import valid_rpps

PATIENT = "patient@demo.erdv.localhost"
PRACTITIONER = "practitioner@demo.erdv.localhost"
ADMIN = "admin@demo.erdv.localhost"


def _open_practitioner(page: Any, name: str) -> None:
    page.goto("/")
    page.get_by_label("Nom").fill(name.split()[-1])
    page.get_by_role("button", name="Rechercher", exact=True).click()
    page.get_by_role("link", name=name, exact=True).click()
    expect(page.locator(".slot").first).to_be_visible()


def _book_first_slot(page: Any) -> str:
    """Books the first free slot shown; returns its start (RFC 3339)."""
    with page.expect_response(re.compile(r"/api/v1/practitioners/[^/]+/slots")) as answer:
        _open_practitioner(page, "Dr Alix Bernard")
    start = answer.value.json()[0]["start"]
    page.locator(".slot").first.click()
    page.locator("#confirm-booking").click()
    consent = page.locator("#consent-accept")
    heading = page.get_by_role("heading", level=1, name="Mes rendez-vous")
    expect(consent.or_(heading)).to_be_visible()
    if consent.is_visible():
        page.get_by_label("J'ai lu cette notice d'information").check()
        consent.click()
    expect(heading).to_be_visible()
    return str(start)


def test_practitioner_sets_hours_and_sees_a_booking(
    page: Any, browser: Any, server: Server, watch: Watch
) -> None:
    sign_in(page, PRACTITIONER)
    expect(page.get_by_role("heading", level=1)).to_have_text("Mon cabinet")
    expect(page.locator("#practice-status")).to_contain_text("validé")
    screenshot(page, "pro-practice")
    page.get_by_role("link", name="Horaires").click()
    blocks = page.locator("#hours-blocks li.block")
    page.locator("#add-block").wait_for()
    before = blocks.count()
    page.locator("#add-block").click()
    expect(blocks).to_have_count(before + 1)
    new = blocks.last
    new.get_by_label("Jour").select_option("6")
    new.get_by_label("Début").fill("09:00")
    new.get_by_label("Fin").fill("11:00")
    page.locator("#save-hours").click()
    expect(page.locator("#notice")).to_contain_text("Modifications enregistrées")
    page.reload()
    expect(blocks).to_have_count(before + 1)
    screenshot(page, "pro-hours")
    for section, title in [("Absences", "Absences"), ("Motifs", "Motifs de consultation")]:
        page.get_by_role("link", name=section, exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(title)

    # a patient books in another browser
    patient_context = new_context(browser, server, watch)
    patient = patient_context.new_page()
    sign_in(patient, PATIENT)
    start = _book_first_slot(patient)
    patient_context.close()

    page.goto(f"/pro/agenda?view=day&date={start[:10]}")
    expect(page.locator(".agenda")).to_contain_text("Camille Martin")
    page.get_by_role("button", name="Semaine").click()
    expect(page.locator(".agenda")).to_contain_text("Camille Martin")
    screenshot(page, "pro-agenda")


def test_admin_approves_a_practitioner_and_creates_an_oauth_client(
    page: Any, browser: Any, server: Server, watch: Watch
) -> None:
    # a practitioner signs up (with an RPPS number) and verifies the address
    email = f"dr.{valid_rpps()}@example.test"
    page.goto("/register")
    page.get_by_label("Professionnel ou professionnelle de santé").check()
    page.get_by_label("Nom complet").fill("Dr Jeanne Petit")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill("Copper-Walrus-Lantern-73")
    page.get_by_label("Numéro RPPS").fill(valid_rpps())
    page.get_by_role("button", name="Créer mon compte").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Vérifiez votre messagerie")
    page.goto(f"/verify-email#token={wait_for_mail_token(server, email)}")
    expect(page.locator("main")).to_contain_text("Votre adresse est vérifiée")

    admin_context = new_context(browser, server, watch)
    admin = admin_context.new_page()
    admin.set_default_timeout(15_000)
    sign_in(admin, ADMIN)
    expect(admin.get_by_role("heading", level=1)).to_have_text("Administration")
    row = admin.locator("section[aria-labelledby=pending-title] tr", has_text="Dr Jeanne Petit")
    expect(row).to_be_visible()
    screenshot(admin, "admin")
    row.get_by_role("button", name="Valider").click()
    expect(admin.locator("#notice")).to_contain_text("Dr Jeanne Petit est validé")
    pending = admin.locator("section[aria-labelledby=pending-title]")
    expect(pending.locator("tr", has_text="Dr Jeanne Petit")).to_have_count(0)
    approved = admin.locator("section[aria-labelledby=approved-title]")
    expect(approved.locator("tr", has_text="Dr Jeanne Petit")).to_contain_text("validé")
    admin.locator("#verify-chain").click()
    expect(admin.locator("#verify-result")).to_contain_text("Chaîne intègre")

    admin.get_by_role("link", name="Clients OAuth").click()
    admin.locator("#client-name").fill("Plateforme de test")
    admin.locator("#client-redirects").fill("https://platform.example/callback")
    admin.get_by_label(re.compile(r"^slots:read")).check()
    admin.locator("#create-client").click()
    # creating a client needs a fresh re-authentication
    dialog = admin.locator("dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    dialog.get_by_label(re.compile("Code à 6 chiffres")).fill(authenticator(ADMIN).code())
    dialog.get_by_role("button", name="Confirmer").click()
    expect(admin.locator("#new-client-secret")).not_to_be_empty()
    client_id = admin.locator("#new-client-id").text_content() or ""
    screenshot(admin, "admin-clients")
    admin.get_by_role("link", name="J'ai copié le secret").click()
    card = admin.locator(f'[data-client="{client_id}"]')
    expect(card).to_contain_text("Désactivé")
    card.get_by_role("button", name="Activer").click()
    expect(admin.locator(f'[data-client="{client_id}"]')).to_contain_text("Activé")
    admin_context.close()


def _tab_to(page: Any, selector: str, limit: int = 120) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(
            "(s) => document.activeElement && document.activeElement.matches(s)", selector
        ):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_keyboard_only_booking(page: Any) -> None:
    page.goto("/login")
    _tab_to(page, "input[type=email]")
    page.keyboard.type(PATIENT)
    page.keyboard.press("Tab")
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Enter")
    page.locator("#mfa-code").wait_for()
    _tab_to(page, "#mfa-code")
    page.keyboard.type(authenticator(PATIENT).code())
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes rendez-vous")
    page.goto("/")
    _tab_to(page, "input[name=q]")
    page.keyboard.type("Moreau")
    page.keyboard.press("Enter")
    expect(page.get_by_role("link", name="Dr Claire Moreau", exact=True)).to_be_visible()
    _tab_to(page, "a[href^='/practitioners/']")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Dr Claire Moreau")
    expect(page.locator(".slot").first).to_be_visible()
    _tab_to(page, "button.slot")
    page.keyboard.press("Enter")
    _tab_to(page, "#confirm-booking")
    page.keyboard.press("Enter")
    consent = page.locator("#consent-read")
    heading = page.get_by_role("heading", level=1, name="Mes rendez-vous")
    expect(consent.or_(heading)).to_be_visible()
    if consent.is_visible():
        _tab_to(page, "#consent-read")
        page.keyboard.press("Space")
        _tab_to(page, "#consent-accept")
        page.keyboard.press("Enter")
    expect(heading).to_be_visible()
    expect(page.locator("#notice")).to_contain_text("Rendez-vous confirmé")
    expect(page.locator("[data-appointment]", has_text="Dr Claire Moreau").first).to_be_visible()


def test_admin_export_asks_for_reauthentication_before_the_download(page: Any) -> None:
    """A download cannot answer a 403 reauth_required, so the link asks first; within the
    re-authentication window the next export downloads at once."""
    sign_in(page, ADMIN)
    link = page.get_by_role("link", name="Journal d'audit (NDJSON)")
    dialog = page.locator("dialog")
    link.click()
    expect(dialog).to_be_visible()
    screenshot(page, "reauth-dialog")
    dialog.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    dialog.get_by_label(re.compile("Code à 6 chiffres")).fill(authenticator(ADMIN).code())
    with page.expect_download() as audit:
        dialog.get_by_role("button", name="Confirmer").click()
    expect(dialog).to_have_count(0)
    # the audit trail itself, not a problem document saved under its name: entries, then the manifest
    lines = [json.loads(line) for line in Path(audit.value.path()).read_text().splitlines()]
    assert len(lines) > 1
    assert lines[0]["resourceType"] == "AuditEvent"
    assert lines[-1]["manifest"]["count"] == len(lines) - 1

    with page.expect_download() as consents:
        page.get_by_role("link", name="Journal des consentements (CSV)").click()
    expect(dialog).to_have_count(0)
    header = Path(consents.value.path()).read_text().splitlines()[0]
    assert "purpose_id" in header
