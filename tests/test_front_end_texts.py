"""Every string a person reads in the interface exists in French and in English.

The front end's texts live in ``static/js/lang/fr.js`` and ``en.js``; codes coming from the API (problem
codes, validation error types, audit actions in the access log, what a listing still lacks, scopes,
roles) are shown through them, never raw. These checks fail when a new code, action or text is added
on one side only.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.audit.models import AuditAction
from app.auth.scopes import ALL_SCOPES
from app.charter.model import Gate
from app.charter.registry import default_charter
from app.core.errors import HTTP_STATUS_CODES, ErdvError
from app.main import create_app  # noqa: F401 - loads every domain's errors

STATIC = Path(__file__).resolve().parent.parent / "static" / "js"
_KEY = re.compile(r'^\s*"([^"]+)":\s', re.MULTILINE)
_ENTRY = re.compile(r'"([^"]+)":\s*"((?:[^"\\]|\\.)*)"')

#: validation error types a client may meet: erdv's own and pydantic's usual ones
VALIDATION_TYPES = (
    "invalid_rpps",
    "invitation_required",
    "invitation_not_allowed",
    "rpps_required",
    "rpps_not_allowed",
    "invalid_phone",
    "name_required",
    "null_not_allowed",
    "value_error",
    "missing",
    "extra_forbidden",
    "json_invalid",
    "string_too_short",
    "string_too_long",
    "string_type",
    "literal_error",
    "int_parsing",
    "int_type",
    "bool_parsing",
    "greater_than_equal",
    "less_than_equal",
    "multiple_of",
    "uuid_parsing",
    "datetime_from_date_parsing",
    "datetime_parsing",
    "timezone_aware",
    "enum",
)
#: what ``listing_missing`` may say besides the listing purposes (app/practice/service.py)
LISTING_NEEDS = ("admin-approval", "profession", "city", "visit-reasons")
#: ``actor_role`` and ``via`` in the access log (app/audit/service.py)
ACCESS_LOG_ROLES = (
    "patient",
    "practitioner",
    "secretary",
    "admin",
    "third_party",
    "system",
    "anonymous",
)
ACCESS_LOG_CHANNELS = ("web", "api", "system")


def _entries(name: str) -> dict[str, str]:
    text = (STATIC / "lang" / f"{name}.js").read_text(encoding="utf-8")
    found = dict(_ENTRY.findall(text))
    assert len(found) == len(_KEY.findall(text)) or len(found) > 0
    return found


FR = _entries("fr")
EN = _entries("en")


def _error_codes() -> set[str]:
    def subclasses(cls: type[ErdvError]) -> list[type[ErdvError]]:
        return [s for c in cls.__subclasses__() for s in (c, *subclasses(c))]

    codes = {getattr(c, "code", "") for c in subclasses(ErdvError)}
    return {c for c in codes | {code for code, _title in HTTP_STATUS_CODES.values()} if c}


def test_french_and_english_have_the_same_keys() -> None:
    assert sorted(set(FR) - set(EN)) == [], "in French only"
    assert sorted(set(EN) - set(FR)) == [], "in English only"
    empty = [k for k, v in {**FR, **EN}.items() if not v.strip()]
    assert empty == []


def test_every_key_the_scripts_use_exists() -> None:
    used: set[str] = set()
    for path in STATIC.rglob("*.js"):
        code = "\n".join(
            line
            for line in path.read_text(encoding="utf-8").splitlines()
            if not line.lstrip().startswith(("*", "//", "/*"))
        )
        used |= set(re.findall(r'\bt\("([^"]+)"', code))
    assert sorted(used - set(FR)) == []


@pytest.mark.parametrize(
    ("prefix", "codes"),
    [
        ("err", sorted(_error_codes())),
        ("verr", VALIDATION_TYPES),
        ("action", [a.value for a in AuditAction]),
        (
            "missing",
            [p.id.value for p in default_charter().purposes_required_for(Gate.LISTING)]
            + list(LISTING_NEEDS),
        ),
        ("scope", sorted(ALL_SCOPES)),
        ("role", ACCESS_LOG_ROLES),
        ("via", ACCESS_LOG_CHANNELS),
    ],
)
def test_every_code_from_the_api_has_words(prefix: str, codes: list[str]) -> None:
    missing = [f"{prefix}.{code}" for code in codes if f"{prefix}.{code}" not in FR]
    assert missing == []


def test_the_english_texts_are_not_french_copies() -> None:
    """A key translated by pasting the French text would pass the checks above."""
    same = [k for k in FR if FR[k] == EN[k] and len(FR[k]) > 12 and " " in FR[k]]
    assert same == []


def test_every_profession_and_specialty_is_named_in_both_languages() -> None:
    """The directory's labels are French (app/practice/professions.py); an English reader saw
    "Médecin — Médecine générale". Each id has its name in each language's file."""
    from app.practice.professions import PROFESSIONS

    ids = [f"profession.{p.id}" for p in PROFESSIONS] + [
        f"specialty.{s.id}" for p in PROFESSIONS for s in p.specialties
    ]
    assert [key for key in ids if key not in FR or key not in EN] == []
    assert [key for key in ids if FR[key] == EN[key]] == []
