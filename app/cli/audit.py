"""``erdv audit``: verify, anchor and export the tamper-evident trail."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from pathlib import Path

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.export import export_ndjson
from app.audit.models import AuditAction
from app.audit.service import (
    AnchorError,
    VerifyResult,
    audit_key,
    make_anchor,
    read_anchor,
    verify,
    verify_with_anchor,
)
from app.cli.common import aware, in_transaction, load_settings, open_output, record_export
from app.core.db import create_engine, session_factory

commands = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)


@commands.command("verify")
def audit_verify(
    anchor: Path | None = typer.Option(
        None,
        "--anchor",
        help="An anchor from `erdv audit anchor`: the chain must still reach the head it names.",
    ),
) -> None:
    """Recompute the hash chain: exit 0 with the head hash, or 1 naming the first bad entry."""
    settings = load_settings()
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

    result = asyncio.run(in_transaction(settings, work, readonly=True))
    if result.ok:
        reached = f", reaches the anchored seq {pinned[0]}" if pinned else ""
        typer.echo(f"ok: {result.entries} entries, head {result.head}{reached}")
        return
    # the entry's id when the bad entry exists, its seq alone when it is missing (removed)
    named = f" id={result.first_bad}" if result.first_bad else ""
    verdict = (
        f"BROKEN at entry seq={result.first_bad_seq}{named}: {result.reason} "
        f"({result.entries} entries verified before it)"
    )
    # the verdict is the command's answer (stdout, as "ok: ..." is); on stderr too, for a
    # pipeline or a cron job that shows only errors
    typer.echo(verdict)
    typer.echo(verdict, err=True)
    raise typer.Exit(1)


@commands.command("anchor")
def audit_anchor(
    output: Path = typer.Option(Path("-"), "--output", "-o", help="File to write; - for stdout."),
) -> None:
    """Print the verified head, signed: store it outside the database (another host, a ticket, a
    printout) and check it later with `erdv audit verify --anchor FILE` (docs/security.md)."""
    settings = load_settings()
    try:
        document = asyncio.run(
            in_transaction(
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


@commands.command("export")
def audit_export(
    since: datetime | None = typer.Option(
        None, help="Entries at or after this instant (RFC 3339)."
    ),
    until: datetime | None = typer.Option(None, help="Entries before this instant (RFC 3339)."),
    output: Path = typer.Option(Path("-"), "--output", "-o", help="File to write; - for stdout."),
) -> None:
    """Stream the audit trail as NDJSON (FHIR AuditEvent lines, manifest last)."""
    settings = load_settings()
    bounds = [aware(value, name) for value, name in ((since, "--since"), (until, "--until"))]

    async def run() -> None:
        await record_export(settings, AuditAction.AUDIT_EXPORTED, "audit_export")
        engine = create_engine(settings)
        try:
            factory = session_factory(engine, readonly=True)
            with open_output(output) as sink:
                async for line in export_ndjson(factory, since=bounds[0], until=bounds[1]):
                    sink.write(line)
        finally:
            await engine.dispose()

    asyncio.run(run())
