"""The request's throttle (database or Redis store)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.deps import AppSettings
from app.core.request_db import DbSession
from app.core.settings import Settings
from app.throttle.service import DatabaseStore, Policies, RedisStore, Throttle, ThrottleStore


async def get_throttle(request: Request, session: DbSession, settings: AppSettings) -> Throttle:
    return throttle_for(request, session, settings)


def throttle_for(request: Request, session: AsyncSession, settings: Settings) -> Throttle:
    """The request's throttle, for dependencies that build a service from the app's state."""
    policies = Policies.from_settings(settings)
    redis = getattr(request.app.state, "redis", None)
    store: ThrottleStore = (
        RedisStore(redis, policies.longest_window) if redis is not None else DatabaseStore(session)
    )
    return Throttle(store, policies)


RequestThrottle = Annotated[Throttle, Depends(get_throttle)]
