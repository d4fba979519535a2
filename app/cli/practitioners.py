"""``erdv practitioners``: approve a practitioner from the command line."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.service import (
    Actor,
    AuditTrail,
)
from app.cli.common import in_transaction, load_settings

commands = typer.Typer(help="Practitioners.", no_args_is_help=True)


@commands.command("approve")
def practitioners_approve(
    practitioner_id: str = typer.Argument(..., help="Practitioner id."),
) -> None:
    """Approve a practitioner once their RPPS number is checked in the official directory."""
    import uuid as _uuid

    from app.practice.errors import PractitionerNotFound
    from app.practice.models import PracticeStatus
    from app.practice.service import PracticeService

    settings = load_settings()
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
        listed = asyncio.run(in_transaction(settings, approve))
    except PractitionerNotFound as error:
        typer.echo(f"erdv: no practitioner {practitioner_id}", err=True)
        raise typer.Exit(1) from error
    typer.echo(f"approved: {practitioner_id} ({'listed' if listed else 'not listed yet'})")


@commands.command("notify")
def practitioners_notify(
    subject_fr: str = typer.Option(..., "--subject-fr", help="The subject, in French."),
    subject_en: str = typer.Option(..., "--subject-en", help="The subject, in English."),
    body_fr: Path = typer.Option(..., "--body-fr", help="A UTF-8 text file: the French body."),
    body_en: Path = typer.Option(..., "--body-en", help="A UTF-8 text file: the English body."),
) -> None:
    """Mail a notice to every practitioner with an active account, each in their language: a
    change of sub-processors or a data breach (the practitioner contract's clause 4;
    docs/operations.md). The outbox delivers it (a running server's worker)."""
    from app.notifications.operator import notify_practitioners

    settings = load_settings()
    subjects = {"fr": subject_fr.strip(), "en": subject_en.strip()}
    bodies: dict[str, str] = {}
    for language, path in (("fr", body_fr), ("en", body_en)):
        try:
            bodies[language] = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as error:
            typer.echo(f"erdv: cannot read {path}: {error}", err=True)
            raise typer.Exit(2) from error
    empty = [f"subject ({k})" for k, v in subjects.items() if not v] + [
        f"body ({k})" for k, v in bodies.items() if not v
    ]
    if empty or any("\n" in s or "\r" in s for s in subjects.values()):
        typer.echo(f"erdv: {', '.join(empty) or 'a subject'} must be one non-empty line", err=True)
        raise typer.Exit(2)

    async def notify(session: AsyncSession) -> int:
        return await notify_practitioners(session, settings, subjects, bodies)

    count = asyncio.run(in_transaction(settings, notify))
    typer.echo(f"queued: {count} practitioners (a server's outbox worker delivers them)")
