"""C2 titles and mode of practice, C6 the generic visit reason, C12 a practice's closing

Revision ID: f1c3d5e7a9b2
Revises: e4b8f2a6c1d9
Create Date: 2026-12-03 17:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = 'f1c3d5e7a9b2'
down_revision: str | None = 'e4b8f2a6c1d9'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('practice', schema=None) as batch_op:
        batch_op.add_column(sa.Column('titles', sa.Text(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('practice_mode', sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column('closed_at', app.core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column('purged_at', app.core.db.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table('visit_reason', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('generic', sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table('visit_reason', schema=None) as batch_op:
        batch_op.drop_column('generic')
    with op.batch_alter_table('practice', schema=None) as batch_op:
        batch_op.drop_column('purged_at')
        batch_op.drop_column('closed_at')
        batch_op.drop_column('practice_mode')
        batch_op.drop_column('titles')
