"""Admin suspension ends every session of the account; reinstatement lets it back in."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from app.audit.repository import entry_table
from tests.factories import People
from tests.helpers.problems import assert_problem


async def test_suspend_and_reinstate(people: People, engine: AsyncEngine) -> None:
    admin = await people.signed_in(role="admin")
    patient = await people.signed_in(role="patient")
    url = f"/api/v1/admin/accounts/{patient.account_id}"

    assert_problem(await patient.post(f"{url}/suspend"), 403, "forbidden")
    suspended = await admin.post(f"{url}/suspend")
    assert suspended.status_code == 200
    assert suspended.json() == {"id": patient.account_id, "role": "patient", "status": "suspended"}
    assert_problem(await patient.get("/api/v1/auth/session"), 401, "not_authenticated")
    assert_problem(await patient.login(), 403, "account_suspended")

    assert (await admin.post(f"{url}/reinstate")).json()["status"] == "active"
    assert (await patient.login()).status_code == 200

    assert_problem(
        await admin.post(f"/api/v1/admin/accounts/{admin.account_id}/suspend"),
        409,
        "cannot_suspend_self",
    )
    missing = "00000000-0000-4000-8000-000000000000"
    assert_problem(await admin.post(f"/api/v1/admin/accounts/{missing}/suspend"), 404, "not_found")

    async with engine.connect() as connection:
        actions = (
            await connection.execute(
                sa.select(entry_table.c.action, entry_table.c.actor_id).where(
                    entry_table.c.subject_id == patient.account_id,
                    entry_table.c.action.in_(["account.suspended", "account.reinstated"]),
                )
            )
        ).all()
    assert [(a, actor) for a, actor in actions] == [
        ("account.suspended", admin.account_id),
        ("account.reinstated", admin.account_id),
    ]
