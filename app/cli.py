"""The ``erdv`` command: serve, migrate, seed and administer erdv with the same settings as the server."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import typer
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app import __version__
from app.audit.export import export_ndjson
from app.audit.models import AuditAction
from app.audit.service import (
    Actor,
    AnchorError,
    AuditTrail,
    VerifyResult,
    audit_key,
    make_anchor,
    pin_missing_head,
    read_anchor,
    verify,
    verify_with_anchor,
)
from app.consent.export import export_consent_log
from app.core import migrate as migrations
from app.core.datadir import make_private
from app.core.db import (
    connection_slots,
    create_engine,
    pool_overflow,
    session_factory,
    transaction,
)
from app.core.jobs import run_job
from app.core.serving import ReusePortSocket, reuse_port_supported
from app.core.settings import Settings, SettingsError, get_settings
from app.demo import STEPS, DemoReport
from app.jobs import JOBS

T = TypeVar("T")

#: the ASGI application, as uvicorn imports it in each worker
APP = "app.main:create_app"

cli = typer.Typer(
    name="erdv",
    help="erdv: security-first medical appointment booking.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _settings() -> Settings:
    try:
        settings = get_settings()
    except (SettingsError, ValueError) as error:
        typer.echo(f"erdv: configuration error: {error}", err=True)
        raise typer.Exit(2) from error
    make_private(settings)
    return settings


@cli.command()
def version() -> None:
    """Print erdv's version."""
    typer.echo(__version__)


@cli.command()
def migrate(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Bring the database schema up to date (Alembic upgrade)."""
    settings = _settings()
    migrations.upgrade(settings.database_url, revision)
    if revision == "head":
        key = audit_key(settings.secret_key_bytes)
        if asyncio.run(_in_transaction(settings, lambda s: pin_missing_head(s, key))):
            typer.echo("audit trail: head record pinned to the newest entry")
    typer.echo(f"database migrated to {revision}")


@cli.command()
def demo() -> None:
    """Seed demo data (idempotent). Refused in production."""
    settings = _settings()
    if settings.is_production:
        typer.echo("erdv: refusing to seed demo data in production", err=True)
        raise typer.Exit(2)
    report = asyncio.run(_seed(settings))
    typer.echo("\n".join(report.lines) if report.lines else "demo: nothing to seed")


async def _seed(settings: Settings) -> DemoReport:
    report = DemoReport()

    async def run(session: AsyncSession) -> DemoReport:
        for step in STEPS:
            await step(session, settings, report)
        return report

    return await _in_transaction(settings, run)


audit_cli = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)
cli.add_typer(audit_cli, name="audit")


admin_cli = typer.Typer(help="Administrators.", no_args_is_help=True)
cli.add_typer(admin_cli, name="admin")


@admin_cli.command("create")
def admin_create(
    email: str = typer.Option(..., "--email", help="The admin's email address."),
    name: str = typer.Option("Administrator", "--name", help="The admin's display name."),
) -> None:
    """Create a verified admin; the password is read from standard input, never from arguments.

    The admin enrols TOTP at the first login. erdv ships no default account.
    """
    settings = _settings()
    password = _read_password()
    from app.accounts.errors import WeakPassword
    from app.accounts.schemas import normalize_email
    from app.accounts.service import AuthService
    from app.core.errors import Conflict
    from app.core.passwords import PasswordHasher
    from app.throttle.service import DatabaseStore, Policies, Throttle

    try:
        address = normalize_email(email)
    except ValueError as error:
        typer.echo(f"erdv: {error}", err=True)
        raise typer.Exit(2) from error
    hasher = PasswordHasher(settings)

    async def create(session: AsyncSession) -> str:
        service = AuthService(
            session,
            settings,
            hasher,
            Throttle(DatabaseStore(session), Policies.from_settings(settings)),
            AuditTrail.for_settings(session, settings),
            None,
        )
        account = await service.create_admin(email=address, password=password, full_name=name)
        return str(account.id)

    try:
        account_id = asyncio.run(_in_transaction(settings, create))
    except (WeakPassword, Conflict) as error:
        typer.echo(f"erdv: {error.detail}", err=True)
        raise typer.Exit(1) from error
    finally:
        hasher.close()
    typer.echo(f"admin created: {account_id} (TOTP enrolment at first login)")


practitioners_cli = typer.Typer(help="Practitioners.", no_args_is_help=True)
cli.add_typer(practitioners_cli, name="practitioners")


@practitioners_cli.command("approve")
def practitioners_approve(
    practitioner_id: str = typer.Argument(..., help="Practitioner id."),
) -> None:
    """Approve a practitioner once their RPPS number is checked in the official directory."""
    import uuid as _uuid

    from app.practice.errors import PractitionerNotFound
    from app.practice.models import PracticeStatus
    from app.practice.service import PracticeService

    settings = _settings()
    try:
        target = _uuid.UUID(practitioner_id)
    except ValueError as error:
        typer.echo("erdv: not a practitioner id", err=True)
        raise typer.Exit(2) from error

    async def approve(session: AsyncSession) -> bool:
        service = PracticeService(session, settings, AuditTrail.for_settings(session, settings))
        view = await service.set_status(Actor.system(), target, PracticeStatus.APPROVED)
        return view.listed

    try:
        listed = asyncio.run(_in_transaction(settings, approve))
    except PractitionerNotFound as error:
        typer.echo(f"erdv: no practitioner {practitioner_id}", err=True)
        raise typer.Exit(1) from error
    typer.echo(f"approved: {practitioner_id} ({'listed' if listed else 'not listed yet'})")


def _read_password() -> str:
    if sys.stdin.isatty():
        import getpass

        first = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != first:
            typer.echo("erdv: the passwords differ", err=True)
            raise typer.Exit(2)
        return first
    line = sys.stdin.readline()
    return line[:-1] if line.endswith("\n") else line


@audit_cli.command("verify")
def audit_verify(
    anchor: Path | None = typer.Option(
        None,
        "--anchor",
        help="An anchor from `erdv audit anchor`: the chain must still reach the head it names.",
    ),
) -> None:
    """Recompute the hash chain: exit 0 with the head hash, or 1 naming the first bad entry."""
    settings = _settings()
    key = audit_key(settings.secret_key_bytes)
    pinned: tuple[int, str] | None = None
    if anchor is not None:
        try:
            pinned = read_anchor(anchor.read_text("utf-8"), settings.secret_key_bytes)
        except (OSError, UnicodeError, AnchorError) as error:
            typer.echo(f"erdv: {anchor}: {error}", err=True)
            raise typer.Exit(2) from error

    async def work(session: AsyncSession) -> VerifyResult:
        if pinned is None:
            return await verify(session, key)
        return await verify_with_anchor(session, key, pinned)

    result = asyncio.run(_in_transaction(settings, work, readonly=True))
    if result.ok:
        reached = f", reaches the anchored seq {pinned[0]}" if pinned else ""
        typer.echo(f"ok: {result.entries} entries, head {result.head}{reached}")
        return
    typer.echo(
        f"BROKEN at entry seq={result.first_bad_seq} id={result.first_bad}: {result.reason} "
        f"({result.entries} entries verified before it)",
        err=True,
    )
    raise typer.Exit(1)


@audit_cli.command("anchor")
def audit_anchor(
    output: Path = typer.Option(Path("-"), "--output", "-o", help="File to write; - for stdout."),
) -> None:
    """Print the verified head, signed: store it outside the database (another host, a ticket, a
    printout) and check it later with `erdv audit verify --anchor FILE` (docs/security.md)."""
    settings = _settings()
    try:
        document = asyncio.run(
            _in_transaction(
                settings,
                lambda session: make_anchor(session, settings.secret_key_bytes),
                readonly=True,
            )
        )
    except AnchorError as error:
        typer.echo(f"erdv: no anchor: {error}", err=True)
        raise typer.Exit(1) from error
    text = json.dumps(document, indent=2) + "\n"
    if str(output) == "-":
        typer.echo(text, nl=False)
    else:
        output.write_text(text, "utf-8")
        typer.echo(f"anchor written to {output} (seq {document['seq']})", err=True)


@audit_cli.command("export")
def audit_export(
    since: datetime | None = typer.Option(
        None, help="Entries at or after this instant (RFC 3339)."
    ),
    until: datetime | None = typer.Option(None, help="Entries before this instant (RFC 3339)."),
    output: Path = typer.Option(Path("-"), "--output", "-o", help="File to write; - for stdout."),
) -> None:
    """Stream the audit trail as NDJSON (FHIR AuditEvent lines, manifest last)."""
    settings = _settings()
    bounds = [_aware(value, name) for value, name in ((since, "--since"), (until, "--until"))]

    async def run() -> None:
        await _audit_export(settings, AuditAction.AUDIT_EXPORTED, "audit_export")
        engine = create_engine(settings)
        try:
            factory = session_factory(engine, readonly=True)
            with _open_output(output) as sink:
                async for line in export_ndjson(factory, since=bounds[0], until=bounds[1]):
                    sink.write(line)
        finally:
            await engine.dispose()

    asyncio.run(run())


def _aware(value: datetime | None, option: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        typer.echo(
            f"erdv: {option} needs a time zone offset, e.g. 2027-01-01T00:00:00+00:00", err=True
        )
        raise typer.Exit(2)
    return value


@contextmanager
def _open_output(path: Path) -> Iterator[BinaryIO]:
    if str(path) == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    with path.open("wb") as handle:
        yield handle


consents_cli = typer.Typer(help="Consent records.", no_args_is_help=True)
cli.add_typer(consents_cli, name="consents")


@consents_cli.command("export")
def consents_export(
    format: str = typer.Option("csv", "--format", help="csv or ndjson."),  # noqa: A002
    since: datetime | None = typer.Option(None, help="Decisions at or after (RFC 3339)."),
    until: datetime | None = typer.Option(None, help="Decisions before (RFC 3339)."),
    purpose: str | None = typer.Option(None, help="Only this purpose id."),
    output: Path = typer.Option(Path("-"), "--output", "-o", help="File to write; - for stdout."),
) -> None:
    """Stream the consent log (one row per decision), as the admin API does."""
    if format not in ("csv", "ndjson"):
        typer.echo("erdv: --format must be csv or ndjson", err=True)
        raise typer.Exit(2)
    settings = _settings()
    bounds = [_aware(value, name) for value, name in ((since, "--since"), (until, "--until"))]

    async def run() -> None:
        await _audit_export(settings, AuditAction.CONSENT_LOG_EXPORTED, "consent_log")
        engine = create_engine(settings)
        try:
            factory = session_factory(engine, readonly=True)
            with _open_output(output) as sink:
                async for chunk in export_consent_log(
                    factory,
                    fmt="csv" if format == "csv" else "ndjson",
                    since=bounds[0],
                    until=bounds[1],
                    purpose_id=purpose,
                ):
                    sink.write(chunk)
        finally:
            await engine.dispose()

    asyncio.run(run())


async def _audit_export(settings: Settings, action: AuditAction, object_type: str) -> None:
    """Exports from the command line are accesses too: recorded before the first byte."""
    key = audit_key(settings.secret_key_bytes)

    async def record(session: AsyncSession) -> None:
        await AuditTrail(session, key).record(
            action, actor=Actor.system(), object_type=object_type, details={"via": "cli"}
        )

    await _in_transaction(settings, record)


async def _in_transaction(
    settings: Settings, work: Callable[[AsyncSession], Awaitable[T]], *, readonly: bool = False
) -> T:
    """Run ``work`` in one transaction on a short-lived engine (commit on success)."""
    engine = create_engine(settings)
    try:
        async with transaction(session_factory(engine, readonly=readonly)) as session:
            return await work(session)
    finally:
        await engine.dispose()


outbox_cli = typer.Typer(help="The outbox of messages to deliver.", no_args_is_help=True)
cli.add_typer(outbox_cli, name="outbox")


@outbox_cli.command("list")
def outbox_list(
    status: str = typer.Option(
        "dead", "--status", help="pending, sending, sent, done or dead; 'all' for every state."
    ),
    limit: int = typer.Option(100, min=1, max=10_000, help="At most this many, newest first."),
) -> None:
    """Count messages by state, then list those in ``--status`` (dead ones by default): id, kind,
    channel, tries, when created, the last error. Never content or recipients."""
    from app.outbox import service as outbox
    from app.outbox.models import OutboxStatus

    chosen: OutboxStatus | None = None
    if status != "all":
        try:
            chosen = OutboxStatus(status)
        except ValueError as error:
            typer.echo(f"erdv: unknown status {status!r}", err=True)
            raise typer.Exit(2) from error
    settings = _settings()

    async def read(session: AsyncSession) -> tuple[dict[str, int], list[Any]]:
        return await outbox.counts(session), await outbox.messages(session, chosen, limit=limit)

    counts, rows = asyncio.run(_in_transaction(settings, read, readonly=True))
    typer.echo(" ".join(f"{name}={counts.get(name.value, 0)}" for name in OutboxStatus))
    for row in rows:
        typer.echo(
            f"{row.id}\t{row.status}\t{row.kind}\t{row.channel}\ttries={row.attempts}\t"
            f"created={row.created_at.isoformat()}\t{row.last_error or '-'}"
        )


@outbox_cli.command("retry")
def outbox_retry(
    message_ids: list[str] = typer.Argument(None, help="Dead messages to send again."),
    all_dead: bool = typer.Option(False, "--all-dead", help="Every dead message."),
) -> None:
    """Make dead messages due again (tries counted afresh); the servers deliver them at once."""
    import uuid as _uuid

    from app.outbox import service as outbox

    if bool(message_ids) == all_dead:
        typer.echo("erdv: name message ids, or --all-dead", err=True)
        raise typer.Exit(2)
    try:
        ids = None if all_dead else [_uuid.UUID(m) for m in message_ids]
    except ValueError as error:
        typer.echo("erdv: not a message id", err=True)
        raise typer.Exit(2) from error
    settings = _settings()
    retried = asyncio.run(_in_transaction(settings, lambda s: outbox.retry(s, ids)))
    for message_id in retried:
        typer.echo(f"retrying {message_id}")
    missing = set(ids or []) - set(retried)
    if missing:
        typer.echo(f"erdv: not dead or not found: {' '.join(map(str, missing))}", err=True)
        raise typer.Exit(1)
    typer.echo(f"{len(retried)} message(s) due again")


@cli.command()
def purge() -> None:
    """Run every retention job now (audit retention, visit reasons, idempotency keys)."""
    settings = _settings()

    async def run() -> list[str]:
        engine = create_engine(settings)
        try:
            factory = session_factory(engine)
            return [
                f"{job.name}: {await run_job(factory, settings, job, force=True)}" for job in JOBS
            ]
        finally:
            await engine.dispose()

    for line in asyncio.run(run()):
        typer.echo(line)


@cli.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to bind."),
    port: int = typer.Option(8000, help="Port to bind."),
    workers: int = typer.Option(1, min=1, help="Worker processes (state lives in the database)."),
    reload: bool = typer.Option(False, help="Reload on code changes (development)."),
) -> None:
    """Serve erdv over HTTP with uvicorn."""
    import uvicorn

    settings = _settings()
    if workers > 1 and settings.is_sqlite and not settings.is_production:
        typer.echo("note: several workers share one SQLite file; writes are serialized", err=True)
    if workers > 1 and settings.password_hash_threads is None:
        # The workers share the cores: one hashing thread per core per worker would run more
        # argon2 hashes than cores, each evicting the others' 19 MiB from the caches (measured:
        # 9 % fewer verifications per second with 4 threads on 2 cores than with 2).
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
    engine = create_engine(settings)
    try:
        slots = await connection_slots(engine)
    except (DBAPIError, OSError, TimeoutError) as error:
        typer.echo(
            f"erdv: warning: connection limit not checked ({type(error).__name__})", err=True
        )
        return None
    finally:
        await engine.dispose()
    return None if slots is None else pool_overflow(settings, processes, slots)


def main() -> None:
    try:
        cli()
    except KeyboardInterrupt:
        sys.exit(130)
    except (DBAPIError, OSError) as error:
        # Exit 2, not 1: for `audit verify`, 1 means "the chain is broken".
        print(
            f"erdv: database error ({type(error).__name__}); is it up and migrated "
            "(`erdv migrate`)?",
            file=sys.stderr,
        )
        sys.exit(2)


oauth_cli = typer.Typer(help="OAuth clients of third-party platforms.", no_args_is_help=True)
cli.add_typer(oauth_cli, name="oauth")


@oauth_cli.command("create-client")
def oauth_create_client(
    name: str = typer.Option(..., "--name", help="The platform's name, shown to patients."),
    redirect_uri: list[str] = typer.Option([], "--redirect-uri", help="Exact redirect URI."),
    grant: list[str] = typer.Option(..., "--grant", help="authorization_code, refresh_token..."),
    scope: list[str] = typer.Option(..., "--scope", help="A scope the client may ask for."),
) -> None:
    """Register a client, disabled until ``erdv oauth enable``; prints its id and secret as JSON
    (the secret is shown this once: erdv keeps only its HMAC)."""
    import json

    from app.core.errors import ErdvError
    from app.oauth import service

    settings = _settings()

    async def create(session: AsyncSession) -> dict[str, object]:
        created = await service.create_client(
            session,
            AuditTrail.for_settings(session, settings),
            settings,
            actor=Actor.system(),
            name=name,
            redirect_uris=redirect_uri,
            grant_types=grant,
            scopes=scope,
        )
        return {
            "client_id": created.client.client_id,
            "client_secret": created.client_secret,
            "enabled": False,
        }

    try:
        result = asyncio.run(_in_transaction(settings, create))
    except ErdvError as error:
        typer.echo(f"erdv: {error.detail}", err=True)
        raise typer.Exit(1) from error
    typer.echo(json.dumps(result))


@oauth_cli.command("enable")
def oauth_enable(client_id: str = typer.Argument(..., help="The client to enable.")) -> None:
    from app.core.errors import ErdvError
    from app.oauth import service

    settings = _settings()

    async def enable(session: AsyncSession) -> None:
        await service.set_client_enabled(
            session,
            AuditTrail.for_settings(session, settings),
            actor=Actor.system(),
            client_id=client_id,
            enabled=True,
        )

    try:
        asyncio.run(_in_transaction(settings, enable))
    except ErdvError as error:
        typer.echo(f"erdv: {error.detail}", err=True)
        raise typer.Exit(1) from error
    typer.echo(f"enabled: {client_id}")
