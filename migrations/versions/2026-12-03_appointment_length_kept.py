"""the retention job's index of visits that still have a length

Revision ID: c7f1a3e5b9d4
Revises: b5e8d1f3a7c2
Create Date: 2026-12-03 16:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'c7f1a3e5b9d4'
down_revision: str | None = 'b5e8d1f3a7c2'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.create_index(
            'ix_appointment_length_kept',
            ['end_at'],
            unique=False,
            postgresql_where=sa.text('end_at <> start_at'),
            sqlite_where=sa.text('end_at <> start_at'),
        )


def downgrade() -> None:
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_index(
            'ix_appointment_length_kept',
            postgresql_where=sa.text('end_at <> start_at'),
            sqlite_where=sa.text('end_at <> start_at'),
        )
