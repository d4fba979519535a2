"""sites and date overrides: each practice's address becomes its main site

Revision ID: c4a6e8f0b2d3
Revises: b8e0f2a4c6d1
Create Date: 2026-12-03 20:00:00.000000
"""

import json
import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = 'c4a6e8f0b2d3'
down_revision: str | None = 'b8e0f2a4c6d1'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'practice_site',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('practitioner_id', sa.Uuid(), nullable=False),
        sa.Column('label', sa.String(length=80), nullable=False),
        sa.Column('address', sa.String(length=300), nullable=False),
        sa.Column('city', sa.String(length=100), nullable=False),
        sa.Column('city_key', sa.String(length=100), nullable=False),
        sa.Column('postcode', sa.String(length=10), nullable=False),
        sa.Column('timezone', sa.String(length=64), nullable=False),
        sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['practitioner_id'], ['practice.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_practice_site_practitioner_id', 'practice_site', ['practitioner_id'])
    op.create_index('ix_site_city', 'practice_site', ['city_key', 'practitioner_id'])
    op.create_index('ix_site_postcode', 'practice_site', ['postcode', 'practitioner_id'])
    with op.batch_alter_table('practice', schema=None) as batch_op:
        batch_op.add_column(sa.Column('overrides', sa.Text(), nullable=False, server_default='{}'))
        batch_op.add_column(
            sa.Column('site_zones', sa.Text(), nullable=False, server_default='{}')
        )
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('site_id', sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            'fk_appointment_site_id', 'practice_site', ['site_id'], ['id'], ondelete='SET NULL'
        )
    _main_sites()


def _main_sites() -> None:
    """Every practice with an address or a city gets one site holding it, which its opening
    blocks then name (issue #26: "existing practices migrate to one site")."""
    bind = op.get_bind()
    practice = sa.table(
        'practice',
        sa.column('id', sa.Uuid()),
        sa.column('address', sa.String()),
        sa.column('city', sa.String()),
        sa.column('city_key', sa.String()),
        sa.column('timezone', sa.String()),
        sa.column('weekly', sa.Text()),
        sa.column('site_zones', sa.Text()),
    )
    site = sa.table(
        'practice_site',
        sa.column('id', sa.Uuid()),
        sa.column('practitioner_id', sa.Uuid()),
        sa.column('label', sa.String()),
        sa.column('address', sa.String()),
        sa.column('city', sa.String()),
        sa.column('city_key', sa.String()),
        sa.column('postcode', sa.String()),
        sa.column('timezone', sa.String()),
        sa.column('created_at', app.core.db.UTCDateTime(timezone=True)),
    )
    now = datetime.now(UTC)
    rows = bind.execute(
        sa.select(practice).where(sa.or_(practice.c.city != '', practice.c.address != ''))
    ).all()
    for row in rows:
        site_id = uuid.uuid4()
        bind.execute(
            site.insert().values(
                id=site_id,
                practitioner_id=row.id,
                label='Cabinet',
                address=row.address,
                city=row.city,
                city_key=row.city_key,
                postcode=_postcode_in(row.address),
                timezone=row.timezone,
                created_at=now,
            )
        )
        weekly = [{**block, 'site_id': str(site_id)} for block in json.loads(row.weekly or '[]')]
        bind.execute(
            practice.update()
            .where(practice.c.id == row.id)
            .values(
                weekly=json.dumps(weekly, separators=(',', ':')),
                site_zones=json.dumps({str(site_id): row.timezone}),
            )
        )


def _postcode_in(address: str) -> str:
    """The five-digit postcode an address says, as ``app.practice.profile.postcode_in`` finds it
    (copied: a migration does not follow the code it was written beside)."""
    found = re.search(r'\b(\d{5})\b', address)
    return found.group(1) if found else ''


def downgrade() -> None:
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_constraint('fk_appointment_site_id', type_='foreignkey')
        batch_op.drop_column('site_id')
    with op.batch_alter_table('practice', schema=None) as batch_op:
        batch_op.drop_column('site_zones')
        batch_op.drop_column('overrides')
    op.drop_index('ix_site_postcode', table_name='practice_site')
    op.drop_index('ix_site_city', table_name='practice_site')
    op.drop_index('ix_practice_site_practitioner_id', table_name='practice_site')
    op.drop_table('practice_site')
