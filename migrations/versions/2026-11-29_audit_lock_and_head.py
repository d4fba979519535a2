"""audit: take the writers' lock, then read the chain's head, in one round trip (PostgreSQL)

An audited transaction appends to the chain under the writers' advisory lock, after the head. A
single statement cannot read the head after its own lock wait: in READ COMMITTED its snapshot is
taken when it starts, so under contention (every booking at 16 clients waited 61 ms on average)
the head it read was already stale and the append needed three more statements, all under the
lock. A VOLATILE SQL function takes a fresh snapshot for each statement in it: the second one,
run once the lock is granted, sees every append committed before. SQLite needs nothing: its
transactions already hold the database's only write lock.

Revision ID: 7d41c9a2e0b3
Revises: 5c2d9e1b7f40
Create Date: 2026-11-29 00:50:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = '7d41c9a2e0b3'
down_revision: str | None = '5c2d9e1b7f40'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute(
        """
        CREATE FUNCTION erdv_audit_lock_and_head(lock_name text)
        RETURNS TABLE (seq bigint, hash varchar)
        LANGUAGE sql VOLATILE AS $$
            SELECT pg_advisory_xact_lock(hashtextextended(lock_name, 0));
            SELECT audit_entry.seq, audit_entry.hash FROM audit_entry
            ORDER BY audit_entry.seq DESC LIMIT 1;
        $$
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute('DROP FUNCTION erdv_audit_lock_and_head(text)')
