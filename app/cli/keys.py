"""``erdv reseal``: after a key rotation, every encrypted column sealed again with the new key.

A rotation, in order (docs/security.md "Secrets at rest"): set the new key as
``ERDV_ENCRYPTION_KEY`` and the old one in ``ERDV_PREVIOUS_ENCRYPTION_KEYS`` on every server and
restart them (they read both, seal with the new one); run ``erdv reseal`` with the same settings;
when it reports nothing left, drop the old key. The servers keep serving throughout.
"""

from __future__ import annotations

import asyncio

import typer

from app.audit.models import AuditAction
from app.audit.service import Actor, AuditTrail, audit_key
from app.cli.common import load_settings
from app.core.crypto import ColumnCipher
from app.core.db import create_engine, session_factory, transaction
from app.core.sealing import Resealed, reseal
from app.sealed import SEALED


def reseal_command() -> None:
    """Seal every encrypted column again with ERDV_ENCRYPTION_KEY (after a key rotation)."""
    settings = load_settings()
    cipher = ColumnCipher.from_settings(settings)

    async def run() -> dict[str, Resealed]:
        engine = create_engine(settings)
        try:
            factory = session_factory(engine)
            results = {sealed.name: await reseal(factory, cipher, sealed) for sealed in SEALED}
            async with transaction(factory) as session:
                await AuditTrail(session, audit_key(settings.secret_key_bytes)).record(
                    AuditAction.KEYS_RESEALED,
                    actor=Actor.system(),
                    details={
                        "resealed": sum(done.resealed for done in results.values()),
                        "unreadable": sum(done.unreadable for done in results.values()),
                        "via": "cli",
                    },
                )
            return results
        finally:
            await engine.dispose()

    results = asyncio.run(run())
    unreadable = {name: done.unreadable for name, done in results.items() if done.unreadable}
    for name, done in results.items():
        typer.echo(f"{name}: {done.resealed} resealed")
    if unreadable:
        for name, count in unreadable.items():
            typer.echo(
                f"erdv: {name}: {count} value(s) no configured key opens; keep or restore the "
                "key that sealed them in ERDV_PREVIOUS_ENCRYPTION_KEYS and run again",
                err=True,
            )
        raise typer.Exit(1)
