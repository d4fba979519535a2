"""Loopback receivers are refused unless ``ERDV_WEBHOOK_ALLOW_LOOPBACK`` is on (by default in
development only; production refuses to start with it)."""

from __future__ import annotations

from typing import TypedDict

import pytest
from pydantic import SecretStr

from app.core.settings import Settings, SettingsError
from tests.factories import Person
from tests.helpers.problems import assert_problem
from tests.oauth.conftest import register_client
from tests.webhooks.conftest import Receiver, add_endpoint


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhook_allow_loopback": False})


@pytest.mark.parametrize(
    "url",
    [
        "https://localhost/hook",
        "https://127.0.0.1/hook",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://2130706433/hook",  # 127.0.0.1 as one number, as resolvers read it
    ],
)
async def test_loopback_is_refused_when_not_allowed(admin: Person, url: str) -> None:
    registered = await register_client(admin)
    assert_problem(await add_endpoint(admin, registered.client_id, url), 422, "invalid_webhook_url")


async def test_plain_http_to_loopback_is_refused_too(admin: Person, receiver: Receiver) -> None:
    registered = await register_client(admin)
    response = await add_endpoint(admin, registered.client_id, receiver.url)
    assert_problem(response, 422, "invalid_webhook_url")


def test_the_default_allows_loopback_in_development_only() -> None:
    assert Settings(env="development").webhooks_reach_loopback is True
    assert Settings(env="test").webhooks_reach_loopback is False
    assert Settings(env="test", webhook_allow_loopback=True).webhooks_reach_loopback is True


class _ProductionKeys(TypedDict):
    secret_key: SecretStr
    encryption_key: SecretStr
    public_url: str


def test_production_refuses_loopback_webhooks() -> None:
    keys: _ProductionKeys = {
        "secret_key": SecretStr("Zr8tq3XvK9bW2mNc7pLs4HdYf6GjA1eQ0uRiTo5wVxE"),
        "encryption_key": SecretStr("Mh4Wq9Lk2Pz7Xc5Vb8Nn3Rt6Yd1Fg0Js4Ka7Ue2Io9O"),
        "public_url": "https://erdv.example",
    }
    assert Settings(env="production", **keys).webhooks_reach_loopback is False
    with pytest.raises(SettingsError, match="WEBHOOK_ALLOW_LOOPBACK"):
        Settings(env="production", webhook_allow_loopback=True, **keys)
