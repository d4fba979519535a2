"""Issue 20: passwords are Unicode-normalised (NFKC, NIST SP 800-63B §3.1.1.2) before hashing, and
hashes made before, of the password as typed, are replaced at the next login."""

from __future__ import annotations

import unicodedata

import sqlalchemy as sa
from argon2 import PasswordHasher as Argon2Hasher
from sqlalchemy.ext.asyncio import AsyncEngine

from app.accounts.repository import account_table
from app.core.hashing import argon2_for
from app.core.settings import Settings
from tests.factories import People

COMPOSED = unicodedata.normalize("NFC", "Crème-Brûlée-Quarry-Otter-88")
DECOMPOSED = unicodedata.normalize("NFD", COMPOSED)
FULL_WIDTH = "Ｌａｎｔｅｒｎ-Ｑｕａｒｒｙ-Otter-42"  # what some Asian input methods type


async def _login(people: People, email: str, password: str) -> int:
    response = await people.client().post(
        "/api/v1/auth/login", json={"email": email, "password": password}
    )
    return response.status_code


async def test_the_same_passphrase_in_another_unicode_form_is_the_same_password(
    people: People,
) -> None:
    assert COMPOSED != DECOMPOSED
    accented = await people.registered(password=COMPOSED)
    assert await _login(people, accented.email, DECOMPOSED) == 200
    assert await _login(people, accented.email, COMPOSED) == 200
    wide = await people.registered(password=FULL_WIDTH)
    assert await _login(people, wide.email, "Lantern-Quarry-Otter-42") == 200
    # no case folding: normalisation is not a looser comparison
    assert await _login(people, wide.email, "lantern-quarry-otter-42") == 401


async def test_hashes_of_the_password_as_typed_are_replaced_at_the_next_login(
    people: People, engine: AsyncEngine, settings: Settings
) -> None:
    person = await people.registered(password=COMPOSED)
    legacy = argon2_for(settings).hash(DECOMPOSED)  # what erdv stored before NFKC
    async with engine.begin() as connection:
        await connection.execute(
            account_table.update()
            .where(account_table.c.email == person.email)
            .values(password_hash=legacy)
        )
    assert await _login(people, person.email, DECOMPOSED) == 200
    async with engine.connect() as connection:
        stored = (
            await connection.execute(
                sa.select(account_table.c.password_hash).where(
                    account_table.c.email == person.email
                )
            )
        ).scalar_one()
    assert stored != legacy
    assert Argon2Hasher().verify(stored, unicodedata.normalize("NFKC", DECOMPOSED))
    assert await _login(people, person.email, COMPOSED) == 200


async def test_the_policy_judges_the_form_that_is_hashed(people: People) -> None:
    """Twelve code points that compose to six letters are six letters, and a full-width service
    name or own name is that name: the NFKC form is what is hashed, hence what is guessed."""
    client = people.client()
    six_letters = unicodedata.normalize("NFD", "éèêëàù")
    assert len(six_letters) == 12
    for password, full_name in (
        (six_letters, "Camille Patient"),
        ("ＥＲＤＶ-Velvet-Otter-91", "Camille Patient"),
        ("Ｃａｍｉｌｌｅ-Velvet-Otter-91", "Camille Patient"),
    ):
        response = await client.post(
            "/api/v1/auth/register",
            json={
                "email": "camille.unicode@example.test",
                "password": password,
                "full_name": full_name,
                "role": "patient",
            },
        )
        assert response.status_code == 422, (password, response.text)
        assert response.json()["code"] == "weak_password"
    # the same passphrases, long and free of context words, are welcome in any form
    assert (await people.registered(password=DECOMPOSED)).email
