"""The app's start-up and shut-down in a test, with time to spare.

asgi-lifespan gives a start-up 5 s. The app's own (the charter synchronised, the pools checked,
the hasher warmed up) takes a fraction of that, but ``make test`` runs one test process per core,
and beside a 200,000-row export or a cluster being started one CI start-up took longer: a test
error with nothing wrong in the app. A start-up that hangs still fails, after a minute.
"""

from __future__ import annotations

from asgi_lifespan import LifespanManager
from fastapi import FastAPI

TIMEOUT_SECONDS = 60


def lifespan(app: FastAPI) -> LifespanManager:
    return LifespanManager(app, startup_timeout=TIMEOUT_SECONDS, shutdown_timeout=TIMEOUT_SECONDS)
