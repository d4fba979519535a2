"""Accounts, their single-use tokens and their server-side sessions.

Nothing here is a secret in clear: passwords are argon2id PHC strings, verification and reset tokens
and session tokens are stored only as HMAC-SHA256 (``app.core.crypto.hash_token``), so a copy of the
database yields no usable credential (docs/security.md "Sessions", "Secrets at rest").
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime, new_id
from app.core.settings import Settings


class Role(StrEnum):
    PATIENT = "patient"
    PRACTITIONER = "practitioner"
    #: works in the agendas of the practices that invited them (``app.team``), never books as a
    #: patient; registers only with an invitation
    SECRETARY = "secretary"
    ADMIN = "admin"


class AccountStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    #: erased at its holder's request (GDPR art. 17): the row stays, naming nobody, because past
    #: appointments and consent proofs point at it (``AuthService.erase``)
    DELETED = "deleted"


class TokenPurpose(StrEnum):
    VERIFY_EMAIL = "verify_email"
    PASSWORD_RESET = "password_reset"  # noqa: S105 - a purpose name
    CHANGE_EMAIL = "change_email"


class SessionState(StrEnum):
    """A session is *partial* until the second factor is done (docs/api.md "Accounts, sessions and MFA")."""

    MFA_SETUP = "mfa_setup"  # password ok, no TOTP yet: may only enrol
    MFA = "mfa"  # password ok, TOTP enrolled: may only verify a code
    FULL = "full"


class Account(SQLModel, table=True):
    __tablename__ = "account"
    __table_args__ = (
        sa.Index(
            "uq_account_rpps",
            "rpps",
            unique=True,
            postgresql_where=sa.text("rpps IS NOT NULL"),
            sqlite_where=sa.text("rpps IS NOT NULL"),
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id, sa_type=sa.Uuid, primary_key=True)
    #: lower-cased at the edge; unique
    email: str = Field(max_length=254, unique=True)
    role: str = Field(max_length=16)
    full_name: str = Field(max_length=200)
    phone: str | None = Field(default=None, max_length=32)
    #: practitioners only: 11 digits with a Luhn check digit; one account per number (a partial
    #: unique index, ``uq_account_rpps``)
    rpps: str | None = Field(default=None, max_length=11)
    #: the language of the mails and messages sent to this person: "fr" (default) or "en"
    language: str = Field(default="fr", max_length=2, sa_column_kwargs={"server_default": "fr"})
    password_hash: str = Field(max_length=255)
    status: str = Field(default=AccountStatus.ACTIVE.value, max_length=16)
    email_verified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    password_changed_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    #: when the account was erased (``AccountStatus.DELETED``): the clock of what outlives it
    #: (consent proofs, ``app.consent.retention``)
    erased_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AccountToken(SQLModel, table=True):
    """Single-use, expiring tokens sent by mail (email verification, password reset, a change of
    address)."""

    __tablename__ = "account_token"

    id: uuid.UUID = Field(default_factory=new_id, sa_type=sa.Uuid, primary_key=True)
    account_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("account.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    purpose: str = Field(max_length=32)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: ``change_email`` only: the address the link confirms (it becomes the account's once used)
    new_email: str | None = Field(default=None, max_length=254)


class AuthSession(SQLModel, table=True):
    """A browser session. The cookie holds a 256-bit token; the row holds only its HMAC."""

    __tablename__ = "auth_session"

    id: uuid.UUID = Field(default_factory=new_id, sa_type=sa.Uuid, primary_key=True)
    account_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("account.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    token_hash: str = Field(max_length=64, unique=True)
    state: str = Field(max_length=16)
    #: when the password was checked: the absolute timeout counts from here, across rotations
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_seen_at: datetime = Field(sa_type=UTCDateTime)
    #: when the second factor completed (the session became full)
    authenticated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: last successful ``/reauth`` (sensitive operations need it within 10 minutes)
    reauthenticated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=200)

    def ended(self, role: str, now: datetime, settings: Settings) -> bool:
        """Past its idle or absolute timeout (docs/security.md "Sessions", ASVS V7.3): idle
        ``session_idle_minutes_patient`` for patients, ``_staff`` for everyone else; absolute
        ``session_absolute_hours`` from the password step, whatever the activity."""
        idle = timedelta(
            minutes=settings.session_idle_minutes_patient
            if role == Role.PATIENT.value
            else settings.session_idle_minutes_staff
        )
        return now - self.last_seen_at > idle or now - self.created_at > timedelta(
            hours=settings.session_absolute_hours
        )


class Relative(SQLModel, table=True):
    """Someone a patient books for (a child, a parent they care for): a name and a birth date,
    nothing else (minimisation). Removed, a relative's row stays without name or birth date
    (``erased_at``), because the appointments it had point at it and a practice's agenda must
    not show the account holder's name in its place."""

    __tablename__ = "relative"

    id: uuid.UUID = Field(default_factory=new_id, sa_type=sa.Uuid, primary_key=True)
    account_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("account.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    full_name: str = Field(max_length=200)
    birth_date: date | None = Field(default=None)
    created_at: datetime = Field(sa_type=UTCDateTime)
    erased_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
