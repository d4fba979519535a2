"""the practice team: secretaries, practice-entered bookings for people without an account

Revision ID: a7d9e1f3b5c8
Revises: f1c3d5e7a9b2
Create Date: 2026-12-03 18:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = 'a7d9e1f3b5c8'
down_revision: str | None = 'f1c3d5e7a9b2'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'team_member',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('practice_id', sa.Uuid(), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('account_id', sa.Uuid(), nullable=True),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=True),
        sa.Column('invited_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('accepted_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['account_id'], ['account.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['practice_id'], ['practice.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('practice_id', 'email', name='uq_team_member_practice_email'),
        sa.UniqueConstraint('token_hash'),
    )
    op.create_index('ix_team_member_account', 'team_member', ['account_id', 'practice_id'])
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact_name', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('contact_phone', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('contact_email', sa.String(length=254), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_column('contact_email')
        batch_op.drop_column('contact_phone')
        batch_op.drop_column('contact_name')
    op.drop_index('ix_team_member_account', table_name='team_member')
    op.drop_table('team_member')
