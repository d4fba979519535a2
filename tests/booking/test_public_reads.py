"""The public directory reads on a read session: on SQLite they never wait for the write lock."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from sqlalchemy.engine import make_url

from app.core.settings import Settings
from tests.factories import People
from tests.helpers.booking import ready_practitioner


@pytest.mark.only_backend("sqlite")
async def test_search_profile_and_slots_answer_while_another_process_writes(
    people: People, settings: Settings
) -> None:
    """Another process (the CLI, a second worker) holds SQLite's write lock: the directory still
    answers at once, from a snapshot, instead of queueing behind the writer for its busy timeout."""
    doctor, _ = await ready_practitioner(people)
    anyone = people.client()
    writer = sqlite3.connect(str(make_url(settings.database_url).database), isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        for path in (
            "/api/v1/practitioners",
            f"/api/v1/practitioners/{doctor.account_id}",
            f"/api/v1/practitioners/{doctor.account_id}/slots",
        ):
            response = await asyncio.wait_for(anyone.get(path), timeout=5)
            assert response.status_code == 200, (path, response.text)
    finally:
        writer.rollback()
        writer.close()
