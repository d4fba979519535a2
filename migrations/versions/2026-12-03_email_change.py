"""email change: the address a change_email link confirms

Revision ID: 7d2f4b8a1c93
Revises: 4c7a1e9d2b60
Create Date: 2026-12-03 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '7d2f4b8a1c93'
down_revision: str | None = '4c7a1e9d2b60'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('account_token', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('new_email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table('account_token', schema=None) as batch_op:
        batch_op.drop_column('new_email')
