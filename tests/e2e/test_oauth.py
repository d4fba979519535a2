"""The OAuth consent page in a real browser, and the connected app's revocation by the patient.

A platform registered with the CLI sends a patient (not signed in yet) to ``/oauth/authorize`` with
PKCE S256; the patient signs in, comes back to the consent page, denies once (the default), then
approves; the platform swaps the code for tokens; the patient withdraws the app on "Mes données" and
the platform's tokens stop working at once.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import (
    CallbackServer,
    Server,
    Watch,
    axe_violations,
    new_context,
    new_person,
    reflow_problems,
    screenshot,
    sign_in,
)

ACCENT = "rgb(11, 79, 156)"  # --accent in static/style.css


@pytest.fixture(scope="module")
def callback() -> Iterator[CallbackServer]:
    """The platform's own server, on another port: another origin, as in real life."""
    served = CallbackServer()
    yield served
    served.close()


@pytest.fixture(scope="module")
def platform(server: Server, callback: CallbackServer) -> dict[str, str]:
    """An enabled client whose redirect URI is the platform's server (no request leaves
    127.0.0.1)."""
    created = json.loads(
        server.cli(
            "oauth",
            "create-client",
            "--name",
            "Agenda Santé Test",
            "--redirect-uri",
            callback.url,
            "--grant",
            "authorization_code",
            "--grant",
            "refresh_token",
            "--scope",
            "appointments:read",
            "--scope",
            "slots:read",
        )
    )
    server.cli("oauth", "enable", created["client_id"])
    return {**created, "redirect_uri": callback.url}


def _authorize_url(platform: dict[str, str]) -> tuple[str, str, str]:
    """An authorization request with PKCE S256: (url, state, code_verifier)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    state = secrets.token_urlsafe(16)
    query = urlencode(
        {
            "response_type": "code",
            "client_id": platform["client_id"],
            "redirect_uri": platform["redirect_uri"],
            # two scopes, so the space between them is a '+' (urlencode, as most clients send
            # it): the sign-in's way back must keep it one (it once became a literal '%2B')
            "scope": "appointments:read slots:read",
            "state": state,
            "code_challenge": challenge.decode(),
            "code_challenge_method": "S256",
        }
    )
    return f"/oauth/authorize?{query}", state, verifier


def _arrived(page: Any, callback: CallbackServer, count: int) -> dict[str, str]:
    """What the platform's server received, with the browser now showing its page."""
    received = callback.wait_for(count)
    page.wait_for_url(re.compile(r"^http://127\.0\.0\.1:\d+/cb\?"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Back on the platform")
    return received


def test_consent_page_authorize_then_revoke_the_app(
    page: Any,
    browser: Any,
    server: Server,
    watch: Watch,
    platform: dict[str, str],
    callback: CallbackServer,
    axe_path: Path,
) -> None:
    person = new_person(server, full_name="Noémie Blanc")
    url, state, _verifier = _authorize_url(platform)

    # not signed in: a page in the site's shell sends the patient to sign in, then back here
    page.goto(url)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Connexion requise")
    expect(page.get_by_role("banner")).to_be_visible()
    expect(page.get_by_role("contentinfo")).to_contain_text("Charte e-RDV")
    screenshot(page, "oauth-sign-in-required")
    page.get_by_role("link", name=re.compile("^Se connecter")).click()
    expect(page.locator("#oauth-return")).to_contain_text("Une application demande l'accès")
    sign_in_form = page.locator("main form")
    sign_in_form.get_by_label("Adresse e-mail").fill(person.email)
    sign_in_form.get_by_label("Mot de passe").fill(person.password)
    page.get_by_role("button", name="Continuer").click()
    page.locator("#mfa-code").fill(person.code())
    page.get_by_role("button", name="Valider").click()

    # the consent page: client, account, scope in plain words, duration, destination
    expect(page.get_by_role("heading", level=1)).to_contain_text("Autoriser une application")
    assert page.url.endswith(url)
    request = page.get_by_role("region", name=re.compile("Agenda Santé Test demande"))
    expect(request).to_contain_text("Noémie Blanc")
    expect(request).to_contain_text("Voir vos rendez-vous")
    expect(request).to_contain_text("appointments:read")
    expect(request).to_contain_text("slots:read")
    expect(request).to_contain_text("Durée : jusqu'à")
    expect(request).to_contain_text(urlsplit(callback.url).netloc)
    # the site's stylesheet, not a bare page
    deny = page.get_by_role("button", name=re.compile("^Refuser"))
    approve = page.get_by_role("button", name=re.compile("^Autoriser"))
    assert deny.evaluate("b => getComputedStyle(b).backgroundColor") == ACCENT
    assert approve.evaluate("b => getComputedStyle(b).borderTopColor") == ACCENT
    screenshot(page, "oauth-consent")
    page.set_viewport_size({"width": 320, "height": 700})
    assert not reflow_problems(page)
    page.set_viewport_size({"width": 1280, "height": 900})

    # deny is the default: focused on arrival, Enter denies
    expect(deny).to_be_focused()
    page.keyboard.press("Enter")
    denied = _arrived(page, callback, 1)
    assert denied["error"] == "access_denied"
    assert denied["state"] == state
    assert "code" not in denied

    # approve with the keyboard alone: Tab from deny to approve, Enter
    url, state, verifier = _authorize_url(platform)
    page.goto(url)
    expect(deny).to_be_focused()
    page.keyboard.press("Tab")
    expect(approve).to_be_focused()
    page.keyboard.press("Enter")
    answer = _arrived(page, callback, 2)
    assert answer["state"] == state
    assert answer["iss"] == server.url
    with httpx.Client(base_url=server.url) as http:
        tokens = http.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": answer["code"],
                "redirect_uri": platform["redirect_uri"],
                "code_verifier": verifier,
            },
            auth=(platform["client_id"], platform["client_secret"]),
        )
        assert tokens.status_code == 200, tokens.text
        bearer = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
        assert http.get("/api/v1/me/appointments", headers=bearer).status_code == 200

        # the patient sees the app and withdraws it
        page.goto("/account/privacy")
        apps = page.locator("section[aria-labelledby=apps-title]")
        card = apps.locator("li.card", has_text="Agenda Santé Test")
        expect(card).to_contain_text("Accès\u00a0: lire vos rendez-vous")
        card.get_by_role("button", name="Retirer l'accès").click()
        expect(page.locator("#notice")).to_contain_text("Agenda Santé Test n'a plus accès")
        expect(apps).to_contain_text("Aucune application n'a accès à votre compte")

        # the platform's tokens died with the consent
        revoked = http.get("/api/v1/me/appointments", headers=bearer)
        assert revoked.status_code == 401
        assert revoked.json()["code"] == "invalid_token"
        refreshed = http.post(
            "/oauth/token",
            data={"grant_type": "refresh_token", "refresh_token": tokens.json()["refresh_token"]},
            auth=(platform["client_id"], platform["client_secret"]),
        )
        assert refreshed.status_code == 400

    # axe on the consent page and the sign-in page (a context that lets axe's script in)
    scan = new_context(browser, server, watch, bypass_csp=True)
    scanner = scan.new_page()
    problems = []
    url, _state, _verifier = _authorize_url(platform)
    scanner.goto(url)
    problems += [f"sign-in page: {v}" for v in axe_violations(scanner, axe_path)]
    sign_in(scanner, person.email, person.password)
    scanner.goto(url)
    expect(scanner.get_by_role("heading", level=1)).to_contain_text("Autoriser une application")
    problems += [f"consent page: {v}" for v in axe_violations(scanner, axe_path)]
    scan.close()
    assert not problems, "\n".join(problems)
