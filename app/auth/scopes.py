"""The closed list of OAuth scopes and what each means, in plain French and English.

The consent page shows these texts (docs/security.md "OAuth 2 authorization server": scopes in plain
words). ``CLIENT_CREDENTIALS`` is what a platform may get with no patient behind it: public
directory data only (docs/api.md "OAuth 2").
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ScopeInfo:
    name: str
    fr: str
    en: str


SCOPES: dict[str, ScopeInfo] = {
    s.name: s
    for s in (
        ScopeInfo(
            "practitioners:read",
            "Consulter l'annuaire public des praticiens",
            "Read the public directory of practitioners",
        ),
        ScopeInfo(
            "slots:read",
            "Consulter les créneaux libres des praticiens",
            "Read practitioners' free slots",
        ),
        ScopeInfo(
            "appointments:read",
            "Voir vos rendez-vous (praticien, date, heure)",
            "See your appointments (practitioner, date, time)",
        ),
        ScopeInfo(
            "appointments:write",
            "Prendre des rendez-vous en votre nom",
            "Book appointments on your behalf",
        ),
        ScopeInfo(
            "agenda:read",
            "Lire l'agenda d'un praticien (noms et téléphones des patients)",
            "Read a practitioner's agenda (patients' names and phones)",
        ),
    )
}

ALL_SCOPES: frozenset[str] = frozenset(SCOPES)
#: client_credentials: no patient behind the token, public data only (docs/api.md "OAuth 2").
CLIENT_CREDENTIALS_SCOPES: frozenset[str] = frozenset({"practitioners:read", "slots:read"})
#: what a patient can delegate on the consent page (``agenda:read`` belongs to practitioners).
PATIENT_SCOPES: frozenset[str] = ALL_SCOPES - {"agenda:read"}

GRANT_TYPES: frozenset[str] = frozenset(
    {"authorization_code", "refresh_token", "client_credentials"}
)


def scope_list(scope: str | None) -> list[str]:
    """Space-separated (RFC 6749 §3.3), de-duplicated, in a stable order."""
    return sorted(set((scope or "").split()))


def scope_string(scopes: list[str] | frozenset[str] | set[str]) -> str:
    return " ".join(sorted(scopes))
