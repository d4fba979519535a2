"""The charter in data and as pages: ``/api/v1/charter``, ``/charter`` and ``/transparency`` (C10)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from app.charter import pages
from app.charter.registry import default_charter
from app.charter.schemas import CharterOut
from app.core.access import PUBLIC
from app.core.deps import AppSettings
from app.core.schemas import LangQuery

router = APIRouter()


@router.get(
    "/api/v1/charter",
    tags=["charter"],
    summary="The charter's clauses and consent purposes, with their versions and text hashes",
    response_model=CharterOut,
    openapi_extra=PUBLIC,
)
async def get_charter(lang: LangQuery = "fr") -> CharterOut:
    return CharterOut.model_validate(default_charter().public(lang))


@router.get(
    "/charter",
    tags=["pages"],
    summary="The charter, as a page",
    response_class=HTMLResponse,
    openapi_extra=PUBLIC,
)
async def charter_page(lang: LangQuery = "fr") -> HTMLResponse:
    return HTMLResponse(pages.charter_page(default_charter(), lang))


@router.get(
    "/transparency",
    tags=["pages"],
    summary="Who runs and finances erdv (charter C10)",
    response_class=HTMLResponse,
    openapi_extra=PUBLIC,
)
async def transparency_page(settings: AppSettings, lang: LangQuery = "fr") -> HTMLResponse:
    return HTMLResponse(pages.transparency_page(settings, lang))
