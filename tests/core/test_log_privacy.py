"""No application log names a person (docs/security.md "Data protection": logs carry events and
opaque ids, never an email, a name, a phone number, a token or a code).

The access log's own line is tested in ``tests/core/test_app.py``; here every logger is captured at
DEBUG (erdv's, the database engine's, the mail's, the libraries') while one person goes through
what an account does: registration, a mistyped password, the TOTP enrolment, a profile with a
phone, a booking with its two mails, a cancellation, a forgotten password, a request refused as
invalid. Each record is rendered as the JSON logs render it, its extra fields included. On that
path only the access log speaks; the outbox's failure records, where relays
quote addresses, are checked in ``tests/outbox/test_outbox.py``. Each test runs on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import logging

import pytest

from app.core.logging import JsonFormatter
from tests.factories import People
from tests.helpers.booking import book, grant, ready_practitioner, soon

EMAIL = "zephyrine.quillard@example.test"
NAME = "Zéphyrine Quillard-Tessier"
PHONE = "+33698765432"


async def test_no_log_record_names_the_person(
    people: People, caplog: pytest.LogCaptureFixture
) -> None:
    doctor, (reason,) = await ready_practitioner(people)
    with caplog.at_level(logging.DEBUG):
        zephyrine = await people.registered(email=EMAIL, full_name=NAME)
        zephyrine.password, real = "Wrong-Password-Again-12", zephyrine.password
        assert (await zephyrine.login()).status_code == 401
        zephyrine.password = real
        assert (await zephyrine.login()).status_code == 200
        await zephyrine.enrol_totp()
        assert (await zephyrine.patch("/api/v1/me", json={"phone": PHONE})).status_code == 200
        await grant(zephyrine, "privacy-notice")
        booked = await book(zephyrine, doctor.account_id, reason, soon(24 * 60))
        assert booked.status_code == 201, booked.text
        cancelled = await zephyrine.post(f"/api/v1/appointments/{booked.json()['id']}/cancel")
        assert cancelled.status_code == 200, cancelled.text
        invalid = await zephyrine.patch("/api/v1/me", json={"phone": f"{PHONE}-not-a-number"})
        assert invalid.status_code == 422
        forgot = await people.client().post("/api/v1/auth/password/forgot", json={"email": EMAIL})
        assert forgot.status_code == 202, forgot.text

    formatter = JsonFormatter()
    rendered = [formatter.format(record) for record in caplog.records]
    # the capture works: the access log spoke for every request (the test client's httpx is
    # held at WARNING, as every app holds it: app.core.logging.quiet_libraries)
    assert sum('"logger": "erdv.access"' in line for line in rendered) >= 10
    secrets = {
        EMAIL,
        EMAIL.split("@")[0],
        "Zéphyrine",
        "Z\\u00e9phyrine",  # as json.dumps writes it
        "Quillard",
        PHONE,
        PHONE[3:],
    }
    leaks = [(secret, line) for line in rendered for secret in secrets if secret in line]
    assert not leaks, leaks[:3]
