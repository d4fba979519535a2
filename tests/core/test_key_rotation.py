"""Rotating the encryption key (SECURITY.md: "key id stored for rotation"; docs/security.md
"Secrets at rest"): the servers read with the old and the new key and seal with the new one,
``erdv reseal`` seals every column again, and then the old key can go. Each test runs on SQLite
and PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.core.crypto import ColumnCipher, DecryptionError
from app.core.db import metadata, transaction
from app.core.messages import Mail
from app.core.sealing import reseal
from app.core.settings import Settings, SettingsError
from app.main import create_app
from app.outbox.service import Stager
from app.sealed import SEALED
from tests.factories import People, Person
from tests.helpers.booking import book, patient, ready_practitioner, soon
from tests.helpers.lifespan import lifespan
from tests.oauth.conftest import register_client

NEW_KEY = secrets.token_urlsafe(32)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # a webhook endpoint on a literal loopback address: no DNS, no receiver needed
    return settings.model_copy(update={"webhook_allow_loopback": True})


def _rotated(settings: Settings, *, keep_old: bool) -> Settings:
    """The same settings after the rotation's first step (``keep_old``) or its last."""
    assert settings.encryption_key is not None
    old = settings.encryption_key.get_secret_value()
    fields = settings.model_dump(exclude={"encryption_key", "previous_encryption_keys"})
    return Settings(
        **fields, encryption_key=NEW_KEY, previous_encryption_keys=[old] if keep_old else []
    )


async def _something_in_every_sealed_column(
    people: People, settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> Person:
    """Sealed values written the ways erdv writes them: a booking (visit reason), a waiting-list
    request, an enrolled patient (seed) and one half-way through enrolment (pending seed), a
    webhook endpoint (signing secret), and a message waiting in the outbox. Returns the patient."""
    doctor, (reason,) = await ready_practitioner(people)
    alice = await patient(people)
    at = soon(24 * 60)
    assert (await book(alice, doctor.account_id, reason, at)).status_code == 201
    joined = await alice.post(
        f"/api/v1/practitioners/{doctor.account_id}/waitlist",
        json={"visit_reason_id": reason, "before": (at + timedelta(days=30)).isoformat()},
    )
    assert joined.status_code == 201, joined.text
    enrolling = await people.registered()
    await enrolling.login()
    assert (await enrolling.post("/api/v1/auth/mfa/totp/setup")).status_code == 200
    admin = await people.signed_in(role="admin")
    assert (await admin.reauth()).status_code == 204
    client = await register_client(admin)
    hooked = await admin.post(
        f"/api/v1/admin/oauth/clients/{client.client_id}/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "events": ["appointment.booked"]},
    )
    assert hooked.status_code == 201, hooked.text
    async with transaction(sessions) as session:  # a message no worker has delivered yet
        await Stager(settings).stage(
            session, [Mail(to="later@example.test", subject="Later", body="…")], claimed=False
        )
    return alice


def _text_columns() -> Iterator[sa.Column[Any]]:
    for table in metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, sa.String):
                yield column


async def _opened(engine: AsyncEngine, cipher: ColumnCipher) -> dict[str, dict[Any, str]]:
    """Every sealed value, opened: column name -> row key -> plaintext."""
    opened: dict[str, dict[Any, str]] = {}
    async with engine.connect() as connection:
        for sealed in SEALED:
            rows = await connection.execute(
                sa.select(sealed.key, sealed.column).where(sealed.column.is_not(None))
            )
            opened[sealed.name] = {
                key: cipher.decrypt(value, associated_data=sealed.aad(key)) for key, value in rows
            }
    return opened


async def test_a_rotation_reseals_every_column_and_the_old_key_can_go(
    people: People,
    settings: Settings,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    alice = await _something_in_every_sealed_column(people, settings, sessions)
    old = ColumnCipher.from_settings(settings)

    # every column holding a sealed value is one ``erdv reseal`` knows of
    listed = {sealed.name for sealed in SEALED}
    async with engine.connect() as connection:
        for column in _text_columns():
            found = await connection.execute(
                sa.select(sa.func.count()).where(column.like(f"{old.current_prefix}%"))
            )
            if found.scalar_one():
                assert f"{column.table.name}.{column.name}" in listed, column
    before = await _opened(engine, old)
    assert all(before.values()), {name: len(values) for name, values in before.items()}

    # step 1: the new key seals, the old one still opens; step 2: reseal, twice
    during = ColumnCipher.from_settings(_rotated(settings, keep_old=True))
    assert during.current_prefix != old.current_prefix
    for sealed in SEALED:
        done = await reseal(sessions, during, sealed, batch=1)  # key order across batches
        assert (done.resealed, done.unreadable) == (len(before[sealed.name]), 0), sealed.name
        again = await reseal(sessions, during, sealed)
        assert (again.resealed, again.unreadable) == (0, 0), sealed.name

    # step 3: the old key gone, everything opens with the new one alone, unchanged
    after = ColumnCipher.from_settings(_rotated(settings, keep_old=False))
    assert await _opened(engine, after) == before
    with pytest.raises(DecryptionError):
        await _opened(engine, old)

    # and the app on the new key alone: the patient signs in with the seed sealed again
    application = create_app(_rotated(settings, keep_old=False))
    async with lifespan(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as web:
            rotated = dataclasses.replace(alice, client=web, csrf_token="")
            await rotated.sign_in()
            mine = await rotated.get("/api/v1/me/appointments")
            assert mine.status_code == 200, mine.text
            assert mine.json()[0]["visit_reason"] is not None


async def test_a_value_no_key_opens_is_reported_and_left_alone(
    people: People, settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """The old key dropped before the reseal: nothing is lost, the values are counted."""
    await _something_in_every_sealed_column(people, settings, sessions)
    too_early = ColumnCipher.from_settings(_rotated(settings, keep_old=False))
    appointments = next(s for s in SEALED if s.name == "appointment.visit_reason_ct")
    done = await reseal(sessions, too_early, appointments)
    assert done.resealed == 0
    assert done.unreadable >= 1
    # with the old key back, the same run seals them all
    fixed = ColumnCipher.from_settings(_rotated(settings, keep_old=True))
    assert (await reseal(sessions, fixed, appointments)).resealed == done.unreadable


def test_the_current_key_cannot_also_be_retired(settings: Settings) -> None:
    assert settings.encryption_key is not None
    with pytest.raises(SettingsError):
        Settings(
            **settings.model_dump(exclude={"previous_encryption_keys"}),
            previous_encryption_keys=[settings.encryption_key.get_secret_value()],
        )
    with pytest.raises(SettingsError):
        Settings(
            **settings.model_dump(exclude={"previous_encryption_keys"}),
            previous_encryption_keys=[""],
        )
