"""``erdv consents``: export the consent records."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import typer

from app.audit.models import AuditAction
from app.cli.common import aware, load_settings, open_output, record_export
from app.consent.export import export_consent_log
from app.core.db import create_engine, session_factory

commands = typer.Typer(help="Consent records.", no_args_is_help=True)


@commands.command("export")
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
    settings = load_settings()
    bounds = [aware(value, name) for value, name in ((since, "--since"), (until, "--until"))]

    async def run() -> None:
        await record_export(settings, AuditAction.CONSENT_LOG_EXPORTED, "consent_log")
        engine = create_engine(settings)
        try:
            factory = session_factory(engine, readonly=True)
            with open_output(output) as sink:
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
