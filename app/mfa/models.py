"""TOTP credentials and recovery codes (docs/security.md "MFA", RFC 6238, NIST SP 800-63B AAL2).

The TOTP seed must be read back to compute codes, so it cannot be hashed: it is encrypted with
AES-256-GCM (``ColumnCipher``) under associated data naming the account, so a ciphertext copied onto
another account does not decrypt. ``last_step`` is the last accepted RFC 6238 time step: a code is
accepted only by advancing it (``UPDATE ... WHERE last_step < :step``), which refuses replays and makes
two racing requests with one code yield exactly one success. Recovery codes are stored as HMACs.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime, new_id


class TotpCredential(SQLModel, table=True):
    __tablename__ = "totp_credential"

    account_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("account.id", ondelete="CASCADE"), primary_key=True
        )
    )
    #: the active seed, encrypted; null until the first activation
    secret: str | None = Field(default=None, max_length=255)
    #: a seed being enrolled (shown once, confirmed by one valid code), encrypted
    pending_secret: str | None = Field(default=None, max_length=255)
    last_step: int = Field(default=0, sa_type=sa.BigInteger)
    activated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class RecoveryCode(SQLModel, table=True):
    __tablename__ = "recovery_code"

    id: uuid.UUID = Field(default_factory=new_id, sa_type=sa.Uuid, primary_key=True)
    account_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("account.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    code_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
