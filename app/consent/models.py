"""Consent tables.

``consent_purpose_version`` is the immutable registry of every (purpose, version, text hash) erdv
has ever shown, synced from ``charter/`` at start-up: a consent record points at one of these rows,
so it always says exactly which text the person saw (GDPR Art. 7(1): the controller must be able to
demonstrate consent). A row is never updated; a changed text is a new version.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime


class ConsentPurposeVersion(SQLModel, table=True):
    __tablename__ = "consent_purpose_version"

    purpose_id: str = Field(primary_key=True, max_length=64)
    version: int = Field(primary_key=True)
    audience: str = Field(max_length=16)
    kind: str = Field(max_length=16)
    required_for: str | None = Field(default=None, max_length=16)
    clause_ids: str = Field(max_length=200)  # comma-separated clause ids
    text_sha256: str = Field(max_length=64)
    text_en_sha256: str = Field(max_length=64)
    registered_at: datetime = Field(sa_type=UTCDateTime)


class ConsentDecision(SQLModel, table=True):
    """One decision, never updated or deleted while the account lives (+5 years, docs/charter.md "Retention").

    ``client_id`` scopes a ``third-party-sharing`` decision to one OAuth client; it is empty ("")
    for every other purpose so that (account, purpose, scope) is a plain key on every database.
    """

    __tablename__ = "consent_decision"
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["purpose_id", "purpose_version"],
            ["consent_purpose_version.purpose_id", "consent_purpose_version.version"],
        ),
        sa.Index("ix_consent_decision_account_decided", "account_id", "decided_at"),
        sa.Index("ix_consent_decision_decided_at", "decided_at"),
    )

    id: uuid.UUID = Field(sa_type=sa.Uuid, primary_key=True)
    account_id: uuid.UUID = Field(sa_type=sa.Uuid, foreign_key="account.id")
    purpose_id: str = Field(max_length=64)
    purpose_version: int
    scope: str = Field(default="", max_length=64)
    decision: str = Field(max_length=16)  # grant | withdraw
    decided_at: datetime = Field(sa_type=UTCDateTime)
    text_sha256: str = Field(max_length=64)
    channel: str = Field(max_length=16)  # web | oauth-consent
    receipt_sha256: str = Field(max_length=64)


class ConsentState(SQLModel, table=True):
    """The current state per (account, purpose, scope), kept beside the log in the same transaction
    so that gates (booking, listing) read one row instead of scanning the history."""

    __tablename__ = "consent_state"

    account_id: uuid.UUID = Field(sa_type=sa.Uuid, foreign_key="account.id", primary_key=True)
    purpose_id: str = Field(primary_key=True, max_length=64)
    scope: str = Field(default="", primary_key=True, max_length=64)
    status: str = Field(max_length=16)  # granted | withdrawn
    purpose_version: int
    decided_at: datetime = Field(sa_type=UTCDateTime)
    decision_id: uuid.UUID = Field(sa_type=sa.Uuid)
