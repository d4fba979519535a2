"""The repository kit: what every repository needs to stay typed.

SQLModel leaves two things untyped that repositories use all the time: a model's Core table
(``__table__``, which the hot paths query with SQLAlchemy Core) and the number of rows an UPDATE or
DELETE changed (``rowcount``, on the cursor result only). Both are read here, once, so repositories
return real types instead of ``Any`` and carry no ``type: ignore`` of their own
(docs/architecture.md "SQL only in repositories").
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Result


def table_of(model: type[Any]) -> sa.Table:
    """The Core table behind a SQLModel (or declarative) class."""
    table = getattr(model, "__table__", None)
    if not isinstance(table, sa.Table):
        raise TypeError(f"{model.__name__} is not mapped to a table")
    return table


def changed(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE changed (0 when the driver cannot tell)."""
    return int(getattr(result, "rowcount", 0) or 0)
