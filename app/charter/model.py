"""The charter's data model: clauses, consent purposes and their canonical texts (see
``app.charter.registry`` for where they come from and why each text is hashed)."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any, Final, Literal

#: ``charter/`` beside the ``app`` package: the repository root in development, ``/app`` in the image.
DEFAULT_CHARTER_DIR: Final = Path(__file__).resolve().parents[2] / "charter"
LOCK_FILE_NAME: Final = "charter.lock.json"
LOCK_FORMAT: Final = 1
CANONICALISATION: Final = (
    "NFC; CRLF and lone CR become LF; trailing U+0020 and U+0009 removed from every line; "
    "leading and trailing LF removed; UTF-8 without BOM; SHA-256 as lowercase hex"
)

Lang = Literal["fr", "en"]
#: French is the reference text; English is a translation beside it, locked too.
LANGS: Final[tuple[Lang, ...]] = ("fr", "en")

_CLAUSE_ID = re.compile(r"C[1-9][0-9]*")
_SOURCE_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_ALLOWED_CONTROLS = frozenset("\n\r")


class CharterError(Exception):
    """The charter data or its lock cannot be trusted: erdv must not serve it or record consents on it.

    ``file`` is shown relative to the folder above ``charter/`` (``charter/clauses/C3.toml``) and
    ``field`` is a dotted path inside it (``text.fr``), or ``None`` for the file as a whole.
    """

    def __init__(self, file: str, field: str | None, problem: str) -> None:
        self.file = file
        self.field = field
        self.problem = problem
        where = f"{file}: {field}" if field else file
        super().__init__(f"{where}: {problem}")


class Audience(StrEnum):
    """Who decides on a purpose."""

    PATIENT = "patient"
    PRACTITIONER = "practitioner"


class Gate(StrEnum):
    """What a purpose must be granted for, at its current version (docs/api.md "Errors":
    ``consent_required``)."""

    BOOKING = "booking"
    LISTING = "listing"


class PurposeKind(StrEnum):
    """The legal nature of a decision, which decides what it may gate.

    - ``acknowledgement``: the person confirms they were informed (GDPR Art. 13). Not a consent.
    - ``consent``: optional processing on GDPR Art. 6(1)(a) / 9(2)(a); never a condition of service
      (Art. 7(4)) and as easy to withdraw as to give (Art. 7(3)).
    - ``agreement``: a practitioner's contract or professional undertaking (charter C1, C2, C11).
    """

    ACKNOWLEDGEMENT = "acknowledgement"
    CONSENT = "consent"
    AGREEMENT = "agreement"


class PurposeId(StrEnum):
    """The closed list of purposes (charter C8: no purpose beyond these). Each has one data file."""

    PRIVACY_NOTICE = "privacy-notice"
    REMINDERS_EMAIL = "reminders-email"
    REMINDERS_SMS = "reminders-sms"
    THIRD_PARTY_SHARING = "third-party-sharing"
    PROFILE_PUBLICATION = "profile-publication"
    PRACTITIONER_CONTRACT = "practitioner-contract"
    DEONTOLOGY = "deontology"


def canonical_text(text: str) -> str:
    """The canonical form defined in the module docstring (steps 1 to 4)."""
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "\n".join(line.rstrip(" \t") for line in text.split("\n"))
    return text.strip("\n")


def text_sha256(text: str) -> str:
    """SHA-256 (lowercase hex) of the canonical UTF-8 form of ``text``."""
    return hashlib.sha256(canonical_text(text).encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Localized:
    """One text in French (the reference) and English (a translation)."""

    fr: str
    en: str

    def get(self, lang: Lang) -> str:
        if lang == "fr":
            return self.fr
        if lang == "en":
            return self.en
        raise ValueError(f"unsupported language {lang!r}; expected one of {', '.join(LANGS)}")


@dataclass(frozen=True, slots=True)
class Source:
    """Where a clause comes from. The charter's full text is not at hand (see charter/README.md)."""

    id: str
    description: str


class VersionedText:
    """A clause's or a purpose's text: the French reference is its identity (hashed, pinned by
    the lock and by every consent receipt), the English translation is hashed and locked beside it."""

    __slots__ = ()
    text: Localized

    @property
    def text_sha256(self) -> str:
        return text_sha256(self.text.fr)

    @property
    def text_en_sha256(self) -> str:
        return text_sha256(self.text.en)

    def sha256(self, lang: Lang) -> str:
        return text_sha256(self.text.get(lang))


@dataclass(frozen=True, slots=True)
class Clause(VersionedText):
    """One clause of the Charte e-RDV, in erdv's own words (IDs are ours, not the charter's)."""

    id: str
    version: int
    title: Localized
    summary: Localized
    text: Localized
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Purpose(VersionedText):
    """Something a person decides, tied to clauses, versioned, its text hashed (docs/charter.md
    "Consent purposes")."""

    id: PurposeId
    version: int
    audience: Audience
    kind: PurposeKind
    clause_ids: tuple[str, ...]
    required_for: Gate | None
    #: Always ``False``: a pre-ticked box is not a consent (GDPR Art. 4(11), recital 32).
    default: bool
    title: Localized
    text: Localized


@dataclass(frozen=True, slots=True)
class Charter:
    """The whole charter: clauses ordered C1, C2, ..., purposes in ``PurposeId`` order."""

    version: int
    title: Localized
    author: str
    signed_on: date
    sources: tuple[Source, ...]
    clauses: tuple[Clause, ...]
    purposes: tuple[Purpose, ...]

    def clause(self, clause_id: str) -> Clause:
        """The clause ``clause_id``; ``KeyError`` if the charter has none."""
        for clause in self.clauses:
            if clause.id == clause_id:
                return clause
        raise KeyError(f"unknown clause {clause_id!r}")

    def purpose(self, purpose_id: str) -> Purpose:
        """The purpose ``purpose_id``; ``KeyError`` if none (an API maps it to ``unknown_purpose``)."""
        for purpose in self.purposes:
            if purpose.id == purpose_id:
                return purpose
        raise KeyError(f"unknown purpose {purpose_id!r}")

    def purposes_required_for(self, gate: Gate | str) -> tuple[Purpose, ...]:
        """Purposes that must be granted at their current version before ``gate`` (booking, listing)."""
        wanted = Gate(gate)
        return tuple(p for p in self.purposes if p.required_for is wanted)

    def public(self, lang: Lang = "fr") -> dict[str, Any]:
        """The body of ``GET /api/v1/charter`` (docs/api.md), texts in ``lang``.

        ``text_sha256`` is the hash of the text served in that language, so a client can check what it
        shows: for ``fr`` it is the locked reference hash, for ``en`` the locked ``text_en_sha256``.
        """
        if lang not in LANGS:
            raise ValueError(f"unsupported language {lang!r}; expected one of {', '.join(LANGS)}")
        return {
            "version": self.version,
            "clauses": [
                {
                    "id": clause.id,
                    "version": clause.version,
                    "title": clause.title.get(lang),
                    "summary": clause.summary.get(lang),
                    "text_sha256": clause.sha256(lang),
                }
                for clause in self.clauses
            ],
            "purposes": [
                {
                    "id": purpose.id.value,
                    "version": purpose.version,
                    "title": purpose.title.get(lang),
                    "kind": purpose.kind.value,
                    "audience": purpose.audience.value,
                    "clause_ids": list(purpose.clause_ids),
                    "required_for": purpose.required_for.value if purpose.required_for else None,
                    "text": purpose.text.get(lang),
                    "text_sha256": purpose.sha256(lang),
                }
                for purpose in self.purposes
            ],
        }
