"""``erdv admin``: administrators."""

from __future__ import annotations

import asyncio

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.service import (
    AuditTrail,
)
from app.cli.common import in_transaction, load_settings, read_password

commands = typer.Typer(help="Administrators.", no_args_is_help=True)


@commands.command("create")
def admin_create(
    email: str = typer.Option(..., "--email", help="The admin's email address."),
    name: str = typer.Option("Administrator", "--name", help="The admin's display name."),
) -> None:
    """Create a verified admin; the password is read from standard input, never from arguments.

    The admin enrols TOTP at the first login. erdv ships no default account.
    """
    settings = load_settings()
    password = read_password()
    from app.accounts.administration import AccountAdministration
    from app.accounts.errors import WeakPassword
    from app.accounts.schemas import normalize_email
    from app.core.errors import Conflict
    from app.core.hashing import PasswordHasher
    from app.throttle.service import DatabaseStore, Policies, Throttle

    try:
        address = normalize_email(email)
    except ValueError as error:
        typer.echo(f"erdv: {error}", err=True)
        raise typer.Exit(2) from error
    hasher = PasswordHasher(settings)

    async def create(session: AsyncSession) -> str:
        service = AccountAdministration(
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
        account_id = asyncio.run(in_transaction(settings, create))
    except (WeakPassword, Conflict) as error:
        typer.echo(f"erdv: {error.detail}", err=True)
        raise typer.Exit(1) from error
    finally:
        hasher.close()
    typer.echo(f"admin created: {account_id} (TOTP enrolment at first login)")
