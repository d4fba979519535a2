"""Issue 20: only a single addr-spec is an email address. Lists, display names and trailing commas
were accepted as separate accounts, and their mail reached the real owner's mailbox."""

from __future__ import annotations

import pytest

from tests.factories import People, mail_token, outbox
from tests.helpers.problems import assert_problem

ODD = (
    "victim@x.example,",
    '"x"<victim@x.example>',
    "x <victim@x.example>",
    "a,victim@x.example",
    "victim@x.example, attacker@y.example",
    "victim@x.example;attacker@y.example",
    "victim@[192.0.2.1]",
    '"quoted local"@x.example',
    "victim@x.example\r\nBcc: attacker@y.example",
    "no-at-sign.example",
)


@pytest.mark.parametrize("odd", ODD)
async def test_odd_addresses_are_refused_at_registration_and_reset(
    people: People, odd: str
) -> None:
    client = people.client()
    registered = await client.post(
        "/api/v1/auth/register",
        json={
            "email": odd,
            "password": "Velvet-Otter-Quarry-91",
            "full_name": "Someone Else",
            "role": "patient",
        },
    )
    assert_problem(registered, 422, "validation_error")
    forgot = await client.post("/api/v1/auth/password/forgot", json={"email": odd})
    assert_problem(forgot, 422, "validation_error")


async def test_the_domain_case_is_normalised_and_one_address_is_one_account(
    people: People,
) -> None:
    person = await people.registered(email="Camille.Martin@Example.TEST", verify=False)
    token = mail_token(people.settings, "camille.martin@example.test", "verify-email")
    verified = await person.client.post("/api/v1/auth/verify-email", json={"token": token})
    assert verified.status_code == 200, verified.text
    again = await people.client().post(
        "/api/v1/auth/register",
        json={
            "email": "camille.martin@EXAMPLE.test",
            "password": "Velvet-Otter-Quarry-91",
            "full_name": "Camille Martin",
            "role": "patient",
        },
    )
    assert again.status_code == 202  # the same answer, and the "you already have one" mail
    subjects = [m["Subject"] for m in outbox(people.settings)]
    assert subjects.count("Votre compte erdv") == 1
    login = await people.client().post(
        "/api/v1/auth/login",
        json={"email": "CAMILLE.MARTIN@example.test", "password": person.password},
    )
    assert login.status_code == 200, login.text
