"""The request's throttle, and the dependency that keeps a failed attempt's bookkeeping."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request

from app.core.db import DbSession, commit
from app.core.deps import AppSettings
from app.throttle.errors import RecordedFailure
from app.throttle.service import DatabaseStore, Policies, RedisStore, Throttle, ThrottleStore


def get_throttle(request: Request, session: DbSession, settings: AppSettings) -> Throttle:
    policies = Policies.from_settings(settings)
    redis = getattr(request.app.state, "redis", None)
    store: ThrottleStore = (
        RedisStore(redis, policies.account.window) if redis is not None else DatabaseStore(session)
    )
    return Throttle(store, policies)


RequestThrottle = Annotated[Throttle, Depends(get_throttle)]


async def keep_recorded_failures(session: DbSession) -> AsyncIterator[None]:
    """Commit the request's transaction before a ``RecordedFailure`` error is answered.

    Attach to every router whose services raise such errors (``dependencies=[...]``). It runs inside
    ``DbSession`` (it depends on it), so it sees the error first: it commits the failure counter and
    the audit entries (the audit pre-commit hook runs), then lets the error through, and the session's
    own rollback then has nothing left to undo. Any other error still rolls everything back.
    """
    try:
        yield
    except Exception as error:
        if getattr(error, "commit_before_raising", False) and isinstance(error, RecordedFailure):
            await commit(session)
        raise


KeepRecordedFailures = Depends(keep_recorded_failures, scope="function")
