"""One regression test per Authlib default erdv overrides (SECURITY.md, "OAuth 2 authorization
server")."""

from __future__ import annotations

import base64
from urllib.parse import urlencode

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.audit.models import AuditEntry
from app.oauth.models import OAuthClient, OAuthToken
from tests.factories import People, Person
from tests.oauth.conftest import (
    REDIRECT,
    Registered,
    authorize_url,
    consent,
    get_tokens,
    oauth_client,
    query,
    register_client,
)


def _params(registered: Registered, **extra: str) -> str:
    base = {
        "response_type": "code",
        "client_id": registered.client_id,
        "redirect_uri": REDIRECT,
        "scope": "appointments:read",
        "state": "xyz",
    }
    base.update(extra)
    return "/oauth/authorize?" + urlencode({k: v for k, v in base.items() if v})


async def test_missing_pkce_is_refused(people: People, registered: Registered) -> None:
    patient = await people.signed_in(role="patient")
    response = await patient.get(_params(registered))
    assert response.status_code == 303
    params = query(response.headers["location"])
    assert params["error"] == "invalid_request"
    assert params["state"] == "xyz"
    assert params["iss"] == "http://testserver"


async def test_plain_pkce_is_refused(people: People, registered: Registered) -> None:
    patient = await people.signed_in(role="patient")
    challenge = generate_token(48)
    response = await patient.get(
        _params(registered, code_challenge=challenge, code_challenge_method="plain")
    )
    assert response.status_code == 303
    assert query(response.headers["location"])["error"] == "invalid_request"
    # and no method at all is not taken as "plain"
    response = await patient.get(_params(registered, code_challenge=challenge))
    assert query(response.headers["location"])["error"] == "invalid_request"


async def test_wrong_redirect_uri_is_an_error_page_never_a_redirect(
    people: People, registered: Registered
) -> None:
    patient = await people.signed_in(role="patient")
    challenge = create_s256_code_challenge(generate_token(48))
    for uri in (REDIRECT + "/x", REDIRECT.replace("https", "http"), "https://evil.example/cb"):
        response = await patient.get(
            _params(
                registered, redirect_uri=uri, code_challenge=challenge, code_challenge_method="S256"
            )
        )
        assert response.status_code == 400
        assert "location" not in response.headers
        assert response.headers["content-type"].startswith("text/html")
    unknown = await patient.get(
        _params(Registered("erdv_client_unknown", ""), code_challenge=challenge)
    )
    assert unknown.status_code == 400
    assert "location" not in unknown.headers


async def test_code_replay_is_refused_and_revokes_its_tokens(
    people: People,
    platform: AsyncOAuth2Client,
    registered: Registered,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    patient = await people.signed_in(role="patient")
    verifier = generate_token(48)
    url, _state = await authorize_url(platform, verifier)
    location = (await consent(patient, url)).headers["location"]
    token = await platform.fetch_token(
        "/oauth/token", authorization_response=location, code_verifier=verifier
    )
    auth = (registered.client_id, registered.client_secret)
    replay = await platform.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": query(location)["code"],
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
        auth=auth,
    )
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    for value in (token["access_token"], token["refresh_token"]):
        check = await platform.post("/oauth/introspect", data={"token": value}, auth=auth)
        assert check.json() == {"active": False}
    async with sessions() as session:
        actions = (await session.execute(select(col(AuditEntry.action)))).scalars().all()
    assert "oauth.code_replay_detected" in actions


async def test_code_lives_60_seconds(
    people: People, platform: AsyncOAuth2Client, registered: Registered
) -> None:
    from datetime import timedelta

    from app.core import clock

    patient = await people.signed_in(role="patient")
    verifier = generate_token(48)
    url, _state = await authorize_url(platform, verifier)
    location = (await consent(patient, url)).headers["location"]
    with clock.frozen(clock.now() + timedelta(seconds=61)):
        late = await platform.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": query(location)["code"],
                "redirect_uri": REDIRECT,
                "code_verifier": verifier,
            },
            auth=(registered.client_id, registered.client_secret),
        )
    assert late.json()["error"] == "invalid_grant"


async def test_wrong_code_verifier_is_refused(
    people: People, platform: AsyncOAuth2Client, registered: Registered
) -> None:
    patient = await people.signed_in(role="patient")
    verifier = generate_token(48)
    url, _state = await authorize_url(platform, verifier)
    location = (await consent(patient, url)).headers["location"]
    for verifier_sent in ("", generate_token(48)):
        response = await platform.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": query(location)["code"],
                "redirect_uri": REDIRECT,
                "code_verifier": verifier_sent,
            },
            auth=(registered.client_id, registered.client_secret),
        )
        assert response.status_code == 400


async def test_refresh_reuse_revokes_the_family(
    people: People,
    platform: AsyncOAuth2Client,
    registered: Registered,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    patient = await people.signed_in(role="patient")
    token = await get_tokens(platform, patient)
    rotated = await platform.refresh_token("/oauth/token", refresh_token=token["refresh_token"])
    auth = (registered.client_id, registered.client_secret)
    reuse = await platform.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
        auth=auth,
    )
    assert reuse.json()["error"] == "invalid_grant"
    # the legitimate-looking newest pair is dead too: the whole family went
    for value in (rotated["access_token"], rotated["refresh_token"]):
        check = await platform.post("/oauth/introspect", data={"token": value}, auth=auth)
        assert check.json() == {"active": False}
    async with sessions() as session:
        rows = (
            (
                await session.execute(
                    select(AuditEntry).where(
                        col(AuditEntry.action) == "oauth.refresh_reuse_detected"
                    )
                )
            )
            .scalars()
            .all()
        )
    assert len(rows) == 1
    assert rows[0].client_id == registered.client_id


async def test_over_requested_scope_is_invalid_scope_not_narrowed(
    app: FastAPI, people: People, registered: Registered
) -> None:
    patient = await people.signed_in(role="patient")
    async with oauth_client(app, registered, scope="appointments:read agenda:read") as platform:
        url, _ = await authorize_url(platform, generate_token(48))
        response = await patient.get(url)
    assert response.status_code == 303
    assert query(response.headers["location"])["error"] == "invalid_scope"
    async with oauth_client(app, registered, scope="practitioners:read") as platform:
        url, _ = await authorize_url(platform, generate_token(48))
        response = await patient.get(url)
    assert query(response.headers["location"])["error"] == "invalid_scope"
    # refreshing cannot widen either
    async with oauth_client(app, registered, scope="slots:read") as platform:
        token = await get_tokens(platform, patient)
        wider = await platform.post(
            "/oauth/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": token["refresh_token"],
                "scope": "slots:read appointments:write",
            },
            auth=(registered.client_id, registered.client_secret),
        )
    assert wider.json()["error"] == "invalid_scope"


async def test_client_secrets_and_tokens_are_stored_hashed(
    people: People,
    platform: AsyncOAuth2Client,
    registered: Registered,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    patient = await people.signed_in(role="patient")
    token = await get_tokens(platform, patient)
    async with sessions() as session:
        client = (await session.execute(select(OAuthClient))).scalars().one()
        rows = (await session.execute(select(OAuthToken))).scalars().all()
    assert registered.client_secret not in client.secret_hash
    assert len(client.secret_hash) == 64
    stored = {r.access_hash for r in rows} | {r.refresh_hash for r in rows}
    assert token["access_token"] not in stored
    assert token["refresh_token"] not in stored


async def test_disabled_client_can_do_nothing(
    app: FastAPI,
    people: People,
    admin: Person,
    platform: AsyncOAuth2Client,
    registered: Registered,
) -> None:
    patient = await people.signed_in(role="patient")
    token = await get_tokens(platform, patient)
    # a new client starts disabled: no consent page
    fresh = await register_client(admin, enable=False)
    async with oauth_client(app, fresh, scope="appointments:read") as other:
        url, _ = await authorize_url(other, generate_token(48))
        page = await patient.get(url)
        assert page.status_code == 400
        assert "location" not in page.headers
        cc = await other.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "scope": "slots:read"},
            auth=(fresh.client_id, fresh.client_secret),
        )
        assert cc.json()["error"] == "invalid_client"
    disabled = await admin.post(f"/api/v1/admin/oauth/clients/{registered.client_id}/disable")
    assert disabled.status_code == 200
    assert disabled.json()["enabled"] is False
    auth = (registered.client_id, registered.client_secret)
    refresh = await platform.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
        auth=auth,
    )
    assert refresh.status_code == 401
    assert refresh.json()["error"] == "invalid_client"
    api = await patient.client.get(
        "/api/v1/me/apps", headers={"Authorization": f"Bearer {token['access_token']}"}
    )
    assert api.status_code == 401


async def test_deny_is_default_and_redirects_with_access_denied(
    people: People, platform: AsyncOAuth2Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    patient = await people.signed_in(role="patient")
    url, state = await authorize_url(platform, generate_token(48))
    page = await patient.get(url)
    assert "Agenda Plus" in page.text
    assert "Voir vos rendez-vous" in page.text
    assert "See your appointments" in page.text
    assert page.text.index('value="deny"') < page.text.index('value="approve"')
    assert "<script" not in page.text
    assert "style=" not in page.text
    for decision in ("deny", "", "maybe"):
        answer = await consent(patient, url, decision=decision)
        params = query(answer.headers["location"])
        assert params["error"] == "access_denied"
        assert params["state"] == state
        assert params["iss"] == "http://testserver"
    assert (await patient.get("/api/v1/me/apps")).json() == []


async def test_consent_post_needs_the_session_csrf_token(
    people: People, platform: AsyncOAuth2Client
) -> None:
    patient = await people.signed_in(role="patient")
    url, _ = await authorize_url(platform, generate_token(48))
    page = await patient.get(url)
    from tests.oauth.conftest import hidden_inputs

    fields = [(k, v) for k, v in hidden_inputs(page.text) if k != "csrf_token"]
    forged = await patient.client.post(
        "/oauth/authorize",
        content=urlencode([*fields, ("csrf_token", "forged"), ("decision", "approve")]),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert forged.status_code == 403
    assert forged.json()["code"] == "csrf_failed"


async def test_not_signed_in_sees_a_sign_in_page(
    client: httpx.AsyncClient, platform: AsyncOAuth2Client
) -> None:
    url, _ = await authorize_url(platform, generate_token(48))
    page = await client.get(url)
    assert page.status_code == 200
    assert "Connexion requise" in page.text
    assert "<form" not in page.text


@pytest.mark.parametrize("endpoint", ["/oauth/token", "/oauth/revoke", "/oauth/introspect"])
async def test_unreadable_basic_credentials_are_invalid_client_not_a_500(
    client: httpx.AsyncClient, registered: Registered, endpoint: str
) -> None:
    """Basic credentials that are not base64 of UTF-8 text get the answer of a wrong secret
    (RFC 6749 §5.2: 401 ``invalid_client``), not the 500 of Authlib's reader."""
    wrong = await client.post(
        endpoint,
        data={"grant_type": "client_credentials", "token": "x"},
        auth=(registered.client_id, "not-the-secret"),
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    for credentials in (
        base64.b64encode(b"\xff\xfe:abc").decode(),
        "a" * 64,
        "a" * 5000,
    ):
        response = await client.post(
            endpoint,
            data={"grant_type": "client_credentials", "token": "x"},
            headers={"Authorization": f"Basic {credentials}"},
        )
        assert response.status_code == 401, (credentials[:10], response.text)
        assert response.json()["error"] == "invalid_client"
        assert response.headers["WWW-Authenticate"].startswith("Basic")
