"""A name search reads the page it returns, not every practice its pattern matches (B6b).

The directory's order is (``search_name``, ``id``); a search by name alone had no index in that
order, so PostgreSQL read every matching practice, checked its listing and sorted them all to keep
20. ``ix_practice_name`` lets it walk the names in order and stop at the page's end. The plan is
read from the statement the app really sends, with PostgreSQL's generic plan (a prepared
statement's, blind to the pattern), on a directory where the pattern matches every practice.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.settings import Settings
from bench import dataset

PRACTICES = 400
PAGE = 20


def _practice_rows_read(plan: dict[str, Any]) -> Iterator[int]:
    """Rows each scan of the practice table produced or filtered out, over all its loops."""
    if plan.get("Relation Name") == "practice":
        rows = int(plan.get("Actual Rows", 0)) + int(plan.get("Rows Removed by Filter", 0))
        yield rows * int(plan.get("Actual Loops", 1))
    for child in plan.get("Plans", []):
        yield from _practice_rows_read(child)


@pytest.mark.only_backend("postgres")
async def test_a_name_matching_the_whole_directory_reads_one_page(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, engine: AsyncEngine
) -> None:
    # the bench's own rows: listed practices named "Dr Bench 00000" and on, as erdv writes them
    await dataset.build(settings.database_url, settings, practitioners=PRACTICES, patients=0)
    sent: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "FROM practice" in statement and "search_name LIKE" in statement:
            sent.append((statement, parameters))

    sync_engine = app.state.engine.sync_engine
    event.listen(sync_engine, "before_cursor_execute", capture)
    try:
        response = await client.get("/api/v1/practitioners", params={"q": "bench", "limit": PAGE})
    finally:
        event.remove(sync_engine, "before_cursor_execute", capture)
    assert response.status_code == 200, response.text
    assert len(response.json()["items"]) == PAGE
    assert len(sent) == 1, sent
    statement, parameters = sent[0]

    async with engine.connect() as connection:
        await connection.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
        plan = (
            await connection.exec_driver_sql(
                f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", parameters
            )
        ).scalar_one()
    plan = json.loads(plan) if isinstance(plan, str) else plan
    read = sum(_practice_rows_read(plan[0]["Plan"]))
    # the page and the one after it that says there is more; every match (400) without the index
    assert 0 < read <= PAGE + 1, json.dumps(plan, indent=1)
