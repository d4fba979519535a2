"""``erdv demo``: seed the demo (idempotent; refused in production)."""

from __future__ import annotations

import asyncio

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from app.cli.common import in_transaction, load_settings
from app.core.settings import Settings
from app.demo import STEPS
from app.demo.report import DemoReport


def demo() -> None:
    """Seed demo data (idempotent). Refused in production."""
    settings = load_settings()
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

    return await in_transaction(settings, run)
