"""The idempotent demo seed behind ``erdv demo`` and ``make run``.

Each step seeds one part (``people``: the demo accounts; ``practices``: practices and a booking);
running the seed twice changes nothing the
second time. Demo data exists only outside production: the command refuses to run there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.settings import Settings
from app.demo.people import seed_demo_accounts
from app.demo.practices import seed_demo_practices
from app.demo.report import DemoReport
from app.demo.team import seed_demo_team

DemoStep = Callable[[AsyncSession, Settings, DemoReport], Awaitable[None]]

#: Ordered: later steps may rely on what earlier ones created.
STEPS: list[DemoStep] = [seed_demo_accounts, seed_demo_practices, seed_demo_team]
