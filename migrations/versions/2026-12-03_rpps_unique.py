"""one account per RPPS number: a partial unique index

A database that already holds two accounts with one RPPS number stops this migration with a
unique violation: find them with
``SELECT rpps, count(*) FROM account WHERE rpps IS NOT NULL GROUP BY rpps HAVING count(*) > 1``
and settle which one is the practitioner's before upgrading.

Revision ID: 9a4c6e2f8b15
Revises: 7d2f4b8a1c93
Create Date: 2026-12-03 15:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '9a4c6e2f8b15'
down_revision: str | None = '7d2f4b8a1c93'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.create_index(
            'uq_account_rpps',
            ['rpps'],
            unique=True,
            postgresql_where=sa.text('rpps IS NOT NULL'),
            sqlite_where=sa.text('rpps IS NOT NULL'),
        )


def downgrade() -> None:
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_index('uq_account_rpps')
