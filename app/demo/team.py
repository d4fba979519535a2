"""The demo secretary works for the demo practitioner (issue #25), so ``make run`` shows the desk."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.repository import AccountRepository
from app.core import clock
from app.core.settings import Settings
from app.demo.report import DemoReport
from app.practice.service import ensure_all
from app.team.models import MemberStatus, TeamMember
from app.team.repository import TeamRepository

SECRETARY = "secretary@demo.erdv.localhost"
PRACTITIONER = "practitioner@demo.erdv.localhost"


async def seed_demo_team(session: AsyncSession, settings: Settings, report: DemoReport) -> None:
    accounts = AccountRepository(session)
    secretary = await accounts.by_email(SECRETARY)
    practitioner = await accounts.by_email(PRACTITIONER)
    if secretary is None or practitioner is None:  # pragma: no cover - seeded by the step before
        return
    await ensure_all(session, practitioner.id)
    team = TeamRepository(session)
    if await team.by_email(practitioner.id, SECRETARY) is None:
        now = clock.now()
        await team.add(
            TeamMember(
                practice_id=practitioner.id,
                email=SECRETARY,
                account_id=secretary.id,
                status=MemberStatus.ACTIVE.value,
                invited_at=now,
                expires_at=now + timedelta(days=14),
                accepted_at=now,
            )
        )
    report.add(f"Demo secretary {SECRETARY} works in the agenda of {practitioner.full_name}.")
