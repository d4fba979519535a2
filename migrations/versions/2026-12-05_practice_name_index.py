"""an index on the practice's search name, in the directory's order

A search by name alone (``q``, no profession, no city) had no index in the directory's order
(``search_name``, ``id``): PostgreSQL read every practice the pattern matched, checked each one's
listing, and sorted them all to keep a page of 20. With the index it walks the names in order and
stops once the page is full (bench/README.md, B6b: 7.8 to 0.6 ms for a name matching all 1,000
practices of the full bench).

Revision ID: a3c5e7f9b1d2
Revises: f7a9c1e3b5d7
Create Date: 2026-12-05 14:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = 'a3c5e7f9b1d2'
down_revision: str | None = 'f7a9c1e3b5d7'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_practice_name', 'practice', ['search_name', 'id'])


def downgrade() -> None:
    op.drop_index('ix_practice_name', table_name='practice')
