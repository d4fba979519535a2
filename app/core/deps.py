"""Dependencies every domain may use: the running app's settings.

Dependencies that do no I/O are still ``async def``: FastAPI runs a plain ``def`` dependency in its
thread pool, a thread hop on every request for what is an attribute read
(bench/README.md "Performance rules in the code").
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.core.errors import Unprocessable
from app.core.settings import Settings


def settings_of(request: Request) -> Settings:
    """The running app's settings, read where a dependency already has the request: every dependency
    FastAPI resolves costs Python on every request, so the hot dependencies read the settings here
    rather than declaring ``AppSettings`` (bench/README.md "Performance rules in the code")."""
    settings: Settings = request.app.state.settings
    return settings


async def _app_settings(request: Request) -> Settings:
    return settings_of(request)


AppSettings = Annotated[Settings, Depends(_app_settings)]


async def refuse_nul_in_query(request: Request) -> None:
    """No query parameter needs a NUL character, PostgreSQL cannot compare one, and SQLite would:
    422 on both databases alike (request bodies refuse it in ``app.core.schemas.Schema``), as the
    OpenAPI document says (``app.openapi``)."""
    if "%00" in request.url.query:
        raise Unprocessable(
            "Query parameters must not contain NUL characters.",
            errors=[{"field": "query", "message": "text must not contain NUL characters"}],
        )
