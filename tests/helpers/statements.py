"""Counting the SQL statements a request runs, for the hot paths' budgets.

Each statement is a round trip and Python on the event loop: a budget in a test keeps a
refactoring from silently adding one (bench/README.md "Performance rules in the code").
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import event


class Counter:
    """The statements seen so far, in order (their SQL text)."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        #: each statement's parameters, as the driver got them (to EXPLAIN it as it was sent)
        self.parameters: list[Any] = []


@contextmanager
def counting(app: FastAPI) -> Iterator[Counter]:
    """Counts every statement the app's engine sends to the database inside the block."""
    counter = Counter()
    engine = app.state.engine.sync_engine

    def before(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        counter.statements.append(statement)
        counter.parameters.append(parameters)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", before)


def rows_read(plan: dict[str, Any], relation: str | None = None) -> int:
    """Rows the plan nodes produced or filtered out over all their loops (EXPLAIN ANALYZE, JSON:
    both counts are per loop), children included; with ``relation``, only the nodes that scan that
    table."""
    here = 0
    if relation is None or plan.get("Relation Name") == relation:
        per_loop = int(plan.get("Actual Rows", 0)) + int(plan.get("Rows Removed by Filter", 0))
        here = per_loop * int(plan.get("Actual Loops", 1))
    return here + sum(rows_read(child, relation) for child in plan.get("Plans", []))
