"""OAuth test helpers: a registered, enabled client and a patient who authorizes it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from fastapi import FastAPI

from tests.factories import People, Person

REDIRECT = "https://platform.example/callback"


@dataclass
class Registered:
    client_id: str
    client_secret: str


async def register_client(
    admin: Person,
    *,
    grants: list[str] | None = None,
    scopes: list[str] | None = None,
    enable: bool = True,
) -> Registered:
    body = {
        "name": "Agenda Plus",
        "redirect_uris": [REDIRECT],
        "grant_types": grants or ["authorization_code", "refresh_token"],
        "scopes": scopes or ["appointments:read", "appointments:write", "slots:read"],
    }
    response = await admin.post("/api/v1/admin/oauth/clients", json=body)
    assert response.status_code == 201, response.text
    data = response.json()
    assert data["enabled"] is False
    if enable:
        enabled = await admin.post(f"/api/v1/admin/oauth/clients/{data['client_id']}/enable")
        assert enabled.status_code == 200, enabled.text
    return Registered(data["client_id"], data["client_secret"])


@pytest.fixture(autouse=True)
def _insecure_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    # the test server speaks http://testserver; Authlib's *client* refuses http without this
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")


@pytest.fixture
async def admin(people: People) -> Person:
    person = await people.signed_in(role="admin")
    assert (await person.reauth()).status_code == 204
    return person


@pytest.fixture
async def registered(admin: Person) -> Registered:
    return await register_client(admin)


def oauth_client(app: FastAPI, registered: Registered, **kwargs: Any) -> AsyncOAuth2Client:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return AsyncOAuth2Client(
        client_id=registered.client_id,
        client_secret=registered.client_secret,
        redirect_uri=REDIRECT,
        code_challenge_method="S256",
        transport=transport,
        base_url="http://testserver",
        **kwargs,
    )


@pytest.fixture
async def platform(app: FastAPI, registered: Registered) -> AsyncIterator[AsyncOAuth2Client]:
    async with oauth_client(app, registered, scope="appointments:read slots:read") as client:
        yield client


def hidden_inputs(html: str) -> list[tuple[str, str]]:
    return [
        (unescape(name), unescape(value))
        for name, value in re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', html)
    ]


async def consent(patient: Person, authorize_url: str, decision: str = "approve") -> httpx.Response:
    """What the patient's browser does: open the consent page, press a button."""
    page = await patient.get(authorize_url)
    assert page.status_code == 200, page.text
    assert "<form" in page.text, page.text
    fields = hidden_inputs(page.text) + [("decision", decision)]
    response = await patient.client.post(
        "/oauth/authorize",
        content=urlencode(fields),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 303, response.text
    return response


def query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def authorize_url(platform: AsyncOAuth2Client, verifier: str) -> tuple[str, str]:
    url, state = platform.create_authorization_url(
        "http://testserver/oauth/authorize", code_verifier=verifier
    )
    return url.removeprefix("http://testserver"), state


async def get_tokens(platform: AsyncOAuth2Client, patient: Person) -> dict[str, Any]:
    """The whole code + PKCE flow through Authlib's own client."""
    verifier = generate_token(48)
    url, state = await authorize_url(platform, verifier)
    answer = await consent(patient, url)
    location = answer.headers["location"]
    assert location.startswith(REDIRECT)
    params = query(location)
    assert params["state"] == state
    assert params["iss"] == "http://testserver"
    token: dict[str, Any] = await platform.fetch_token(
        "/oauth/token", authorization_response=location, code_verifier=verifier
    )
    return token


__all__ = ["create_s256_code_challenge"]


def bearer(token: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {token['access_token']}"}


async def delegated_token(app: FastAPI, admin: Person, person: Person) -> dict[str, Any]:
    registered = await register_client(admin)
    scope = "appointments:read appointments:write slots:read"
    async with oauth_client(app, registered, scope=scope) as platform:
        return await get_tokens(platform, person)
