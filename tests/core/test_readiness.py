"""Readiness follows the database: 503 while it is unreachable, 200 again once it is back.

A small TCP proxy stands between erdv and PostgreSQL so that the test can cut and restore the
connection without touching the real server.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.settings import Settings
from app.main import create_app
from tests.conftest import Backend


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
    async with LifespanManager(app):
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
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["code"] == "database_unavailable"


@pytest.mark.only_backend("sqlite")
async def test_readyz_does_not_queue_behind_a_writer(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    """Found by fuzzing: the probe took SQLite's write lock and timed out behind a writer."""
    async with engine.connect() as writer:
        await writer.execute(text("SELECT 1"))  # BEGIN IMMEDIATE: the write lock is held
        response = await asyncio.wait_for(client.get("/readyz"), timeout=5)
        assert response.status_code == 200
        await writer.rollback()
