"""The accounts service, wired for a request (``Auth``); who may call is ``app.auth``'s."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.accounts.service import AuthService
from app.audit.service import AuditTrail
from app.core.db import Database
from app.core.deps import settings_of
from app.core.mail import OutgoingMail
from app.core.passwords import PasswordHasher
from app.throttle.dependencies import throttle_for


async def get_auth_service(request: Request, database: Database, mail: OutgoingMail) -> AuthService:
    """Wired from the app's state, not from the settings, hasher, throttle and audit dependencies:
    FastAPI's resolution of each costs Python on every login and every session step (bench B7),
    and none of them does I/O."""
    db = database.session
    settings = settings_of(request)
    passwords: PasswordHasher = request.app.state.passwords
    return AuthService(
        db,
        settings,
        passwords,
        throttle_for(request, db, settings),
        AuditTrail.for_settings(db, settings),
        mail,
    )


Auth = Annotated[AuthService, Depends(get_auth_service)]
