"""The two databases every database test runs on (``tests/conftest.py`` makes the fixtures).

PostgreSQL runs when ``ERDV_TEST_POSTGRES_URL`` names a server; each test session gets its own
throwaway database, so runs on one server do not see each other.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.core.db import metadata

POSTGRES_URL_ENV = "ERDV_TEST_POSTGRES_URL"
TEST_SECRET = "test-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"
TEST_ENCRYPTION_KEY = "test-encryption-key-0123456789abcdefghijklmnopqrstu"


@dataclass(frozen=True)
class Backend:
    """One database a test runs on: ``sqlite`` or ``postgres``, and its SQLAlchemy URL."""

    name: str
    url: str


async def admin_sql(server_url: str, statement: str) -> None:
    """Runs one statement outside a transaction (``CREATE DATABASE`` cannot run inside one)."""
    engine = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def truncate_all(url: str) -> None:
    """Empties every table, so the next test on this PostgreSQL database starts clean."""
    tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    if not tables:
        return
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    finally:
        await engine.dispose()
