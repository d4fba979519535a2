"""The team service bound to the request (session, audit, mail)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.audit.dependencies import Audit
from app.core.deps import AppSettings
from app.core.mail import OutgoingMail
from app.core.request_db import DbSession
from app.team.service import TeamService


async def get_team_service(
    db: DbSession, settings: AppSettings, audit: Audit, mail: OutgoingMail
) -> TeamService:
    return TeamService(db, settings, audit, mail)


Team = Annotated[TeamService, Depends(get_team_service)]
