"""Pure helpers for practice data: search keys, the directory link, time zones.

**directory_url** (charter C3): the official public directory of French health professionals is the
*Annuaire Santé* run by the Agence du Numérique en Santé (annuaire.sante.fr), which publishes every
professional registered in the RPPS by the Orders. Its public search accepts the RPPS number as the
search text, which lands on the one matching professional; erdv links there rather than to an
Ordre's own site (each Order has one, and not every profession has an Order). The template lives in
``DIRECTORY_URL`` only, so that a change on the directory side is a one-line fix.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Final
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

DIRECTORY_BASE: Final = "https://annuaire.sante.fr/web/site-pro/recherche/resultats"


def directory_url(rpps: str | None) -> str | None:
    """The practitioner's entry in the official directory, found by RPPS number."""
    if not rpps:
        return None
    return f"{DIRECTORY_BASE}?{urlencode({'texteRecherche': rpps})}"


def titles_of(stored: str) -> list[str]:
    """The practitioner's titles (C2) from their stored JSON list."""
    loaded = json.loads(stored or "[]")
    return [str(t) for t in loaded] if isinstance(loaded, list) else []


def search_key(text: str) -> str:
    """Accent-free, case-folded, single-spaced: "Élodie  DURAND" and "elodie durand" match."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.casefold().split())


_ZONES: set[str] | None = None


def zone(key: str) -> ZoneInfo | None:
    """An IANA zone by name, or None (only canonical names from the zone database)."""
    global _ZONES
    if _ZONES is None:
        _ZONES = available_timezones()
    if key not in _ZONES:
        return None
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError):  # pragma: no cover - listed zones load
        return None


_POSTCODE = re.compile(r"\b(\d{5})\b")


def postcode_in(address: str) -> str:
    """The five-digit postcode written in an address ("12 rue de Rivoli, 75004 Paris"), or "":
    a site made from a profile's address is found by its postcode (``app.practice.places``)."""
    found = _POSTCODE.search(address)
    return found.group(1) if found else ""
