"""A 422 ``validation_error`` names what to change (API.md "Conventions": 422 validation errors
carry ``errors: [{field, message}]``), also when the booking domain refuses a value the request's
schema let through: a window over 31 days or ending before it starts, on the slot list and the
agenda, and one waiting-list request too many. Before, these carried no ``errors``.
Each test runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.booking import waitlist
from tests.factories import People
from tests.helpers.booking import patient, ready_practitioner, soon
from tests.helpers.problems import assert_problem


async def test_a_refused_window_names_the_parameter_to_change(people: People) -> None:
    doctor, _ = await ready_practitioner(people)
    start = soon(24 * 60)
    too_long = {"from": start.isoformat(), "to": (start + timedelta(days=40)).isoformat()}
    backwards = {"from": start.isoformat(), "to": (start - timedelta(hours=1)).isoformat()}
    for path in (f"/api/v1/practitioners/{doctor.account_id}/slots", "/api/v1/me/agenda"):
        for window, says in ((too_long, "31 days"), (backwards, "after it starts")):
            body = assert_problem(await doctor.get(path, params=window), 422, "validation_error")
            assert [e["field"] for e in body["errors"]] == ["to"], (path, body)
            assert says in body["errors"][0]["message"]


async def test_one_waiting_list_request_too_many_says_so_in_errors(
    people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(waitlist, "MAX_ENTRIES", 1)
    first, (first_reason,) = await ready_practitioner(people)
    second, (second_reason,) = await ready_practitioner(people)
    alice = await patient(people)
    before = soon(3 * 24 * 60).isoformat()
    joined = await alice.post(
        f"/api/v1/practitioners/{first.account_id}/waitlist",
        json={"visit_reason_id": first_reason, "before": before},
    )
    assert joined.status_code == 201, joined.text
    refused = await alice.post(
        f"/api/v1/practitioners/{second.account_id}/waitlist",
        json={"visit_reason_id": second_reason, "before": before},
    )
    body = assert_problem(refused, 422, "validation_error")
    assert body["errors"] == [{"field": "body", "message": "at most 1 requests"}]
    assert len((await alice.get("/api/v1/me/waitlist")).json()) == 1
