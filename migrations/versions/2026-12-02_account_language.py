"""account language: the language of each person's mails and messages

Existing accounts get French, the service's default (every mail so far was English-only; each
person can now choose).

Revision ID: 3b8e51c0d2a7
Revises: 7d41c9a2e0b3
Create Date: 2026-12-02 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '3b8e51c0d2a7'
down_revision: str | None = '7d41c9a2e0b3'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'language',
                sqlmodel.sql.sqltypes.AutoString(length=2),
                server_default='fr',
                nullable=False,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_column('language')
