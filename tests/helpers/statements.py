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


@contextmanager
def counting(app: FastAPI) -> Iterator[Counter]:
    """Counts every statement the app's engine sends to the database inside the block."""
    counter = Counter()
    engine = app.state.engine.sync_engine

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        counter.statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", before)
