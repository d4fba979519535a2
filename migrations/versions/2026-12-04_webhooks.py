"""webhook endpoints of OAuth clients (Standard Webhooks delivery from the outbox)

Revision ID: e6c8a0b2d4f5
Revises: d5b7f9a1c3e4
Create Date: 2026-12-04 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = 'e6c8a0b2d4f5'
down_revision: str | None = 'd5b7f9a1c3e4'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'webhook_endpoint',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('client_id', sa.String(length=64), nullable=False),
        sa.Column('url', sa.String(length=2000), nullable=False),
        sa.Column('events', sa.JSON(), nullable=False),
        # the signing secret, AES-GCM bound to the row (app/webhooks/models.py)
        sa.Column('secret_ct', sa.Text(), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['client_id'], ['oauth_client.client_id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_webhook_endpoint_client_id', 'webhook_endpoint', ['client_id'])


def downgrade() -> None:
    op.drop_index('ix_webhook_endpoint_client_id', table_name='webhook_endpoint')
    op.drop_table('webhook_endpoint')
