"""the practitioner in the keys of the practice's tables (the Citus plan, app/distribution.py)

Citus asks of a distributed table that its primary key and unique constraints include the
distribution column, and that foreign keys between distributed tables run on it. The practice's
tables gain the practitioner in their primary keys (after ``id``: a lookup by id alone still uses
the key's index), the foreign keys between them name the practitioner too, and the two token
hashes are unique together with their practice. The appointment's site loses its ON DELETE SET
NULL (it would null the practitioner as well): removing a site lets go of its past visits first.

Revision ID: f7a9c1e3b5d7
Revises: f7d9b1c3e5a6
Create Date: 2026-12-04 19:00:00.000000
"""

import warnings
from collections.abc import Sequence

from alembic import op
from sqlalchemy.exc import SAWarning

revision: str = 'f7a9c1e3b5d7'
down_revision: str | None = 'f7d9b1c3e5a6'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: table -> the practitioner's column that joins ``id`` in its primary key
KEYED = {
    'practice_site': 'practitioner_id',
    'visit_reason': 'practitioner_id',
    'absence': 'practitioner_id',
    'appointment': 'practitioner_id',
    'waitlist_entry': 'practitioner_id',
    'waitlist_offer': 'practitioner_id',
    'team_member': 'practice_id',
}


def _primary_key(table: str, columns: list[str]) -> None:
    if op.get_bind().dialect.name == 'sqlite':
        # SQLite cannot alter a key: the batch copies the table with the new one. SQLAlchemy warns
        # that the copy's key differs from the reflected one, which is the point.
        with warnings.catch_warnings():
            warnings.filterwarnings('ignore', "Table '_alembic_tmp_", SAWarning)
            with op.batch_alter_table(table, recreate='always') as batch_op:
                batch_op.create_primary_key(f'pk_{table}', columns)
        return
    op.drop_constraint(f'pk_{table}', table, type_='primary')
    op.create_primary_key(f'pk_{table}', table, columns)


def _drop_foreign_keys(site_fk: str) -> None:
    """The foreign keys that point at keys about to change go first."""
    with op.batch_alter_table('booking_cell') as batch_op:
        batch_op.drop_constraint('fk_booking_cell_appointment_id_appointment', type_='foreignkey')
    with op.batch_alter_table('appointment') as batch_op:
        batch_op.drop_constraint(site_fk, type_='foreignkey')
    with op.batch_alter_table('waitlist_offer') as batch_op:
        batch_op.drop_constraint('fk_waitlist_offer_entry_id_waitlist_entry', type_='foreignkey')
        batch_op.drop_constraint('uq_waitlist_offer_entry_start', type_='unique')


def upgrade() -> None:
    _drop_foreign_keys('fk_appointment_site_id')
    for table, column in KEYED.items():
        _primary_key(table, ['id', column])
    with op.batch_alter_table('waitlist_offer') as batch_op:
        batch_op.create_unique_constraint(
            'uq_waitlist_offer_entry_start', ['entry_id', 'start_at', 'practitioner_id']
        )
        batch_op.create_foreign_key(
            'fk_waitlist_offer_entry_id_waitlist_entry', 'waitlist_entry',
            ['entry_id', 'practitioner_id'], ['id', 'practitioner_id'], ondelete='CASCADE',
        )  # fmt: skip
    with op.batch_alter_table('appointment') as batch_op:
        batch_op.create_foreign_key(
            'fk_appointment_site_id_practice_site', 'practice_site',
            ['site_id', 'practitioner_id'], ['id', 'practitioner_id'],
        )  # fmt: skip
    with op.batch_alter_table('booking_cell') as batch_op:
        batch_op.create_foreign_key(
            'fk_booking_cell_appointment_id_appointment', 'appointment',
            ['appointment_id', 'practitioner_id'], ['id', 'practitioner_id'], ondelete='CASCADE',
        )  # fmt: skip
    with op.batch_alter_table('calendar_feed') as batch_op:
        batch_op.drop_constraint('uq_calendar_feed_token_hash', type_='unique')
        batch_op.create_unique_constraint(
            'uq_calendar_feed_token_practice', ['token_hash', 'practice_id']
        )
    with op.batch_alter_table('team_member') as batch_op:
        batch_op.drop_constraint('uq_team_member_token_hash', type_='unique')
        batch_op.create_unique_constraint(
            'uq_team_member_token_practice', ['token_hash', 'practice_id']
        )


def downgrade() -> None:
    with op.batch_alter_table('team_member') as batch_op:
        batch_op.drop_constraint('uq_team_member_token_practice', type_='unique')
        batch_op.create_unique_constraint('uq_team_member_token_hash', ['token_hash'])
    with op.batch_alter_table('calendar_feed') as batch_op:
        batch_op.drop_constraint('uq_calendar_feed_token_practice', type_='unique')
        batch_op.create_unique_constraint('uq_calendar_feed_token_hash', ['token_hash'])
    _drop_foreign_keys('fk_appointment_site_id_practice_site')
    for table in KEYED:
        _primary_key(table, ['id'])
    with op.batch_alter_table('waitlist_offer') as batch_op:
        batch_op.create_unique_constraint('uq_waitlist_offer_entry_start', ['entry_id', 'start_at'])
        batch_op.create_foreign_key(
            'fk_waitlist_offer_entry_id_waitlist_entry', 'waitlist_entry', ['entry_id'], ['id'],
            ondelete='CASCADE',
        )  # fmt: skip
    with op.batch_alter_table('appointment') as batch_op:
        batch_op.create_foreign_key(
            'fk_appointment_site_id', 'practice_site', ['site_id'], ['id'], ondelete='SET NULL'
        )
    with op.batch_alter_table('booking_cell') as batch_op:
        batch_op.create_foreign_key(
            'fk_booking_cell_appointment_id_appointment', 'appointment', ['appointment_id'], ['id'],
            ondelete='CASCADE',
        )  # fmt: skip
