"""The password step runs a fixed, small number of SQL statements (bench/README.md, B7).

Each statement is a round trip and ~0.3 ms of Python on the event loop, which the argon2 threads
need during a login flood: a budget here keeps a refactoring from silently adding one.
"""

from __future__ import annotations

from fastapi import FastAPI

from tests.factories import People
from tests.helpers.backends import Backend
from tests.helpers.statements import counting

#: SQLite: BEGIN IMMEDIATE (the database's write lock also serializes the throttle key and the
#: audit writers), one read (account, TOTP enrolment, both throttle keys), the session row, then
#: the audit append at commit (head, insert, and the head record moved: issue 20).
#: PostgreSQL: the throttle key's advisory lock instead of BEGIN (asyncpg's BEGIN and COMMIT are
#: not cursor statements), the same read and insert, then the audit writers' lock with a first
#: read of the head, the insert (two more when another writer got the lock first) and the head
#: record's update.
LOGIN_MAX = {"sqlite": 6, "postgres": 6}
#: a browser that still holds a session cookie: the app-wide partial-session guard loads it
#: (``refuse_partial_sessions``), then the login deletes it
REPLACING_PREVIOUS = 2


async def test_login_statement_count(app: FastAPI, people: People, backend: Backend) -> None:
    person = await people.signed_in()
    fresh = people.client()
    body = {"email": person.email, "password": person.password}
    assert (await fresh.post("/api/v1/auth/login", json=body)).status_code == 200  # warm-up
    fresh.cookies.clear()

    with counting(app) as login:
        response = await fresh.post("/api/v1/auth/login", json=body)
        assert response.status_code == 200, response.text
        assert response.json()["next"] == "mfa"
    with counting(app) as replacing:
        response = await fresh.post("/api/v1/auth/login", json=body)
        assert response.status_code == 200, response.text

    assert len(login.statements) <= LOGIN_MAX[backend.name], login.statements
    assert len(replacing.statements) == len(login.statements) + REPLACING_PREVIOUS, (
        replacing.statements
    )


async def test_unknown_email_runs_the_statements_of_a_wrong_password(
    app: FastAPI, people: People
) -> None:
    """Timing must not tell who is registered (SECURITY.md "Passwords"): beside the same argon2
    work, both failures run the same statements."""
    person = await people.registered()
    client = people.client()
    wrong = {"email": person.email, "password": "Wrong-Guess-Every-Time-5"}
    unknown = {"email": "nobody-here@example.test", "password": "Wrong-Guess-Every-Time-5"}
    for body in (wrong, unknown):  # warm-up: both throttle keys exist from here on
        assert (await client.post("/api/v1/auth/login", json=body)).status_code == 401

    with counting(app) as for_wrong:
        assert (await client.post("/api/v1/auth/login", json=wrong)).status_code == 401
    with counting(app) as for_unknown:
        assert (await client.post("/api/v1/auth/login", json=unknown)).status_code == 401

    assert len(for_wrong.statements) == len(for_unknown.statements), (
        for_wrong.statements,
        for_unknown.statements,
    )
