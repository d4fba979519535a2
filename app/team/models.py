"""Team tables: who works for which practice (issue #25, docs/api.md "Practice team").

A row is an invitation until its invitee accepts it (``status`` ``invited``, the mailed token's
hash kept), then a membership (``active``, the account set, the token hash gone). Removing a
member deletes the row: access is computed from the rows on every request, so it ends at once.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime, new_id
from app.core.repository import table_of


class MemberStatus(StrEnum):
    INVITED = "invited"
    ACTIVE = "active"


class TeamRole(StrEnum):
    SECRETARY = "secretary"


class TeamMember(SQLModel, table=True):
    __tablename__ = "team_member"
    __table_args__ = (
        # one invitation or membership per address and practice
        sa.UniqueConstraint("practice_id", "email", name="uq_team_member_practice_email"),
        sa.Index("ix_team_member_account", "account_id", "practice_id"),
        # unique with the practice (the distribution column, app/distribution.py); an invitation
        # is found by its hash alone, through this index's first column
        sa.UniqueConstraint("token_hash", "practice_id", name="uq_team_member_token_practice"),
    )

    id: uuid.UUID = Field(default_factory=new_id, sa_type=sa.Uuid, primary_key=True)
    #: in the key: the practice is the distribution column (app/distribution.py)
    practice_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("practice.id", ondelete="CASCADE"), primary_key=True
        )
    )
    #: the invited address, normalised; the account that accepted may have it or not
    email: str = Field(max_length=254)
    account_id: uuid.UUID | None = Field(
        default=None,
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("account.id", ondelete="CASCADE")),
    )
    role: str = Field(default=TeamRole.SECRETARY.value, max_length=16)
    status: str = Field(default=MemberStatus.INVITED.value, max_length=16)
    #: HMAC of the mailed invitation token (``app.core.crypto.hash_token``); None once accepted
    token_hash: str | None = Field(default=None, max_length=64)
    invited_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    accepted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


member_table = table_of(TeamMember)
