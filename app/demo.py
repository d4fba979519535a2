"""The idempotent demo seed behind ``erdv demo`` and ``make run``.

Each domain that has something to show contributes a step; running the seed twice changes nothing the
second time. Demo data exists only outside production: the command refuses to run there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.settings import Settings


@dataclass
class DemoReport:
    """What the seed created or found, printed for a newcomer (logins, TOTP secrets)."""

    lines: list[str] = field(default_factory=list)

    def add(self, line: str) -> None:
        self.lines.append(line)


DemoStep = Callable[[AsyncSession, Settings, DemoReport], Awaitable[None]]

#: Ordered: later steps may rely on what earlier ones created.
STEPS: list[DemoStep] = []


def _register_steps() -> None:
    # imported late: the steps import DemoReport from here
    from app.accounts.demo import seed_demo_accounts
    from app.practice.demo import seed_demo_practices

    STEPS.append(seed_demo_accounts)
    STEPS.append(seed_demo_practices)


_register_steps()
