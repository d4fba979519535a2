"""Issue 20: redirect URIs carry no userinfo and no fragment, and use https except on loopback."""

from __future__ import annotations

import pytest

from tests.factories import Person
from tests.helpers.problems import assert_problem


def _client(redirect_uri: str) -> dict[str, object]:
    return {
        "name": "Agenda Plus",
        "redirect_uris": [redirect_uri],
        "grant_types": ["authorization_code"],
        "scopes": ["appointments:read"],
    }


@pytest.mark.parametrize(
    "refused",
    [
        "https://user:pw@platform.example/cb",
        "https://user@platform.example/cb",
        "https://platform.example@evil.example/cb",
        "https://platform.example/cb#fragment",
        "https://platform.example/cb#",
        "http://platform.example/cb",
        "http://192.0.2.1/cb",
        "ftp://platform.example/cb",
        "/cb",
        "https://platform.example:99999/cb",
    ],
)
async def test_unsafe_redirect_uris_are_refused(admin: Person, refused: str) -> None:
    answer = await admin.post("/api/v1/admin/oauth/clients", json=_client(refused))
    assert_problem(answer, 422, "validation_error")


@pytest.mark.parametrize(
    "accepted",
    [
        "https://platform.example/cb",
        "https://platform.example:8443/oauth/cb?tenant=1",
        "http://127.0.0.1:8765/cb",
        "http://localhost:8765/cb",
        "http://[::1]:8765/cb",
    ],
)
async def test_https_and_loopback_redirect_uris_are_accepted(admin: Person, accepted: str) -> None:
    answer = await admin.post("/api/v1/admin/oauth/clients", json=_client(accepted))
    assert answer.status_code == 201, answer.text
