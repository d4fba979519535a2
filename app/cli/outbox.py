"""``erdv outbox``: the messages to deliver, and a second chance for dead ones."""

from __future__ import annotations

import asyncio
from typing import Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from app.cli.common import in_transaction, load_settings

commands = typer.Typer(help="The outbox of messages to deliver.", no_args_is_help=True)


@commands.command("list")
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
    settings = load_settings()

    async def read(session: AsyncSession) -> tuple[dict[str, int], list[Any]]:
        return await outbox.counts(session), await outbox.messages(session, chosen, limit=limit)

    counts, rows = asyncio.run(in_transaction(settings, read, readonly=True))
    typer.echo(" ".join(f"{name}={counts.get(name.value, 0)}" for name in OutboxStatus))
    for row in rows:
        typer.echo(
            f"{row.id}\t{row.status}\t{row.kind}\t{row.channel}\ttries={row.attempts}\t"
            f"created={row.created_at.isoformat()}\t{row.last_error or '-'}"
        )


@commands.command("retry")
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
    settings = load_settings()
    retried = asyncio.run(in_transaction(settings, lambda s: outbox.retry(s, ids)))
    for message_id in retried:
        typer.echo(f"retrying {message_id}")
    missing = set(ids or []) - set(retried)
    if missing:
        typer.echo(f"erdv: not dead or not found: {' '.join(map(str, missing))}", err=True)
        raise typer.Exit(1)
    typer.echo(f"{len(retried)} message(s) due again")
