"""a practice's secret calendar feed

Revision ID: b8e0f2a4c6d1
Revises: a7d9e1f3b5c8
Create Date: 2026-12-03 19:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = 'b8e0f2a4c6d1'
down_revision: str | None = 'a7d9e1f3b5c8'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'calendar_feed',
        sa.Column('practice_id', sa.Uuid(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['practice_id'], ['practice.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('practice_id'),
        sa.UniqueConstraint('token_hash'),
    )


def downgrade() -> None:
    op.drop_table('calendar_feed')
