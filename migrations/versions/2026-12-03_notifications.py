"""notifications: who a message is for and what about, once-only keys, ICS sequence, the
practitioner's new-booking mail switch

Revision ID: 4c7a1e9d2b60
Revises: b3e1f0c7a9d2
Create Date: 2026-12-03 07:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.db

revision: str = '4c7a1e9d2b60'
down_revision: str | None = 'b3e1f0c7a9d2'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recipient_id', sa.Uuid(), nullable=True))
        batch_op.add_column(
            sa.Column('topic', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )
        batch_op.add_column(
            sa.Column('dedupe_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True)
        )
        batch_op.create_index(
            'ix_outbox_message_recipient', ['recipient_id', 'created_at'], unique=False
        )
        batch_op.create_unique_constraint('uq_outbox_message_dedupe_key', ['dedupe_key'])
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('sequence', sa.Integer(), server_default='0', nullable=False)
        )
        batch_op.add_column(
            sa.Column('changed_at', app.core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            'ix_appointment_booked_start',
            ['start_at'],
            unique=False,
            postgresql_where=sa.text("status = 'booked'"),
            sqlite_where=sa.text("status = 'booked'"),
        )
    with op.batch_alter_table('practice', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('new_booking_mail', sa.Boolean(), server_default=sa.true(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table('practice', schema=None) as batch_op:
        batch_op.drop_column('new_booking_mail')
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_index(
            'ix_appointment_booked_start',
            postgresql_where=sa.text("status = 'booked'"),
            sqlite_where=sa.text("status = 'booked'"),
        )
        batch_op.drop_column('changed_at')
        batch_op.drop_column('sequence')
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_constraint('uq_outbox_message_dedupe_key', type_='unique')
        batch_op.drop_index('ix_outbox_message_recipient')
        batch_op.drop_column('dedupe_key')
        batch_op.drop_column('topic')
        batch_op.drop_column('recipient_id')
