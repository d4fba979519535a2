"""baseline: the empty root every later revision builds on

Revision ID: 42f011499ca8
Revises: 
Create Date: 2026-11-28 15:40:40.973755
"""

from collections.abc import Sequence

revision: str = '42f011499ca8'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
