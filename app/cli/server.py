"""``erdv version``, ``migrate``, ``serve`` and ``purge``: running erdv."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import typer
from sqlalchemy.exc import DBAPIError

from app import __version__
from app.audit.service import (
    audit_key,
    pin_missing_head,
)
from app.cli.common import in_transaction, load_settings
from app.core import migrate as migrations
from app.core.db import connection_slots, create_engine, pool_overflow, session_factory
from app.core.jobs import run_job
from app.core.serving import ReusePortSocket, reuse_port_supported
from app.core.settings import Settings
from app.distribution import citus_statements
from app.jobs import RETENTION_JOBS

#: the ASGI application, as uvicorn imports it in each worker
APP = "app.main:create_app"


def version() -> None:
    """Print erdv's version."""
    typer.echo(__version__)


def migrate(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Bring the database schema up to date (Alembic upgrade)."""
    settings = load_settings()
    migrations.upgrade(settings.database_url, revision)
    if revision == "head":
        key = audit_key(settings.secret_key_bytes)
        if asyncio.run(in_transaction(settings, lambda s: pin_missing_head(s, key))):
            typer.echo("audit trail: head record pinned to the newest entry")
    typer.echo(f"database migrated to {revision}")


def citus_plan() -> None:
    """Print the statements that distribute a migrated database on a Citus coordinator, by
    practitioner (app/distribution.py, docs/scaling.md); run them after ``erdv migrate``."""
    for statement in citus_statements():
        typer.echo(statement)


def purge() -> None:
    """Run every retention job now (audit retention, visit reasons, idempotency keys)."""
    settings = load_settings()

    async def run() -> list[str]:
        engine = create_engine(settings)
        try:
            factory = session_factory(engine)
            return [
                f"{job.name}: {await run_job(factory, settings, job, force=True)}"
                for job in RETENTION_JOBS
            ]
        finally:
            await engine.dispose()

    for line in asyncio.run(run()):
        typer.echo(line)


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to bind."),
    port: int = typer.Option(8000, help="Port to bind."),
    workers: int = typer.Option(1, min=1, help="Worker processes (state lives in the database)."),
    reload: bool = typer.Option(False, help="Reload on code changes (development)."),
) -> None:
    """Serve erdv over HTTP with uvicorn."""
    import uvicorn

    settings = load_settings()
    if workers > 1 and settings.is_sqlite and not settings.is_production:
        typer.echo("note: several workers share one SQLite file; writes are serialized", err=True)
    if workers > 1 and settings.password_hash_threads is None:
        # The workers share the cores: one hashing thread per core per worker would run more
        # argon2 hashes than cores, each evicting the others' memory from the caches
        # (bench/README.md "Performance rules in the code").
        os.environ["ERDV_PASSWORD_HASH_THREADS"] = str(max(1, (os.cpu_count() or 1) // workers))
    if not settings.is_sqlite:
        processes = settings.server_processes or workers
        # every worker checks its pools against the server at start-up with the same count
        os.environ.setdefault("ERDV_SERVER_PROCESSES", str(processes))
        problem = asyncio.run(_pools_problem(settings, processes))
        if problem is not None:
            typer.echo(f"erdv: refusing to start: {problem}", err=True)
            raise typer.Exit(2)
    options: dict[str, Any] = {
        "factory": True,
        # slow and silent clients are timed out, connections per worker bounded (app.core.serving)
        "http": "app.core.serving:GuardedHttpToolsProtocol",
        # erdv speaks HTTP only: no WebSocket implementation is loaded, so a handshake is answered
        # as a plain request, and each worker keeps about 0.7 MiB less (B9)
        "ws": "none",
        "timeout_keep_alive": settings.http_keepalive_seconds,
        "host": host,
        "port": port,
        "workers": workers,
        "reload": reload,
        "proxy_headers": True,
        "forwarded_allow_ips": os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        "access_log": False,
        "server_header": False,
        "log_config": None,
    }
    if workers == 1 or reload or not reuse_port_supported():
        uvicorn.run(APP, **options)
        return
    # one listening socket per worker, balanced by the kernel (app/core/serving.py)
    from uvicorn.supervisors import Multiprocess

    try:
        listener = ReusePortSocket.bind_to(host, port)
    except OSError as error:
        raise typer.BadParameter(f"cannot listen on {host}:{port}: {error}") from error
    with listener:
        typer.echo(f"erdv: http://{host}:{listener.getsockname()[1]}, {workers} workers", err=True)
        Multiprocess(uvicorn.Config(APP, **options), sockets=[listener]).run()


async def _pools_problem(settings: Settings, processes: int) -> str | None:
    """What is wrong with the pools of ``processes`` processes on this PostgreSQL server (they
    would open more connections than it allows), or ``None``; a server that cannot be reached now
    is not checked (``/readyz`` says so until it is back)."""
    urls = [settings.database_url]
    if settings.database_replica_url is not None:
        urls.append(settings.database_replica_url)  # the replica takes the same pools
    for url in urls:
        engine = create_engine(settings, url=url)
        try:
            slots = await connection_slots(engine)
        except (DBAPIError, OSError, TimeoutError) as error:
            typer.echo(
                f"erdv: warning: connection limit not checked ({type(error).__name__})", err=True
            )
            continue
        finally:
            await engine.dispose()
        problem = None if slots is None else pool_overflow(settings, processes, slots)
        if problem is not None:
            return problem if url == settings.database_url else f"read replica: {problem}"
    return None
