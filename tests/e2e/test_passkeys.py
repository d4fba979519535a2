"""A patient adds a passkey, signs out, signs in with it (no password), books, and uses it as the
second factor after the password.

The authenticator is Chromium's DevTools virtual authenticator (``WebAuthn.addVirtualAuthenticator``:
CTAP2, internal, discoverable credentials, user verification). WebAuthn takes a domain as the
relying party id, never an IP address (Chromium answers ``SecurityError: This is an invalid
domain``), so this module runs its own ``erdv serve`` with ``ERDV_PUBLIC_URL=http://localhost:<port>``
rather than the session's server on 127.0.0.1 (``tests/e2e/conftest.py``); ``localhost`` is a secure
context, as WebAuthn requires.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import (
    Server,
    Watch,
    authenticator,
    new_context,
    new_person,
    screenshot,
    served,
    wait_for_mail,
)


@pytest.fixture(scope="module")
def localhost_server(browser_available: None) -> Iterator[Server]:
    """``erdv serve`` on 127.0.0.1, known to itself and to the browser as ``localhost``."""
    with served("localhost", "erdv-e2e-passkeys-") as srv:
        yield srv


@pytest.fixture
def passkey_page(browser: Any, localhost_server: Server) -> Iterator[tuple[Any, Any]]:
    """A page on ``localhost`` with a virtual authenticator attached; no console error, no
    request leaving the server (``Watch``, with ``localhost`` as the only host)."""
    watch = Watch()
    context = new_context(browser, localhost_server, watch)
    page = context.new_page()
    page.set_default_timeout(15_000)
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )
    yield page, (cdp, added["authenticatorId"])
    context.close()
    foreign = [
        u
        for u in watch.requests
        if urlsplit(u).hostname not in {"localhost", None}
        and not u.startswith(("data:", "blob:", "about:"))
    ]
    assert not foreign, f"requests left localhost: {foreign}"
    assert not watch.console, f"console errors or CSP violations: {watch.console}"


def test_a_patient_adds_a_passkey_signs_in_with_it_and_books(
    passkey_page: tuple[Any, Any], localhost_server: Server
) -> None:
    page, (cdp, authenticator_id) = passkey_page
    person = new_person(localhost_server, full_name="Noé Passkey")

    # password and TOTP once, then the security page
    page.goto("/login")
    expect(page.get_by_role("button", name="Se connecter avec une clé d'accès")).to_be_visible()
    screenshot(page, "passkey-login")
    page.get_by_label("Adresse e-mail").fill(person.email)
    page.get_by_label("Mot de passe").fill(person.password)
    page.get_by_role("button", name="Continuer").click()
    expect(page.locator("#mfa-code")).to_be_visible()
    # no passkey yet: the second-factor step offers one, and the API says there is none
    expect(page.get_by_role("button", name="Utiliser une clé d'accès")).to_be_visible()
    screenshot(page, "passkey-mfa-step")
    page.locator("#mfa-code").fill(authenticator(person.email).code())
    page.get_by_role("button", name="Valider").click()
    page.get_by_role("button", name="Se déconnecter").wait_for()

    page.goto("/account/security")
    expect(page.locator("#passkeys")).to_contain_text("Aucune clé d'accès pour l'instant.")
    page.get_by_label("Nom de la clé").fill("Ordinateur portable")
    page.get_by_role("button", name="Ajouter une clé d'accès").click()
    # registering needs a recent re-authentication: password and code again
    dialog = page.locator("dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Mot de passe").fill(person.password)
    dialog.get_by_label(re.compile("Code à 6 chiffres")).fill(authenticator(person.email).code())
    dialog.get_by_role("button", name="Confirmer").click()
    expect(page.locator("#notice")).to_contain_text("Clé d'accès ajoutée.")
    card = page.locator("[data-passkey]")
    expect(card).to_have_count(1)
    expect(card).to_contain_text("Ordinateur portable")
    expect(card).to_contain_text("jamais utilisée")
    screenshot(page, "passkey-added")
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})
    (credential,) = credentials["credentials"]
    assert credential["isResidentCredential"] is True
    assert credential["rpId"] == "localhost"
    wait_for_mail(
        localhost_server, person.email, "Une clé d'accès a été ajoutée à votre compte erdv"
    )

    # rename it
    card.get_by_role("button", name="Renommer").click()
    card.get_by_label("Nom de la clé").fill("Mon ordinateur")
    card.get_by_role("button", name="Enregistrer").click()
    expect(page.locator("#notice")).to_contain_text("Clé d'accès renommée.")
    expect(page.locator("[data-passkey] h3")).to_have_text("Mon ordinateur")

    # sign out, then in with the passkey alone: no email, no password, no code
    page.get_by_role("button", name="Se déconnecter").first.click()
    expect(page.get_by_role("link", name="Se connecter").first).to_be_visible()
    page.goto("/login")
    page.get_by_role("button", name="Se connecter avec une clé d'accès").click()
    page.get_by_role("button", name="Se déconnecter").wait_for()
    expect(page.locator("#notice")).to_contain_text("Bienvenue, Noé Passkey.")
    screenshot(page, "passkey-signed-in")

    # and book, as any signed-in patient
    page.get_by_role("link", name="Rechercher").click()
    page.get_by_label("Nom").fill("Bernard")
    page.get_by_role("button", name="Rechercher", exact=True).click()
    page.get_by_role("link", name="Dr Alix Bernard", exact=True).click()
    page.locator(".slot").first.wait_for()
    page.get_by_role("button", name="Semaine suivante").click()
    page.locator(".slot").first.click()
    page.locator("#confirm-booking").click()
    page.get_by_label("J'ai lu cette notice d'information").check()
    page.locator("#consent-accept").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes rendez-vous")
    expect(page.locator("#notice")).to_contain_text("Rendez-vous confirmé")
    expect(page.locator("[data-appointment]").first).to_contain_text("Dr Alix Bernard")

    # the security page now says when the passkey was last used
    page.goto("/account/security")
    expect(page.locator("[data-passkey]")).to_contain_text("dernière utilisation")
    screenshot(page, "passkey-security")

    # the passkey also serves as the second factor after the password
    page.get_by_role("button", name="Se déconnecter").first.click()
    expect(page.get_by_role("link", name="Se connecter").first).to_be_visible()
    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(person.email)
    page.get_by_label("Mot de passe").fill(person.password)
    page.get_by_role("button", name="Continuer").click()
    page.get_by_role("button", name="Utiliser une clé d'accès").click()
    page.get_by_role("button", name="Se déconnecter").wait_for()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes rendez-vous")

    # a sensitive change asks to confirm the identity: the passkey does it, no password, no code
    page.goto("/account/security")
    page.locator("[data-passkey]").get_by_role("button", name="Retirer").click()
    dialog = page.locator("dialog")
    expect(dialog).to_be_visible()
    offer = dialog.get_by_role("button", name="Utiliser une clé d'accès")
    expect(offer).to_be_visible()
    screenshot(page, "passkey-reauth")
    offer.click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#notice")).to_contain_text("Clé d'accès retirée.")
    expect(page.locator("[data-passkey]")).to_have_count(0)
    wait_for_mail(
        localhost_server, person.email, "Une clé d'accès a été retirée de votre compte erdv"
    )
