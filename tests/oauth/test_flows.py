"""End-to-end OAuth flows driven by Authlib's own httpx client over the ASGI app (issue 7)."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
from authlib.integrations.httpx_client import AsyncOAuth2Client
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.audit.models import AuditEntry
from app.core import clock
from tests.factories import People, Person
from tests.helpers.problems import assert_problem
from tests.oauth.conftest import Registered, get_tokens, oauth_client, register_client


async def test_metadata_rfc8414(client: httpx.AsyncClient) -> None:
    data = (await client.get("/.well-known/oauth-authorization-server")).json()
    assert data["issuer"] == "http://testserver"
    assert data["code_challenge_methods_supported"] == ["S256"]
    assert data["authorization_response_iss_parameter_supported"] is True
    assert data["token_endpoint"] == "http://testserver/oauth/token"
    assert set(data["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
    }


async def test_code_pkce_then_api_then_refresh_rotation(
    app: FastAPI, people: People, platform: AsyncOAuth2Client, registered: Registered
) -> None:
    patient = await people.signed_in(role="patient")
    token = await get_tokens(platform, patient)
    assert token["access_token"].startswith("erdv_at_")
    assert token["refresh_token"].startswith("erdv_rt_")
    assert token["expires_in"] == 600
    assert token["scope"] == "appointments:read slots:read"

    # refresh: a new pair each time; the old refresh token is spent
    first_refresh = token["refresh_token"]
    rotated = await platform.refresh_token("/oauth/token", refresh_token=first_refresh)
    assert rotated["refresh_token"] != first_refresh
    assert rotated["access_token"] != token["access_token"]
    # the old access token was revoked with its refresh token
    introspected = await platform.post(
        "/oauth/introspect",
        data={"token": token["access_token"]},
        auth=(registered.client_id, registered.client_secret),
    )
    assert introspected.json() == {"active": False}
    live = await platform.post(
        "/oauth/introspect",
        data={"token": rotated["access_token"]},
        auth=(registered.client_id, registered.client_secret),
    )
    body = live.json()
    assert body["active"] is True
    assert body["sub"] == patient.account_id
    assert body["client_id"] == registered.client_id
    assert body["scope"] == "appointments:read slots:read"

    # client_secret_post works as well as Basic
    async with oauth_client(
        app, registered, token_endpoint_auth_method="client_secret_post"
    ) as post_client:
        again = await post_client.refresh_token(
            "/oauth/token", refresh_token=rotated["refresh_token"]
        )
        assert again["access_token"].startswith("erdv_at_")


async def test_client_credentials_no_refresh_and_limited_scopes(
    app: FastAPI, admin: Person
) -> None:
    registered = await register_client(
        admin, grants=["client_credentials"], scopes=["practitioners:read", "slots:read"]
    )
    async with oauth_client(app, registered, scope="slots:read") as platform:
        token = await platform.fetch_token("/oauth/token", grant_type="client_credentials")
        assert token["access_token"].startswith("erdv_at_")
        assert token["expires_in"] == 600
        assert "refresh_token" not in token
        assert token["scope"] == "slots:read"
    # appointments:read can never be had without a patient
    async with oauth_client(app, registered, scope="appointments:read") as platform:
        response = await platform.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "scope": "appointments:read"},
            auth=(registered.client_id, registered.client_secret),
        )
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_scope"


async def test_revocation_rfc7009(
    people: People, platform: AsyncOAuth2Client, registered: Registered
) -> None:
    patient = await people.signed_in(role="patient")
    token = await get_tokens(platform, patient)
    auth = (registered.client_id, registered.client_secret)
    response = await platform.post(
        "/oauth/revoke",
        data={"token": token["refresh_token"], "token_type_hint": "refresh_token"},
        auth=auth,
    )
    assert response.status_code == 200
    # the access token issued with it died with the grant
    check = await platform.post(
        "/oauth/introspect", data={"token": token["access_token"]}, auth=auth
    )
    assert check.json() == {"active": False}
    me = await platform.get(
        "/api/v1/me/apps",
        headers={"Authorization": f"Bearer {token['access_token']}"},
        auth=None,
    )
    assert_problem(me, 401, "invalid_token")
    # an unknown token is not an error (RFC 7009 §2.2)
    unknown = await platform.post("/oauth/revoke", data={"token": "erdv_at_nothing"}, auth=auth)
    assert unknown.status_code == 200


async def test_introspection_only_for_authenticated_clients_and_own_tokens(
    app: FastAPI, people: People, admin: Person, platform: AsyncOAuth2Client
) -> None:
    patient = await people.signed_in(role="patient")
    token = await get_tokens(platform, patient)
    anonymous = await platform.post(
        "/oauth/introspect", data={"token": token["access_token"]}, auth=None
    )
    assert anonymous.status_code == 400
    assert anonymous.json()["error"] == "invalid_client"
    other = await register_client(admin)
    foreign = await platform.post(
        "/oauth/introspect",
        data={"token": token["access_token"]},
        auth=(other.client_id, other.client_secret),
    )
    assert foreign.json() == {"active": False}


async def test_withdrawal_from_my_apps_revokes_at_once(
    people: People, platform: AsyncOAuth2Client, registered: Registered
) -> None:
    patient = await people.signed_in(role="patient")
    token = await get_tokens(platform, patient)
    apps = (await patient.get("/api/v1/me/apps")).json()
    assert [a["client_id"] for a in apps] == [registered.client_id]
    assert apps[0]["name"] == "Agenda Plus"
    assert apps[0]["scopes"] == ["appointments:read", "slots:read"]
    consents = (await patient.get("/api/v1/me/consents")).json()
    assert any(
        c["purpose_id"] == "third-party-sharing"
        and c["client_id"] == registered.client_id
        and c["status"] == "granted"
        for c in consents
    )
    assert (await patient.delete(f"/api/v1/me/apps/{registered.client_id}")).status_code == 204
    assert (await patient.get("/api/v1/me/apps")).json() == []
    refresh = await platform.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
        auth=(registered.client_id, registered.client_secret),
    )
    assert refresh.json()["error"] == "invalid_grant"
    consents = (await patient.get("/api/v1/me/consents")).json()
    assert any(
        c["purpose_id"] == "third-party-sharing" and c["status"] == "withdrawn" for c in consents
    )
    assert_problem(
        await patient.delete(f"/api/v1/me/apps/{registered.client_id}"), 404, "not_found"
    )


async def test_everything_is_audited_under_the_client(
    people: People,
    platform: AsyncOAuth2Client,
    registered: Registered,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    patient = await people.signed_in(role="patient")
    await get_tokens(platform, patient)
    async with sessions() as session:
        rows = (
            (
                await session.execute(
                    select(AuditEntry).where(col(AuditEntry.action) == "oauth.token_issued")
                )
            )
            .scalars()
            .all()
        )
    assert len(rows) == 1
    assert rows[0].client_id == registered.client_id
    assert rows[0].actor_type == "client"
    assert rows[0].subject_id == patient.account_id

    # and the patient sees the application, by name, in "who accessed my data"
    log = (await patient.get("/api/v1/me/access-log")).json()
    issued = next(e for e in log if e["action"] == "oauth.token_issued")
    assert issued["via"] == "api"
    assert issued["actor_role"] == "third_party"
    assert issued["actor_name"] == "Agenda Plus"


async def test_suspension_and_password_change_revoke_tokens(
    people: People, admin: Person, platform: AsyncOAuth2Client, registered: Registered
) -> None:
    patient = await people.signed_in(role="patient")
    token = await get_tokens(platform, patient)
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    changed = await patient.post(
        "/api/v1/auth/password/change",
        json={"current_password": patient.password, "new_password": "Granite-Heron-Lantern-47"},
    )
    assert changed.status_code == 204, changed.text
    check = await platform.post(
        "/oauth/introspect",
        data={"token": token["access_token"]},
        auth=(registered.client_id, registered.client_secret),
    )
    assert check.json() == {"active": False}

    patient.password = "Granite-Heron-Lantern-47"
    token = await get_tokens(platform, patient)
    suspended = await admin.post(f"/api/v1/admin/accounts/{patient.account_id}/suspend")
    assert suspended.status_code == 200, suspended.text
    check = await platform.post(
        "/oauth/introspect",
        data={"token": token["refresh_token"]},
        auth=(registered.client_id, registered.client_secret),
    )
    assert check.json() == {"active": False}
    assert bearer  # (the first token was already dead)


async def test_an_mfa_reset_ends_the_other_sessions_and_revokes_tokens(
    people: People,
    platform: AsyncOAuth2Client,
    registered: Registered,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """SECURITY.md "Sessions": a new authenticator, chosen from a full session after /reauth,
    ends every other session and revokes the OAuth tokens: whoever held the old one (or a
    session or an application it opened) is out."""
    patient = await people.signed_in(role="patient")
    elsewhere = people.client()
    other = await elsewhere.post(
        "/api/v1/auth/login", json={"email": patient.email, "password": patient.password}
    )
    assert other.status_code == 200, other.text
    token = await get_tokens(platform, patient)
    with clock.frozen(clock.now()):
        # the old authenticator's code, then at once the new one's, in the same 30-s step
        assert (await patient.reauth()).status_code == 204
        await patient.enrol_totp()

    auth = (registered.client_id, registered.client_secret)
    for kind in ("access_token", "refresh_token"):
        check = await platform.post("/oauth/introspect", data={"token": token[kind]}, auth=auth)
        assert check.json() == {"active": False}, kind
    assert (await elsewhere.get("/api/v1/auth/session")).status_code == 401
    assert (await patient.get("/api/v1/auth/session")).status_code == 200
    async with sessions() as session:
        reset = (
            await session.execute(
                select(AuditEntry).where(col(AuditEntry.action) == "auth.mfa_reset")
            )
        ).scalar_one()
    assert json.loads(reset.details) == {"sessions_ended": 1, "oauth_tokens_revoked": 1}


async def test_access_token_expires_after_ten_minutes(
    people: People, platform: AsyncOAuth2Client, registered: Registered
) -> None:
    patient = await people.signed_in(role="patient")
    token = await get_tokens(platform, patient)
    auth = (registered.client_id, registered.client_secret)
    with clock.frozen(clock.now() + timedelta(minutes=10, seconds=1)):
        check = await platform.post(
            "/oauth/introspect",
            data={"token": token["access_token"]},
            auth=auth,
        )
        assert check.json() == {"active": False}
    with clock.frozen(clock.now() + timedelta(days=30, seconds=1)):
        refresh = await platform.post(
            "/oauth/token",
            data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
            auth=auth,
        )
        assert refresh.json()["error"] == "invalid_grant"
