"""Consent tables.

``consent_purpose_version`` is the immutable registry of every (purpose, version, text hash) erdv
has ever shown, synced from ``charter/`` at start-up: a consent record points at one of these rows,
so it always says exactly which text the person saw (GDPR Art. 7(1): the controller must be able to
demonstrate consent). A row is never updated; a changed text is a new version.
"""

from __future__ import annotations

from datetime import datetime

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
