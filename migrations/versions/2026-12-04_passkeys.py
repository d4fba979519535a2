"""passkeys (WebAuthn credentials) and their ceremonies' challenges

``passkey`` keeps what WebAuthn L2 §6.1.3 asks a relying party to keep of each credential (its id,
public key, signature counter, transports) plus a name, ``created_at`` and ``last_used_at``.
``webauthn_challenge`` holds the challenges of ceremonies in progress: in the database because
several processes serve the site, each row spent once and expiring within minutes
(``app/mfa/models.py``).

Revision ID: f7d9b1c3e5a6
Revises: e6c8a0b2d4f5
Create Date: 2026-12-04 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = 'f7d9b1c3e5a6'
down_revision: str | None = 'e6c8a0b2d4f5'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'passkey',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('account_id', sa.Uuid(), nullable=False),
        sa.Column('credential_id', sa.String(length=1400), nullable=False),
        sa.Column('public_key', sa.LargeBinary(), nullable=False),
        sa.Column('sign_count', sa.BigInteger(), nullable=False),
        sa.Column('transports', sa.String(length=200), nullable=True),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_used_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['account_id'], ['account.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('credential_id'),
    )
    op.create_index(op.f('ix_passkey_account_id'), 'passkey', ['account_id'], unique=False)
    op.create_table(
        'webauthn_challenge',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('challenge_hash', sa.String(length=64), nullable=False),
        sa.Column('purpose', sa.String(length=16), nullable=False),
        sa.Column('bound_to', sa.String(length=64), nullable=False),
        sa.Column('account_id', sa.Uuid(), nullable=True),
        sa.Column('expires_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['account.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('challenge_hash'),
    )
    op.create_index(
        op.f('ix_webauthn_challenge_expires_at'), 'webauthn_challenge', ['expires_at'], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f('ix_webauthn_challenge_expires_at'), table_name='webauthn_challenge')
    op.drop_table('webauthn_challenge')
    op.drop_index(op.f('ix_passkey_account_id'), table_name='passkey')
    op.drop_table('passkey')
