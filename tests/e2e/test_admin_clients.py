"""An admin registers OAuth clients one after the other on the same page: the form goes back to its
defaults (the authorization code and refresh token grants ticked) and the list shows each new
client at once, the secret staying on screen until the admin has copied it."""

from __future__ import annotations

import re
import uuid
from typing import Any

from playwright.sync_api import expect

from tests.e2e.conftest import DEMO_PASSWORD, authenticator, screenshot, sign_in

ADMIN = "admin@demo.erdv.localhost"


def _client_post(response: Any) -> bool:
    return bool(
        response.url.endswith("/api/v1/admin/oauth/clients") and response.request.method == "POST"
    )


def _create_client(page: Any, name: str) -> str:
    """Fills and sends the form (re-authenticating if asked); returns the new client's id."""
    page.locator("#client-name").fill(name)
    page.locator("#client-redirects").fill("https://platform.example/callback")
    page.get_by_label(re.compile(r"^slots:read")).check()
    with page.expect_response(_client_post) as answer:
        page.locator("#create-client").click()
    if answer.value.status != 201 and answer.value.json().get("code") == "reauth_required":
        dialog = page.locator("dialog")
        expect(dialog).to_be_visible()
        dialog.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
        dialog.get_by_label(re.compile("Code à 6 chiffres")).fill(authenticator(ADMIN).code())
        with page.expect_response(_client_post) as answer:
            dialog.get_by_role("button", name="Confirmer").click()
    assert answer.value.status == 201, f"{name}: {answer.value.status} {answer.value.text()}"
    client_id = str(answer.value.json()["client_id"])
    expect(page.locator("#new-client-id")).to_have_text(client_id)
    expect(page.locator("#new-client-secret")).not_to_be_empty()
    return client_id


def test_two_clients_in_a_row_each_listed_at_once(page: Any) -> None:
    sign_in(page, ADMIN)
    page.get_by_role("link", name="Clients OAuth").click()
    listed = page.locator("section[aria-labelledby=clients-list]")
    grants = page.locator("section[aria-labelledby=clients-new] input.grant")
    expect(grants).to_have_count(3)

    first_name = f"Plateforme A {uuid.uuid4().hex[:6]}"
    first = _create_client(page, first_name)
    # listed right away, the secret still shown above the form
    card = listed.locator(f'[data-client="{first}"]')
    expect(card).to_contain_text(first_name)
    expect(card).to_contain_text("authorization_code, refresh_token")
    expect(page.locator("#new-client-id")).to_have_text(first)
    # the form is back to its defaults, the default grants ticked again
    expect(page.locator("#client-name")).to_have_value("")
    expect(page.get_by_label("authorization_code", exact=True)).to_be_checked()
    expect(page.get_by_label("refresh_token", exact=True)).to_be_checked()
    expect(page.get_by_label("client_credentials", exact=True)).not_to_be_checked()
    screenshot(page, "admin-clients-first")

    second_name = f"Plateforme B {uuid.uuid4().hex[:6]}"
    second = _create_client(page, second_name)
    assert second != first
    expect(listed.locator(f'[data-client="{second}"]')).to_contain_text(second_name)
    expect(listed.locator(f'[data-client="{first}"]')).to_contain_text(first_name)
    expect(listed).not_to_contain_text("Aucun client")
    screenshot(page, "admin-clients-second")

    # a double click makes one client: the button waits for the first answer
    third_name = f"Plateforme C {uuid.uuid4().hex[:6]}"
    page.locator("#client-name").fill(third_name)
    page.locator("#client-redirects").fill("https://platform.example/callback")
    page.get_by_label(re.compile(r"^slots:read")).check()
    page.locator("#create-client").dblclick()
    expect(listed).to_contain_text(third_name)
    page.wait_for_timeout(500)  # a second POST, were there one, would have answered by now
    clients = page.request.get("/api/v1/admin/oauth/clients").json()
    assert [c["name"] for c in clients].count(third_name) == 1
