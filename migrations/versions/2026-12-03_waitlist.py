"""a fair waiting list: patients' requests for an earlier slot, and the holds offered to them

Revision ID: d5b7f9a1c3e4
Revises: c4a6e8f0b2d3
Create Date: 2026-12-03 21:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = 'd5b7f9a1c3e4'
down_revision: str | None = 'c4a6e8f0b2d3'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'waitlist_entry',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('patient_id', sa.Uuid(), nullable=False),
        sa.Column('practitioner_id', sa.Uuid(), nullable=False),
        sa.Column('visit_reason_ct', sa.Text(), nullable=False),
        sa.Column('before_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['patient_id'], ['account.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['practitioner_id'], ['practice.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint(
            'patient_id', 'practitioner_id', name='uq_waitlist_patient_practitioner'
        ),
    )
    op.create_index(
        'ix_waitlist_practitioner_order', 'waitlist_entry', ['practitioner_id', 'created_at', 'id']
    )
    op.create_table(
        'waitlist_offer',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('entry_id', sa.Uuid(), nullable=False),
        sa.Column('practitioner_id', sa.Uuid(), nullable=False),
        sa.Column('start_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('end_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('site_id', sa.Uuid(), nullable=True),
        sa.Column('hold_until', app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('pending', sa.Boolean(), nullable=False),
        sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['entry_id'], ['waitlist_entry.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('entry_id', 'start_at', name='uq_waitlist_offer_entry_start'),
    )
    op.create_index(
        'ix_waitlist_offer_hold', 'waitlist_offer', ['practitioner_id', 'hold_until']
    )


def downgrade() -> None:
    op.drop_index('ix_waitlist_offer_hold', table_name='waitlist_offer')
    op.drop_table('waitlist_offer')
    op.drop_index('ix_waitlist_practitioner_order', table_name='waitlist_entry')
    op.drop_table('waitlist_entry')
