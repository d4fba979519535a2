"""The request's throttle (database or Redis store)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.core.db import DbSession
from app.core.deps import AppSettings
from app.throttle.service import DatabaseStore, Policies, RedisStore, Throttle, ThrottleStore


async def get_throttle(request: Request, session: DbSession, settings: AppSettings) -> Throttle:
    policies = Policies.from_settings(settings)
    redis = getattr(request.app.state, "redis", None)
    store: ThrottleStore = (
        RedisStore(redis, policies.account.window) if redis is not None else DatabaseStore(session)
    )
    return Throttle(store, policies)


RequestThrottle = Annotated[Throttle, Depends(get_throttle)]
