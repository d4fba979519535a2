"""The ASGI application: ``create_app()`` wires settings, the engine, middleware, errors and routers."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import inspect
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app import __version__, openapi, reactions
from app.admin.router import router as admin_router
from app.auth.passkeys import me_router as passkeys_me_router
from app.auth.passkeys import router as passkeys_router
from app.auth.router import me_router as accounts_me_router
from app.auth.router import router as auth_router
from app.auth.sessions import refuse_partial_sessions
from app.booking.desk_router import router as desk_router
from app.booking.router import router as booking_router
from app.booking.waitlist_router import router as waitlist_router
from app.charter.registry import default_charter
from app.charter.router import router as charter_router
from app.compliance.access_log import router as audit_router
from app.compliance.rights import router as rights_router
from app.compliance.router import router as compliance_router
from app.consent.router import router as consent_router
from app.consent.service import sync_registry
from app.core.datadir import make_private
from app.core.db import (
    connection_slots,
    create_engine,
    create_replica_engine,
    pool_overflow,
    session_factory,
    transaction,
)
from app.core.deps import refuse_nul_in_query
from app.core.handlers import install_error_handlers
from app.core.hashing import PasswordHasher
from app.core.jobs import run_forever
from app.core.logging import configure_logging, quiet_libraries
from app.core.mail import build_mailer
from app.core.middleware import RequestContextMiddleware
from app.core.replica import ReplicaMonitor
from app.core.settings import Settings, get_settings
from app.fhir.outcomes import render_outcome
from app.fhir.router import router as fhir_router
from app.health.router import router as health_router
from app.jobs import JOBS, RETENTION_JOBS
from app.models import metadata as all_tables
from app.notifications.router import router as notifications_router
from app.oauth.router import me_router as oauth_me_router
from app.oauth.router import router as oauth_router
from app.outbox.service import Outbox
from app.practice.router import router as practice_router
from app.renderers import renderers
from app.team.router import router as team_router
from app.webhooks.delivery import WebhookDelivery

logger = logging.getLogger("erdv.app")
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
#: paths the front end's router knows (static/js/app.js); each serves static/index.html
FRONT_END_PAGES = (
    "/",
    "/login",
    "/register",
    "/verify-email",
    "/confirm-email",
    "/forgot-password",
    "/reset-password",
    "/practitioners/{practitioner_id}",
    "/account",
    "/account/{section}",
    "/pro",
    "/pro/{section}",
    "/admin",
    "/admin/{section}",
    "/invitations/{token}",
    "/desk",
    "/desk/{practice_id}",
    "/waitlist/{entry_id}",
)


async def _sync_charter(factory: async_sessionmaker[AsyncSession]) -> None:
    """Record the charter's purpose versions; a database that is down now is not fatal (the
    consent service syncs again before it records anything), a text changed without a version
    bump is (CharterError)."""
    try:
        async with transaction(factory) as session:
            await sync_registry(session, default_charter())
    except (DBAPIError, OSError) as error:
        logger.warning("charter not synced at start-up: %s", type(error).__name__)


async def _check_pools(engine: AsyncEngine, settings: Settings) -> None:
    """Say loudly when this configuration's pools cannot all fit in the server's connections
    (``erdv serve`` refuses to start then; a process started otherwise says it here)."""
    try:
        slots = await connection_slots(engine)
    except (DBAPIError, OSError, TimeoutError) as error:
        logger.warning("connection limit not checked at start-up: %s", type(error).__name__)
        return
    if slots is None:
        return
    problem = pool_overflow(settings, settings.server_processes or 1, slots)
    if problem is not None:
        logger.error("database pools too large: %s", problem)


#: FastAPI (0.16x) traces and meters every request into whatever OpenTelemetry provider the process
#: has, and can configure exporters from the environment: spans with client addresses, user
#: agents, paths and query strings, sent to a collector erdv knows nothing of. Appointment traffic
#: is covered by medical secrecy (docs/charter.md C9); what leaves erdv goes through its own logs
#: (``app.core.logging``), which were written not to carry personal data. Off, then; it also
#: spares every request the check. Older FastAPI releases have no such feature.
_NO_NATIVE_TELEMETRY: dict[str, Any] = (
    {
        "telemetry": {
            "tracing": False,
            "metrics": False,
            "logs": False,
            "auto_configure": False,
        }
    }
    if "telemetry" in inspect.signature(FastAPI.__init__).parameters
    else {}
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    reactions.connect()
    make_private(settings)
    quiet_libraries()
    if settings.env.value != "test":
        configure_logging(settings.log_level, json_logs=settings.json_logs)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings)
        app.state.engine = engine
        app.state.session_factory = session_factory(engine)
        app.state.readonly_session_factory = session_factory(engine, readonly=True)
        app.state.primary_read_session_factory = session_factory(
            engine, readonly=True, snapshot=False
        )
        # anonymous directory reads go to the read replica when there is one (docs/scaling.md)
        replica = create_replica_engine(settings)
        app.state.replica_engine = replica
        app.state.read_session_factory = app.state.primary_read_session_factory
        monitor = None
        if replica is not None:
            on_replica = session_factory(replica, readonly=True, snapshot=False)

            def use_replica(serving: bool) -> None:
                app.state.read_session_factory = (
                    on_replica if serving else app.state.primary_read_session_factory
                )

            use_replica(True)
            # while it keeps up; unreachable or too far behind, the primary serves them
            monitor = ReplicaMonitor(
                engine,
                replica,
                max_lag_seconds=settings.replica_max_lag_seconds,
                check_seconds=settings.replica_check_seconds,
                use_replica=use_replica,
            )
            await monitor.check()
        await _sync_charter(app.state.session_factory)
        await _check_pools(engine, settings)
        if replica is not None:
            await _check_pools(replica, settings)
        jobs = None
        if settings.jobs_enabled:
            jobs = asyncio.create_task(
                run_forever(
                    app.state.session_factory, settings, JOBS, tick=settings.jobs_tick_seconds
                ),
                name="erdv-jobs",
            )
        app.state.passwords = PasswordHasher(settings)
        # the dummy hash for unknown emails is ready before the first login (equal timing)
        await app.state.passwords.warm_up()
        app.state.outbox = Outbox(
            settings,
            app.state.session_factory,
            build_mailer(settings),
            renderers(settings, app.state.passwords),
            # the outbox imports no domain: the webhooks' sender is handed to it here
            webhooks=WebhookDelivery(settings, app.state.session_factory),
        )
        # every process delivers: what its requests staged, retries, and what a dead process left
        outbox_worker = (
            asyncio.create_task(app.state.outbox.run(), name="erdv-outbox")
            if settings.outbox_worker_enabled
            else None
        )
        replica_checks = (
            asyncio.create_task(monitor.run(), name="erdv-replica") if monitor else None
        )
        app.state.redis = _redis(settings)
        _freeze_start_up_objects()
        switch_interval = _hand_the_gil_back_sooner()
        try:
            yield
        finally:
            sys.setswitchinterval(switch_interval)
            gc.unfreeze()
            for task in (jobs, outbox_worker, replica_checks):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            await app.state.outbox.aclose()
            app.state.passwords.close()
            if app.state.redis is not None:
                await app.state.redis.aclose()
            await engine.dispose()
            if replica is not None:
                await replica.dispose()

    app = FastAPI(
        title="erdv",
        version=__version__,
        summary="Security-first medical appointment booking (Charte e-RDV).",
        lifespan=lifespan,
        # Swagger UI and ReDoc load scripts from a CDN, which the CSP forbids (charter C4):
        # the OpenAPI document itself stays public.
        docs_url=None,
        redoc_url=None,
        # a partial session (MFA not done) reaches only the login steps (docs/api.md "Who may call")
        dependencies=[Depends(refuse_partial_sessions), Depends(refuse_nul_in_query)],
        **_NO_NATIVE_TELEMETRY,
    )
    app.state.settings = settings
    app.state.static_dir = STATIC_DIR
    # errors under /fhir/ are OperationOutcomes (app.fhir.outcomes)
    app.state.problem_renderers = [("/fhir/", render_outcome)]
    # every table, for the compliance report's schema checks (charter C1, C4-C7)
    app.state.tables = all_tables
    # the retention jobs the privacy notice promises, for the compliance report to show
    app.state.retention_jobs = [job.name for job in RETENTION_JOBS]
    install_error_handlers(app)
    openapi.install(app)
    # Routes are matched in order, one regular expression each: the busiest (health probes, the
    # directory, slots and bookings) come first. No path of one router overlaps another's.
    app.include_router(health_router)
    app.include_router(booking_router)
    app.include_router(practice_router)
    app.include_router(auth_router)
    app.include_router(passkeys_router)
    app.include_router(charter_router)
    app.include_router(compliance_router)
    app.include_router(rights_router)
    app.include_router(consent_router)
    app.include_router(audit_router)
    app.include_router(accounts_me_router)
    app.include_router(passkeys_me_router)
    app.include_router(notifications_router)
    app.include_router(team_router)
    app.include_router(desk_router)
    app.include_router(waitlist_router)
    app.include_router(oauth_router)
    app.include_router(oauth_me_router)
    app.include_router(admin_router)
    app.include_router(fhir_router)

    if STATIC_DIR.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

        # The front end is one HTML shell whose ES modules route on the path (History API); each
        # page path serves it, so links in mails (/verify-email#token=...) and reloads work.
        # Pages stay out of the OpenAPI document: they are not endpoints (and a partial session
        # may load them to finish its second factor).
        async def shell() -> FileResponse:
            return FileResponse(STATIC_DIR / "index.html")

        for page in FRONT_END_PAGES:
            app.add_api_route(page, shell, methods=["GET"], include_in_schema=False)

    app.add_middleware(
        RequestContextMiddleware,
        production=settings.is_production,
        max_body_bytes=settings.max_body_bytes,
    )
    return app


#: how long the event loop's thread may keep the GIL while a helper thread waits for it
GIL_SWITCH_SECONDS = 0.0005


def _hand_the_gil_back_sooner() -> float:
    """Let a waiting helper thread have the GIL after 0.5 ms, not CPython's 5 ms; returns the
    previous interval (``sys.setswitchinterval``).

    The event loop hands slow calls to threads: SQLite's ``COMMIT`` with its fsync
    (``app.core.sqlite``), argon2 hashes, Authlib. Each thread needs the GIL back for a few
    microseconds to return its result; meanwhile the loop's thread runs other requests' Python,
    and keeps the GIL for a whole interval before it must let go. A SQLite writer's turn stays
    taken all that time. With the shorter interval, a thread that finished its slow call gets the
    GIL back sooner, so a commit is not held behind other requests' Python
    (bench/README.md "Performance rules in the code"). Helper threads are few and brief: the loop
    gives the GIL up a little more often, and only while one of them waits.
    """
    previous = sys.getswitchinterval()
    sys.setswitchinterval(GIL_SWITCH_SECONDS)
    return previous


def _freeze_start_up_objects() -> None:
    """Keep what start-up built out of every later garbage collection (``gc.freeze``).

    Start-up leaves a great many objects that live as long as the process (modules, models,
    compiled statements, the charter); the few that are garbage are not worth a collection here.
    CPython's oldest generation scans all of them whenever enough new objects have survived, a
    pause in the middle of some request (bench/README.md "Performance rules in the code").
    Frozen, they are never scanned again; objects made later are collected as before.
    ``gc.unfreeze()`` at shutdown hands them back to the collector (a test process starts many
    apps).
    """
    gc.freeze()


def _redis(settings: Settings) -> Any:
    """The shared Redis client for throttling state, when ``ERDV_REDIS_URL`` is set."""
    if not settings.redis_url:
        return None
    from redis.asyncio import Redis

    return Redis.from_url(settings.redis_url, decode_responses=True)
