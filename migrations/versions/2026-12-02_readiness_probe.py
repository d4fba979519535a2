"""readiness probe row

Revision ID: 9c4d2e7f1b35
Revises: 3b8e5f1c2a90
Create Date: 2026-12-02 11:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = '9c4d2e7f1b35'
down_revision: str | None = '3b8e5f1c2a90'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('readiness_probe',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('probed_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_readiness_probe'))
    )


def downgrade() -> None:
    op.drop_table('readiness_probe')
