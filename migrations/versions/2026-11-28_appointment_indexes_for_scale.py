"""appointment indexes for scale

Found by the 10^7-appointment benchmark (bench/README.md, B10): "has this patient seen this
practitioner" scanned the patient's and the practitioner's whole histories (8 ms at 10^7), and the
hourly visit-reason retention job read the whole table for the few rows that still hold a reason.

Revision ID: 1a7079e3a347
Revises: 0dcfe22784ef
Create Date: 2026-11-28 19:16:55.154041
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '1a7079e3a347'
down_revision: str | None = '0dcfe22784ef'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.create_index('ix_appointment_patient_practitioner', ['patient_id', 'practitioner_id'], unique=False)
        batch_op.create_index('ix_appointment_reason_kept', ['end_at'], unique=False, postgresql_where=sa.text('visit_reason_ct IS NOT NULL'), sqlite_where=sa.text('visit_reason_ct IS NOT NULL'))



def downgrade() -> None:
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_index('ix_appointment_reason_kept', postgresql_where=sa.text('visit_reason_ct IS NOT NULL'), sqlite_where=sa.text('visit_reason_ct IS NOT NULL'))
        batch_op.drop_index('ix_appointment_patient_practitioner')

