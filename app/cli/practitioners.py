"""``erdv practitioners``: approve a practitioner from the command line."""

from __future__ import annotations

import asyncio

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
