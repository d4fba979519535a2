"""an anonymised appointment has no patient: patient_id may be NULL

Revision ID: e4b8f2a6c1d9
Revises: d2a6c8e0f4b7
Create Date: 2026-12-03 17:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'e4b8f2a6c1d9'
down_revision: str | None = 'd2a6c8e0f4b7'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.alter_column('patient_id', existing_type=sa.Uuid(), nullable=True)


def downgrade() -> None:
    # anonymised visits cannot get their patient back: they go before the column is required again
    op.execute("DELETE FROM booking_cell WHERE appointment_id IN (SELECT id FROM appointment WHERE patient_id IS NULL)")
    op.execute("DELETE FROM appointment WHERE patient_id IS NULL")
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.alter_column('patient_id', existing_type=sa.Uuid(), nullable=False)
