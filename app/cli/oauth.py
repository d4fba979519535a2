"""``erdv oauth``: OAuth clients of third-party platforms."""

from __future__ import annotations

import asyncio
import json

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.service import (
    Actor,
    AuditTrail,
)
from app.cli.common import in_transaction, load_settings

commands = typer.Typer(help="OAuth clients of third-party platforms.", no_args_is_help=True)


@commands.command("create-client")
def oauth_create_client(
    name: str = typer.Option(..., "--name", help="The platform's name, shown to patients."),
    redirect_uri: list[str] = typer.Option([], "--redirect-uri", help="Exact redirect URI."),
    grant: list[str] = typer.Option(..., "--grant", help="authorization_code, refresh_token..."),
    scope: list[str] = typer.Option(..., "--scope", help="A scope the client may ask for."),
) -> None:
    """Register a client, disabled until ``erdv oauth enable``; prints its id and secret as JSON
    (the secret is shown this once: erdv keeps only its HMAC)."""

    from app.core.errors import ErdvError
    from app.oauth import service

    settings = load_settings()

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
        result = asyncio.run(in_transaction(settings, create))
    except ErdvError as error:
        typer.echo(f"erdv: {error.detail}", err=True)
        raise typer.Exit(1) from error
    typer.echo(json.dumps(result))


@commands.command("enable")
def oauth_enable(client_id: str = typer.Argument(..., help="The client to enable.")) -> None:
    from app.core.errors import ErdvError
    from app.oauth import service

    settings = load_settings()

    async def enable(session: AsyncSession) -> None:
        await service.set_client_enabled(
            session,
            AuditTrail.for_settings(session, settings),
            actor=Actor.system(),
            client_id=client_id,
            enabled=True,
        )

    try:
        asyncio.run(in_transaction(settings, enable))
    except ErdvError as error:
        typer.echo(f"erdv: {error.detail}", err=True)
        raise typer.Exit(1) from error
    typer.echo(f"enabled: {client_id}")
