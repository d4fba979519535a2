"""The practice service bound to the request (session, audit, mail)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.audit.dependencies import Audit
from app.core.deps import AppSettings
from app.core.mail import OutgoingMail
from app.core.request_db import DbSession
from app.practice.places import PlacesService
from app.practice.service import PracticeService


async def get_practice_service(
    db: DbSession, settings: AppSettings, audit: Audit, mail: OutgoingMail
) -> PracticeService:
    return PracticeService(db, settings, audit, mail)


Practices = Annotated[PracticeService, Depends(get_practice_service)]


async def get_places_service(
    db: DbSession, settings: AppSettings, audit: Audit, mail: OutgoingMail
) -> PlacesService:
    return PlacesService(db, settings, audit, mail)


Places = Annotated[PlacesService, Depends(get_places_service)]
