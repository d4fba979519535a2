"""Dependencies every domain may use: the running app's settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.core.settings import Settings


def _app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


AppSettings = Annotated[Settings, Depends(_app_settings)]
