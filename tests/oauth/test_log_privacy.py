"""No application log holds an OAuth token or code (docs/security.md "Data protection"), even at
``ERDV_LOG_LEVEL=DEBUG``, a documented setting: Authlib's grants log each token they issue, whole,
at DEBUG. Every logger is captured at DEBUG through a code + PKCE flow, a refresh and a
revocation. Each test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import logging

import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client

from app.core.logging import JsonFormatter
from tests.factories import People
from tests.oauth.conftest import Registered, get_tokens


async def test_no_log_record_holds_a_token(
    people: People,
    platform: AsyncOAuth2Client,
    registered: Registered,
    caplog: pytest.LogCaptureFixture,
) -> None:
    patient = await people.signed_in(role="patient")
    with caplog.at_level(logging.DEBUG):
        token = await get_tokens(platform, patient)
        rotated = await platform.refresh_token("/oauth/token", refresh_token=token["refresh_token"])
        revoked = await platform.post(
            "/oauth/revoke",
            data={"token": rotated["refresh_token"]},
            auth=(registered.client_id, registered.client_secret),
        )
        assert revoked.status_code == 200
    formatter = JsonFormatter()
    rendered = [formatter.format(record) for record in caplog.records]
    assert sum('"logger": "erdv.access"' in line for line in rendered) >= 3  # the capture works
    secrets = {
        "erdv_at_",
        "erdv_rt_",
        token["access_token"],
        token["refresh_token"],
        rotated["access_token"],
        registered.client_secret,
    }
    leaks = [(secret, line) for line in rendered for secret in secrets if secret in line]
    assert not leaks, leaks[:2]
