"""Hot paths run a fixed, small number of SQL statements, whatever the agenda holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI

from app.core import clock
from app.core.settings import Settings
from tests.factories import People
from tests.helpers.booking import book, fast_patients, ready_practitioner, slots
from tests.helpers.statements import counting

#: booking, all included (SQLite): BEGIN, session load, idempotency lookup, consent, throttle (one
#: upsert), practice + visit reason, busy time, 3 inserts (no savepoint: conflicts are skipped, not
#: raised), then at commit the notice's messages written (one read of the practice and both
#: accounts, one read of the webhook endpoints of the clients the patient authorizes, one insert
#: of the mails) and the audit append (head, insert, head record). The mails are sent after the
#: response, outside this count (bench/README.md, B1).
BOOKING_MAX = 16
#: slot search: one statement for the schedule, visit reasons and busy time (plus BEGIN on SQLite)
SLOTS = 1
#: search: the page, its visit reasons, its sites, and the first week's busy time of every result
#: (each result's next slot; a further window only for results with nothing free in the first),
#: plus BEGIN on SQLite: a constant, whatever the page's length
SEARCH_MAX = 5


async def test_booking_and_slot_search_statement_counts(
    app: FastAPI, people: People, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    doctor, (reason, other) = await ready_practitioner(
        people, reasons=[("Consultation", 15), ("Bilan", 30)]
    )
    clients = await fast_patients(app, settings, 12)
    anyone = people.client()
    start = datetime.now(UTC) + timedelta(days=1)
    window = (start, start + timedelta(days=7))
    free = await slots(anyone, doctor.account_id, *window, visit_reason_id=reason)
    # what a request staged is delivered once its response is sent, by the same ASGI call: kept
    # for later here, so the counts are the request's own
    staged: list[object] = []

    async def after_the_response(items: list[object]) -> None:
        staged.extend(items)

    monkeypatch.setattr(app.state.outbox, "deliver", after_the_response)

    with counting(app) as empty_slots:
        await slots(anyone, doctor.account_id, *window)
    with counting(app) as first:
        response = await book(
            clients[0],
            doctor.account_id,
            reason,
            free[0]["start"],
            headers={"Idempotency-Key": "k-0"},
        )
        assert response.status_code == 201
    for i, client in enumerate(clients[1:11], start=1):
        assert (
            await book(client, doctor.account_id, reason, free[i * 4]["start"])
        ).status_code == 201
    with counting(app) as later:
        response = await book(
            clients[11],
            doctor.account_id,
            reason,
            free[60]["start"],
            headers={"Idempotency-Key": "k-11"},
        )
        assert response.status_code == 201
    with counting(app) as busy_slots:
        await slots(anyone, doctor.account_id, *window)
    with counting(app) as search:
        assert (
            await anyone.get("/api/v1/practitioners", params={"limit": "50"})
        ).status_code == 200

    assert len(first.statements) == len(later.statements) <= BOOKING_MAX, later.statements
    assert len(staged) == 24  # each booking's two mails, staged in its transaction
    slots_statements = SLOTS + (1 if settings.is_sqlite else 0)
    assert len(empty_slots.statements) == len(busy_slots.statements) == slots_statements, (
        busy_slots.statements
    )
    assert len(search.statements) <= SEARCH_MAX, search.statements
    assert other
    for clients_ in clients:
        await clients_.aclose()


async def test_a_session_touch_is_one_update(app: FastAPI, people: People) -> None:
    """The idle timeout's ``last_seen_at`` is written once when a request touches the session, not
    a second time by the flush at commit (the identity-map copy is kept in step as committed)."""
    person = await people.signed_in()
    with clock.frozen(clock.now() + timedelta(minutes=1)), counting(app) as touched:
        assert (await person.client.get("/api/v1/me/appointments")).status_code == 200
    updates = [s for s in touched.statements if s.lstrip().upper().startswith("UPDATE")]
    assert len(updates) == 1, updates
