"""Both throttle stores behave alike: the database (default) and Redis (``ERDV_REDIS_URL``)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from fastapi import FastAPI
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core import clock
from app.core.db import transaction
from app.core.settings import Settings
from app.main import create_app
from app.throttle.errors import Throttled
from app.throttle.service import DatabaseStore, Policy, RedisStore, Throttle, ThrottleStore
from tests.factories import People
from tests.helpers.lifespan import lifespan
from tests.helpers.problems import assert_problem

REDIS_URL = "redis://127.0.0.1:6379/15"
POLICY = Policy(3, timedelta(seconds=10), timedelta(seconds=60), timedelta(hours=1))


async def exercise(store_for: object) -> None:
    key = f"test:{uuid.uuid4().hex}"
    with clock.frozen(clock.now()) as frozen:
        for expected in (0, 0, 10, 20, 40, 60, 60):
            throttle: Throttle = await store_for()  # type: ignore[operator]
            await throttle.failure(key, POLICY)
            assert await throttle.retry_after(key) == expected
        with pytest.raises(Throttled) as raised:
            await throttle.check(key)
        assert raised.value.headers["Retry-After"] == "60"
        frozen.advance(timedelta(seconds=61))
        await throttle.check(key)
        frozen.advance(timedelta(hours=2))  # past the window: counting starts again
        await throttle.failure(key, POLICY)
        assert await throttle.retry_after(key) == 0
        await throttle.reset(key)


async def test_database_store(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with transaction(sessions) as session:
        throttle = Throttle(DatabaseStore(session), None)  # type: ignore[arg-type]

        async def store_for() -> Throttle:
            return throttle

        await exercise(store_for)


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL, decode_responses=True)
    await client.ping()
    yield client
    await client.aclose()


@pytest.mark.only_backend("sqlite")  # Redis is the same whichever database runs beside it
async def test_redis_store(redis: Redis) -> None:
    store: ThrottleStore = RedisStore(redis, timedelta(hours=1))

    async def store_for() -> Throttle:
        return Throttle(store, None)  # type: ignore[arg-type]

    await exercise(store_for)


@pytest.fixture
async def redis_app(settings: Settings, redis: Redis) -> AsyncIterator[FastAPI]:
    application = create_app(settings.model_copy(update={"redis_url": REDIS_URL}))
    async with lifespan(application):
        yield application
    await redis.flushdb()


@pytest.mark.only_backend("sqlite")
async def test_login_throttling_through_redis(redis_app: FastAPI, settings: Settings) -> None:
    people = People(redis_app, settings)
    try:
        victim = await people.registered()
        attacker = people.client(ip="203.0.113.77")
        wrong = {"email": victim.email, "password": "not-the-password-at-all"}
        for _ in range(5):
            assert (await attacker.post("/api/v1/auth/login", json=wrong)).status_code == 401
        assert_problem(await attacker.post("/api/v1/auth/login", json=wrong), 429, "rate_limited")
    finally:
        await people.aclose()
