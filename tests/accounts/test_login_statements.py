"""The password step runs a fixed, small number of SQL statements (bench/README.md, B7).

Each statement is a round trip and ~0.3 ms of Python on the event loop, which the argon2 threads
need during a login flood: a budget here keeps a refactoring from silently adding one.
"""

from __future__ import annotations

import unicodedata
from typing import Any, TypedDict

import argon2
import pytest
from fastapi import FastAPI

from app.core.settings import Settings
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


class _Work(TypedDict):
    """What one failed login did: its statements, the argon2 verifications, and its answer
    (status, body without its request id, cookie names)."""

    statements: list[str]
    verified: list[argon2.Parameters]
    answer: tuple[int, dict[str, Any], list[str]]


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


@pytest.mark.parametrize(
    "guess",
    ["Wrong-Guess-Every-Time-5", "Wrong-\ufb01-Guess-5"],  # NFKC changes the second: two forms
    ids=["ascii", "two-forms"],
)
async def test_unknown_email_does_the_work_of_a_wrong_password(
    app: FastAPI, people: People, settings: Settings, monkeypatch: pytest.MonkeyPatch, guess: str
) -> None:
    """Timing must not tell who is registered (SECURITY.md "Passwords"): both failures run the
    same statements and the same argon2 verifications, against hashes of the same parameters
    (the unknown address against the dummy hash), and give the same answer. Equal work is proved
    here exactly; the answer times themselves are compared by ``make bench`` (row B20), where a
    quiet machine can resolve them (the guide: no timing in unit tests)."""
    verified: list[argon2.Parameters] = []
    verify = argon2.PasswordHasher.verify

    def recording(hasher: argon2.PasswordHasher, stored: str | bytes, password: str) -> bool:
        text = stored.decode() if isinstance(stored, bytes) else stored
        verified.append(argon2.extract_parameters(text))
        return verify(hasher, stored, password)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", recording)
    person = await people.registered()
    client = people.client()
    wrong = {"email": person.email, "password": guess}
    unknown = {"email": "nobody-here@example.test", "password": guess}
    for body in (wrong, unknown):  # warm-up: both throttle keys and the dummy hash exist from here
        assert (await client.post("/api/v1/auth/login", json=body)).status_code == 401

    seen: dict[str, _Work] = {}
    for name, body in (("wrong", wrong), ("unknown", unknown)):
        verified.clear()
        client.cookies.clear()
        with counting(app) as statements:
            response = await client.post("/api/v1/auth/login", json=body)
        answer = response.json()
        answer.pop("request_id")
        seen[name] = {
            "statements": statements.statements,
            "verified": list(verified),
            "answer": (response.status_code, answer, sorted(response.cookies.keys())),
        }

    assert seen["wrong"] == seen["unknown"]
    assert seen["unknown"]["answer"][0] == 401
    forms = 2 if guess != unicodedata.normalize("NFKC", guess) else 1
    assert len(seen["unknown"]["verified"]) == forms
    expected = (settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism)
    assert {(p.time_cost, p.memory_cost, p.parallelism) for p in verified} == {expected}
