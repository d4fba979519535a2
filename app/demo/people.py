"""Demo accounts for ``erdv demo`` / ``make run`` (never in production: the command refuses).

Fixed passwords and TOTP secrets, printed, so a newcomer can sign in with any authenticator app.
Idempotent: existing demo accounts are left as they are.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Account, Role
from app.accounts.password_policy import rpps_with_check_digit
from app.accounts.repository import AccountRepository
from app.core import clock
from app.core.hashing import PasswordHasher
from app.core.settings import Settings
from app.demo.report import DemoReport
from app.mfa.service import MfaService

DEMO_PASSWORD = "Demo-Harbor-Lantern-2027"  # noqa: S105 - demo only, printed, refused in production
DEMO_ACCOUNTS = (
    # (role, email, name, TOTP secret (base32))
    (
        Role.PATIENT,
        "patient@demo.erdv.localhost",
        "Camille Martin",
        "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
    ),
    (
        Role.PRACTITIONER,
        "practitioner@demo.erdv.localhost",
        "Dr Alix Bernard",
        "KRUGS4ZAON2GK3DPEBQW4ZDJNZTSA3LF",
    ),
    (
        Role.SECRETARY,
        "secretary@demo.erdv.localhost",
        "Dominique Accueil",
        "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
    ),
    (Role.ADMIN, "admin@demo.erdv.localhost", "Sam Admin", "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U"),
)


async def seed_demo_accounts(session: AsyncSession, settings: Settings, report: DemoReport) -> None:
    repository = AccountRepository(session)
    mfa = MfaService(session, settings)
    hasher = PasswordHasher(settings)
    try:
        report.add("Demo accounts (password for all: " + DEMO_PASSWORD + "):")
        for role, email, name, secret in DEMO_ACCOUNTS:
            if await repository.by_email(email) is None:
                now = clock.now()
                account = await repository.add(
                    Account(
                        email=email,
                        role=role.value,
                        full_name=name,
                        rpps=rpps_with_check_digit("1000000042")
                        if role is Role.PRACTITIONER
                        else None,
                        password_hash=await hasher.hash(DEMO_PASSWORD),
                        email_verified_at=now,
                        password_changed_at=now,
                        created_at=now,
                    )
                )
                await mfa.install_known_secret(account.id, secret)
            report.add(f"  {role.value:<13} {email:<36} TOTP secret {secret}")
    finally:
        hasher.close()
