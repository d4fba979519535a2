"""drop the appointment end_at index

Every slot search and booking asks for one practitioner's appointments in a window
(``practitioner_id = ? AND start_at in a range AND end_at > ?``). With ``ix_appointment_end``
available, PostgreSQL may read it for ``end_at > now`` and walk every practitioner's future
appointments to keep one practitioner's handful (6,000 rows read for 6 kept, measured on the
benchmark's database); the more the service is used, the worse that plan gets. Nothing else needs
the index any more: the retention job reads ``ix_appointment_reason_kept``, the patient's and the
practitioner's lists their own (id, start) indexes. One index fewer is also one write fewer per
booking.

Revision ID: 5c2d9e1b7f40
Revises: 1a7079e3a347
Create Date: 2026-11-28 21:40:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = '5c2d9e1b7f40'
down_revision: str | None = '1a7079e3a347'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_index('ix_appointment_end')


def downgrade() -> None:
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.create_index('ix_appointment_end', ['end_at'], unique=False)
