"""What every command shares: the settings, one transaction, a password read without echo, and
the files an export writes."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditAction
from app.audit.service import (
    Actor,
    AuditTrail,
    audit_key,
)
from app.core.datadir import make_private
from app.core.db import create_engine, session_factory, transaction
from app.core.settings import Settings, SettingsError, get_settings

T = TypeVar("T")


def load_settings() -> Settings:
    try:
        settings = get_settings()
    except (SettingsError, ValueError) as error:
        typer.echo(f"erdv: configuration error: {error}", err=True)
        raise typer.Exit(2) from error
    make_private(settings)
    return settings


async def in_transaction(
    settings: Settings, work: Callable[[AsyncSession], Awaitable[T]], *, readonly: bool = False
) -> T:
    """Run ``work`` in one transaction on a short-lived engine (commit on success)."""
    engine = create_engine(settings)
    try:
        async with transaction(session_factory(engine, readonly=readonly)) as session:
            return await work(session)
    finally:
        await engine.dispose()


def read_password() -> str:
    if sys.stdin.isatty():
        import getpass

        first = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != first:
            typer.echo("erdv: the passwords differ", err=True)
            raise typer.Exit(2)
        return first
    line = sys.stdin.readline()
    return line[:-1] if line.endswith("\n") else line


def aware(value: datetime | None, option: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        typer.echo(
            f"erdv: {option} needs a time zone offset, e.g. 2027-01-01T00:00:00+00:00", err=True
        )
        raise typer.Exit(2)
    return value


@contextmanager
def open_output(path: Path) -> Iterator[BinaryIO]:
    if str(path) == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    with path.open("wb") as handle:
        yield handle


async def record_export(settings: Settings, action: AuditAction, object_type: str) -> None:
    """Exports from the command line are accesses too: recorded before the first byte."""
    key = audit_key(settings.secret_key_bytes)

    async def record(session: AsyncSession) -> None:
        await AuditTrail(session, key).record(
            action, actor=Actor.system(), object_type=object_type, details={"via": "cli"}
        )

    await in_transaction(settings, record)
