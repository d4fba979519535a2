"""A name search reads the page it returns, not every practice its pattern matches (B6b).

The directory's order is (``search_name``, ``id``); a search by name alone had no index in that
order, so PostgreSQL read every matching practice, checked its listing and sorted them all to keep
20. ``ix_practice_name`` lets it walk the names in order and stop at the page's end. The plan is
read from the statement the app really sends, with PostgreSQL's generic plan (a prepared
statement's, blind to the pattern), on a directory where the pattern matches every practice.
"""

from __future__ import annotations

import json

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.settings import Settings
from bench import dataset
from tests.helpers.statements import counting, rows_read

PRACTICES = 400
PAGE = 20


@pytest.mark.only_backend("postgres")
async def test_a_name_matching_the_whole_directory_reads_one_page(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, engine: AsyncEngine
) -> None:
    # the bench's own rows: listed practices named "Dr Bench 00000" and on, as erdv writes them
    await dataset.build(settings.database_url, settings, practitioners=PRACTICES, patients=0)
    with counting(app) as seen:
        response = await client.get("/api/v1/practitioners", params={"q": "bench", "limit": PAGE})
    assert response.status_code == 200, response.text
    assert len(response.json()["items"]) == PAGE
    sent = [
        (statement, parameters)
        for statement, parameters in zip(seen.statements, seen.parameters, strict=True)
        if "FROM practice" in statement and "search_name LIKE" in statement
    ]
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
    read = rows_read(plan[0]["Plan"], "practice")
    # the page and the one after it that says there is more; every match (400) without the index
    assert 0 < read <= PAGE + 1, json.dumps(plan, indent=1)
