"""audit: a MAC'd head record; on PostgreSQL, triggers that keep the trail append-only

Deleting the newest entries left a shorter chain that verified (issue 20). ``audit_head`` pins the
newest entry's seq and hash, MAC'd, rewritten in the transaction of every append; ``erdv migrate``
pins it for a trail written before this revision.

On PostgreSQL, triggers refuse what only tampering does, whoever connects (docs/security.md,
"Audit trail: who may change it", for the grants that go with them):
- UPDATE of an entry or a checkpoint, DELETE of a checkpoint or of the head record;
- DELETE of an entry that no purge checkpoint covers: the retention purge writes its checkpoint
  first, then deletes through it (``app.audit.service.purge_older_than``), so it keeps working
  and nothing newer can go, by the purge or anyone;
- moving the head record backwards.
A superuser can still disable triggers (``session_replication_role``): the head record's MAC and
an anchor kept outside the database (``erdv audit anchor``) are what catch that.

Revision ID: b3e1f0c7a9d2
Revises: 9c4d2e7f1b35
Create Date: 2026-12-02 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.db

revision: str = 'b3e1f0c7a9d2'
down_revision: str | None = '9c4d2e7f1b35'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_GUARDS = (
"""
CREATE FUNCTION erdv_audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'erdv: % on % is refused: the audit trail is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$
""",
"""
CREATE FUNCTION erdv_audit_entry_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM erdv_deleted_entries
        WHERE seq > (SELECT coalesce(max(cut_seq), 0) FROM audit_checkpoint)
    ) THEN
        RAISE EXCEPTION 'erdv: DELETE on audit_entry is refused beyond the last purge checkpoint'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NULL;
END
$$
""",
"""
CREATE FUNCTION erdv_audit_head_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.seq < OLD.seq THEN
        RAISE EXCEPTION 'erdv: the audit head record only moves forward'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$
""",
"""CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_entry
    FOR EACH ROW EXECUTE FUNCTION erdv_audit_refuse()""",
"""CREATE TRIGGER audit_entry_purge_only AFTER DELETE ON audit_entry
    REFERENCING OLD TABLE AS erdv_deleted_entries
    FOR EACH STATEMENT EXECUTE FUNCTION erdv_audit_entry_deleted()""",
"""CREATE TRIGGER audit_checkpoint_kept BEFORE UPDATE OR DELETE ON audit_checkpoint
    FOR EACH ROW EXECUTE FUNCTION erdv_audit_refuse()""",
"""CREATE TRIGGER audit_head_kept BEFORE DELETE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION erdv_audit_refuse()""",
"""CREATE TRIGGER audit_head_forward BEFORE UPDATE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION erdv_audit_head_moved()""",
)


def upgrade() -> None:
    op.create_table('audit_head',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('mac', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('updated_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_head'))
    )
    if op.get_bind().dialect.name == 'postgresql':
        for statement in _GUARDS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER audit_head_forward ON audit_head')
        op.execute('DROP TRIGGER audit_head_kept ON audit_head')
        op.execute('DROP TRIGGER audit_checkpoint_kept ON audit_checkpoint')
        op.execute('DROP TRIGGER audit_entry_purge_only ON audit_entry')
        op.execute('DROP TRIGGER audit_entry_no_update ON audit_entry')
        op.execute('DROP FUNCTION erdv_audit_head_moved()')
        op.execute('DROP FUNCTION erdv_audit_entry_deleted()')
        op.execute('DROP FUNCTION erdv_audit_refuse()')
    op.drop_table('audit_head')
