"""The charter as served: the API document, the synced registry, and the public pages."""

from __future__ import annotations

import dataclasses

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.charter.model import CharterError
from app.charter.registry import default_charter
from app.consent.models import ConsentPurposeVersion
from app.consent.service import sync_registry
from app.core.db import transaction
from app.core.settings import Settings


async def test_charter_document(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/charter")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body == default_charter().public("fr")
    english = (await client.get("/api/v1/charter", params={"lang": "en"})).json()
    assert english["purposes"][0]["text"] != body["purposes"][0]["text"]
    bad = await client.get("/api/v1/charter", params={"lang": "de"})
    assert bad.status_code == 422


async def test_startup_recorded_every_purpose_version(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session:
        rows = (await session.execute(sa.select(ConsentPurposeVersion))).scalars().all()
    recorded = {(r.purpose_id, r.version): r.text_sha256 for r in rows}
    expected = {(p.id.value, p.version): p.text_sha256 for p in default_charter().purposes}
    assert recorded == expected


async def test_sync_is_idempotent_and_refuses_a_changed_text(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    charter = default_charter()
    async with transaction(sessions) as session:
        assert await sync_registry(session, charter) == len(charter.purposes)
    async with transaction(sessions) as session:
        assert await sync_registry(session, charter) == 0

    notice = charter.purpose("privacy-notice")
    edited_text = dataclasses.replace(notice.text, fr=notice.text.fr + " Texte modifié.")
    edited = dataclasses.replace(
        charter,
        purposes=tuple(
            dataclasses.replace(p, text=edited_text) if p is notice else p for p in charter.purposes
        ),
    )
    with pytest.raises(CharterError, match="raise its version"):
        async with transaction(sessions) as session:
            await sync_registry(session, edited)

    bumped = dataclasses.replace(
        edited,
        purposes=tuple(
            dataclasses.replace(p, version=p.version + 1) if p.id == notice.id else p
            for p in edited.purposes
        ),
    )
    async with transaction(sessions) as session:
        assert await sync_registry(session, bumped) == 1


@pytest.mark.parametrize("path", ["/charter", "/transparency"])
async def test_public_pages_have_no_script_and_both_languages(
    client: httpx.AsyncClient, path: str
) -> None:
    french = await client.get(path)
    assert french.status_code == 200
    assert french.headers["content-type"].startswith("text/html")
    assert '<html lang="fr">' in french.text
    assert "<script" not in french.text
    assert "style=" not in french.text
    english = await client.get(path, params={"lang": "en"})
    assert '<html lang="en">' in english.text


async def test_transparency_page_shows_financing_and_operator(client: httpx.AsyncClient) -> None:
    page = (await client.get("/transparency")).text
    assert "Financement" in page
    assert "erdv demo operator" in page
    assert "HDS" in page or "Hébergement" in page


async def test_transparency_page_states_the_price_and_every_sub_processor(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    """What the practitioner contract (clause 2 and 4) and the privacy notice promise to find
    there, from settings; escaped like every value."""
    app.state.settings = settings.model_copy(
        update={
            "price": "49 € HT par mois et par praticien, prélevés chaque mois",
            "subprocessors": [
                "Hébergeur HDS Exemple (hébergement, France)",
                "Relais <SMTP> Exemple",
            ],
        }
    )
    french = (await client.get("/transparency")).text
    assert "Prix pour les professionnels" in french
    assert "49 € HT par mois et par praticien" in french
    assert "<h2>Sous-traitants</h2>" in french
    assert "<li>Hébergeur HDS Exemple (hébergement, France)</li>" in french
    assert "<li>Relais &lt;SMTP&gt; Exemple</li>" in french
    english = (await client.get("/transparency", params={"lang": "en"})).text
    assert "Price for practitioners" in english
    assert "<h2>Sub-processors</h2>" in english


async def test_charter_page_lists_every_clause(client: httpx.AsyncClient) -> None:
    page = (await client.get("/charter")).text
    for number in range(1, 15):
        assert f'id="C{number}"' in page
