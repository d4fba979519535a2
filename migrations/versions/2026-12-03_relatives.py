"""relatives: the people a patient books for, and the appointment's relative

Revision ID: b5e8d1f3a7c2
Revises: 9a4c6e2f8b15
Create Date: 2026-12-03 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.db

revision: str = 'b5e8d1f3a7c2'
down_revision: str | None = '9a4c6e2f8b15'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'relative',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('account_id', sa.Uuid(), nullable=False),
        sa.Column('full_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('birth_date', sa.Date(), nullable=True),
        sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('erased_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['account_id'], ['account.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('relative', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_relative_account_id'), ['account_id'], unique=False)
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('relative_id', sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            'fk_appointment_relative_id_relative', 'relative', ['relative_id'], ['id']
        )


def downgrade() -> None:
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_constraint('fk_appointment_relative_id_relative', type_='foreignkey')
        batch_op.drop_column('relative_id')
    with op.batch_alter_table('relative', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_relative_account_id'))
    op.drop_table('relative')
