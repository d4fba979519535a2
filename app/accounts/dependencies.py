"""The accounts services, wired for a request (``Auth``, ``Passwords``, ``Administration``,
``Passkeys``); who may call is ``app.auth``'s."""

from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import Depends, Request

from app.accounts.administration import AccountAdministration
from app.accounts.base import AccountsBase
from app.accounts.passkeys import PasskeyService
from app.accounts.recovery import PasswordService
from app.accounts.service import AuthService
from app.audit.service import AuditTrail
from app.core.deps import settings_of
from app.core.hashing import PasswordHasher
from app.core.mail import OutgoingMail
from app.core.request_db import Database
from app.throttle.dependencies import throttle_for

ServiceType = TypeVar("ServiceType", bound=AccountsBase)


def _wired(
    kind: type[ServiceType], request: Request, database: Database, mail: OutgoingMail
) -> ServiceType:
    """Wired from the app's state, not from the settings, hasher, throttle and audit dependencies:
    FastAPI's resolution of each costs Python on every login and every session step, and none of
    them does I/O (bench/README.md "Performance rules in the code")."""
    db = database.session
    settings = settings_of(request)
    passwords: PasswordHasher = request.app.state.passwords
    return kind(
        db,
        settings,
        passwords,
        throttle_for(request, db, settings),
        AuditTrail.for_settings(db, settings),
        mail,
    )


async def get_auth_service(request: Request, database: Database, mail: OutgoingMail) -> AuthService:
    return _wired(AuthService, request, database, mail)


async def get_password_service(
    request: Request, database: Database, mail: OutgoingMail
) -> PasswordService:
    return _wired(PasswordService, request, database, mail)


async def get_account_administration(
    request: Request, database: Database, mail: OutgoingMail
) -> AccountAdministration:
    return _wired(AccountAdministration, request, database, mail)


Auth = Annotated[AuthService, Depends(get_auth_service)]
Passwords = Annotated[PasswordService, Depends(get_password_service)]
Administration = Annotated[AccountAdministration, Depends(get_account_administration)]


async def get_passkey_service(
    request: Request, database: Database, mail: OutgoingMail
) -> PasskeyService:
    return _wired(PasskeyService, request, database, mail)


Passkeys = Annotated[PasskeyService, Depends(get_passkey_service)]
