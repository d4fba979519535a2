"""Readiness follows the database: 503 while it is unreachable, 200 again once it is back.

A small TCP proxy stands between erdv and PostgreSQL so that the test can cut and restore the
connection without touching the real server.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator

import asyncpg  # type: ignore[import-untyped]  # no stubs; bench/ ignores it alike
import httpx
import pytest
from sqlalchemy.engine import make_url

from app.core.settings import Settings
from app.health.router import READINESS_TIMEOUT_SECONDS
from app.main import create_app
from tests.helpers.backends import Backend
from tests.helpers.lifespan import lifespan


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a target; ``cut()`` drops every connection and refuses new ones."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.server: asyncio.Server | None = None
        self.port = 0
        self.tasks: set[asyncio.Task[None]] = set()
        self.writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()
        for writer in list(self.writers):
            writer.close()
        for task in list(self.tasks):
            task.cancel()
        self.server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self.writers.update({writer, up_writer})

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            with contextlib.suppress(Exception):
                dst.close()

        for coro in (pipe(reader, up_writer), pipe(up_reader, writer)):
            task = asyncio.ensure_future(coro)
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)


@pytest.fixture
async def proxied_client(
    backend: Backend, settings: Settings
) -> AsyncIterator[tuple[httpx.AsyncClient, TcpProxy]]:
    url = make_url(backend.url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    proxied_url = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    app = create_app(settings.model_copy(update={"database_url": proxied_url}))
    async with lifespan(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client, proxy
    if proxy.server is not None:
        await proxy.cut()


@pytest.mark.only_backend("postgres")
async def test_readyz_is_503_while_database_is_down_and_recovers(
    proxied_client: tuple[httpx.AsyncClient, TcpProxy],
) -> None:
    client, proxy = proxied_client
    assert (await client.get("/readyz")).status_code == 200

    await proxy.cut()
    down = await client.get("/readyz")
    assert down.status_code == 503
    assert down.headers["content-type"] == "application/problem+json"
    assert down.json()["code"] == "database_unavailable"
    assert "Retry-After" in down.headers
    assert (await client.get("/healthz")).status_code == 200  # the process itself is fine

    await proxy.start()  # same port: the database "comes back"
    for _ in range(20):
        if (await client.get("/readyz")).status_code == 200:
            break
        await asyncio.sleep(0.1)
    assert (await client.get("/readyz")).status_code == 200


@pytest.mark.only_backend("postgres")
async def test_unreachable_database_at_start_is_503_not_500(settings: Settings) -> None:
    dead = settings.model_copy(
        update={"database_url": "postgresql+asyncpg://postgres@127.0.0.1:1/none"}
    )
    app = create_app(dead)
    async with lifespan(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["code"] == "database_unavailable"


@pytest.mark.only_backend("sqlite")
async def test_readyz_waits_its_turn_behind_a_short_writer(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """The probe writes, so it queues for SQLite's write lock as a booking would: a writer that
    holds it briefly only delays the answer."""
    outside = sqlite3.connect(_sqlite_file(settings), isolation_level=None)
    try:
        outside.execute("BEGIN IMMEDIATE")
        asyncio.get_running_loop().call_later(0.5, outside.rollback)
        response = await asyncio.wait_for(client.get("/readyz"), timeout=5)
    finally:
        outside.close()
    assert response.status_code == 200


@pytest.mark.only_backend("sqlite")
async def test_readyz_is_503_while_an_outside_writer_holds_the_lock(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """Found by an outside test: /readyz said 200 while another program held the write lock and
    every booking failed. Reads still work meanwhile; writes do not."""
    outside = sqlite3.connect(_sqlite_file(settings), isolation_level=None)
    try:
        outside.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        response = await client.get("/readyz")
        assert time.monotonic() - started < READINESS_TIMEOUT_SECONDS + 1.5
        assert response.status_code == 503
        assert response.json()["code"] == "database_unavailable"
        outside.rollback()
        for _ in range(50):  # the abandoned probe may still hold its turn for a moment
            if (await client.get("/readyz")).status_code == 200:
                break
            await asyncio.sleep(0.1)
        assert (await client.get("/readyz")).status_code == 200
    finally:
        outside.close()


@pytest.mark.only_backend("postgres")
async def test_readyz_is_503_while_an_outside_lock_blocks_writes(
    backend: Backend, settings: Settings
) -> None:
    """PostgreSQL: a session that locks the probe's table (as a long migration would lock a table
    bookings write to) makes the probe wait past lock_timeout: 503, not a hung probe."""
    app = create_app(settings.model_copy(update={"db_lock_timeout_seconds": 1.0}))
    url = backend.url.replace("postgresql+asyncpg://", "postgresql://")
    async with lifespan(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            assert (await client.get("/readyz")).status_code == 200
            outside = await asyncpg.connect(url)
            try:
                locking = outside.transaction()
                await locking.start()
                await outside.execute("LOCK TABLE readiness_probe IN ACCESS EXCLUSIVE MODE")
                started = time.monotonic()
                response = await client.get("/readyz")
                assert time.monotonic() - started < READINESS_TIMEOUT_SECONDS + 1.5
                assert response.status_code == 503
                await locking.rollback()
            finally:
                await outside.close()
            assert (await client.get("/readyz")).status_code == 200


def _sqlite_file(settings: Settings) -> str:
    return settings.database_url.removeprefix("sqlite+aiosqlite:///")
