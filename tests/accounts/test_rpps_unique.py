"""One account per RPPS number, without an oracle of which numbers are registered (issue 24,
charter C2). Each test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from app.accounts.repository import account_table
from app.core import clock
from app.core.settings import Settings
from tests.factories import PASSWORD, People, outbox, valid_rpps


def _body(email: str, rpps: str) -> dict[str, str]:
    return {
        "email": email,
        "password": PASSWORD,
        "full_name": "Dr Inès Faure",
        "role": "practitioner",
        "rpps": rpps,
    }


async def test_a_second_account_with_a_registered_rpps_is_not_made_and_the_holder_is_told(
    people: People, app: FastAPI, settings: Settings
) -> None:
    rpps = valid_rpps()
    holder = f"holder-{uuid.uuid4().hex[:8]}@example.test"
    other = f"other-{uuid.uuid4().hex[:8]}@example.test"
    visitor = await people.anonymous()
    first = await visitor.post("/api/v1/auth/register", json=_body(holder, rpps))
    second = await visitor.post("/api/v1/auth/register", json=_body(other, rpps))
    # the same answer: nothing tells the second caller the number is taken
    assert (first.status_code, second.status_code) == (202, 202)
    assert first.json() == second.json()
    assert [str(m["Subject"]) for m in outbox(settings) if m["To"] == other] == []
    assert "Votre numéro RPPS sur erdv" in [
        str(m["Subject"]) for m in outbox(settings) if m["To"] == holder
    ]
    async with app.state.session_factory() as session:
        emails = (
            (
                await session.execute(
                    sa.text("SELECT email FROM account WHERE rpps = :r"), {"r": rpps}
                )
            )
            .scalars()
            .all()
        )
    assert emails == [holder]


async def test_the_database_refuses_two_accounts_with_one_rpps(app: FastAPI) -> None:
    """The index, not only the check: two registrations racing past the check still make one."""
    rpps = valid_rpps()

    def row() -> dict[str, object]:
        made = uuid.uuid4()
        return {
            "id": made,
            "email": f"{made.hex[:10]}@example.test",
            "role": "practitioner",
            "full_name": "Dr X",
            "rpps": rpps,
            "password_hash": "x",
            "password_changed_at": clock.now(),
            "created_at": clock.now(),
        }

    async with app.state.session_factory() as session, session.begin():
        await session.execute(sa.insert(account_table).values(row()))
    with pytest.raises(sa.exc.IntegrityError):
        async with app.state.session_factory() as session, session.begin():
            await session.execute(sa.insert(account_table).values(row()))


async def test_an_address_never_confirmed_does_not_hold_a_number(
    people: People, app: FastAPI, settings: Settings
) -> None:
    """Nobody squats a practitioner's RPPS with an address they never prove: once the first
    registration's link has expired unused, the number is free for the next one."""
    rpps = valid_rpps()
    squatter = f"squat-{uuid.uuid4().hex[:8]}@example.test"
    doctor = f"doctor-{uuid.uuid4().hex[:8]}@example.test"
    visitor = await people.anonymous()
    assert (
        await visitor.post("/api/v1/auth/register", json=_body(squatter, rpps))
    ).status_code == 202
    later = clock.now() + timedelta(hours=settings.email_verification_hours + 1)
    with clock.frozen(later):
        made = await visitor.post("/api/v1/auth/register", json=_body(doctor, rpps))
    assert made.status_code == 202
    async with app.state.session_factory() as session:
        holders = (
            (
                await session.execute(
                    sa.text("SELECT email FROM account WHERE rpps = :r"), {"r": rpps}
                )
            )
            .scalars()
            .all()
        )
    assert holders == [doctor]
    assert "Confirmez votre adresse e-mail" in [
        str(m["Subject"]) for m in outbox(settings) if m["To"] == doctor
    ]
