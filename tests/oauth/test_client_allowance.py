"""Issue 20, item 3: failed client authentication at the token, revocation and introspection
endpoints spends nothing of the real client's allowance, and is throttled in buckets of its own."""

from __future__ import annotations

import base64

import httpx
import pytest
from fastapi import FastAPI

from tests.factories import People, Person
from tests.oauth.conftest import register_client

ENDPOINTS = ("/oauth/token", "/oauth/revoke", "/oauth/introspect")


def _basic(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


async def _client_credentials(
    http: httpx.AsyncClient, client_id: str, secret: str
) -> httpx.Response:
    return await http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "slots:read"},
        headers=_basic(client_id, secret),
    )


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_wrong_secrets_do_not_lock_the_real_client_out(
    app: FastAPI, people: People, admin: Person, endpoint: str
) -> None:
    registered = await register_client(admin, grants=["client_credentials"], scopes=["slots:read"])
    app.state.settings = app.state.settings.model_copy(
        update={"oauth_token_requests_per_minute": 5, "throttle_ip_free_failures": 3}
    )
    attacker = people.client(ip="203.0.113.7")
    statuses = []
    for _ in range(12):  # far past the client's allowance of 5
        answer = await attacker.post(
            endpoint,
            data={"token": "x", "grant_type": "client_credentials"},
            headers=_basic(registered.client_id, "erdv_cs_wrong"),
        )
        statuses.append(answer.status_code)
    # failed attempts are still throttled: per address and per claimed id
    assert statuses[0] == 401
    assert 429 in statuses, statuses
    assert set(statuses) <= {401, 429}
    # form-posted credentials, too
    posted = await attacker.post(
        endpoint,
        data={"client_id": registered.client_id, "client_secret": "wrong", "token": "x"},
    )
    assert posted.status_code == 429, posted.text

    # the real client, from its own address, still has its whole allowance
    real = people.client(ip="198.51.100.20")
    answers = [
        await _client_credentials(real, registered.client_id, registered.client_secret)
        for _ in range(5)
    ]
    assert [a.status_code for a in answers] == [200] * 5, [a.text for a in answers]
    # and it is the client's own allowance that runs out, not the attacker's
    spent = await _client_credentials(real, registered.client_id, registered.client_secret)
    assert spent.status_code == 429


async def test_a_claimed_id_is_throttled_from_every_address(
    app: FastAPI, people: People, admin: Person
) -> None:
    registered = await register_client(admin, grants=["client_credentials"], scopes=["slots:read"])
    statuses = []
    for n in range(10):  # a new address each time: only the claimed id's bucket holds them
        attacker = people.client(ip=f"203.0.113.{n + 1}")
        answer = await _client_credentials(attacker, registered.client_id, "wrong")
        statuses.append(answer.status_code)
    assert statuses[:5] == [401] * 5
    assert 429 in statuses
    real = people.client(ip="198.51.100.20")
    ok = await _client_credentials(real, registered.client_id, registered.client_secret)
    assert ok.status_code == 200, ok.text
