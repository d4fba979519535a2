"""The Charte e-RDV and the consent purposes, loaded from ``charter/`` and pinned by its lock file.

Why versioned data with a lock: a decision is only worth something if we can show, years later, which
text the person saw. GDPR Art. 7(1) asks the controller to *demonstrate* consent, Art. 13 asks that the
patient be informed at collection, and ``shared/CHARTER.md`` says that when a purpose's text changes its
version goes up and earlier grants stop counting for what it gates. So every clause and purpose has an
integer ``version`` and the SHA-256 of its canonical text, and ``charter/charter.lock.json`` pins both.
Editing a text without raising its version would silently change what earlier grants meant:
``check_lock`` reports it and ``python -m app.charter.registry lock`` refuses to record it.

Pure: no database, no HTTP, no settings. Later code (consent records, ``GET /api/v1/charter``,
the compliance report) builds on ``load_charter`` / ``default_charter``.

Canonical text (what ``text_sha256`` and ``text_en_sha256`` hash), applied in this order:

1. Unicode normalisation form NFC;
2. every CR LF pair, then every remaining lone CR, becomes LF;
3. trailing U+0020 SPACE and U+0009 TAB characters are removed from every line;
4. leading and trailing LF characters are removed (no blank line at either end, no final newline);
5. the result is encoded as UTF-8 without BOM and hashed with SHA-256, written as lowercase hex.

The loader also refuses texts holding other control or invisible format characters (Unicode categories
Cc and Cf, except LF and CR), so two texts that read the same cannot hash differently. Every text the
registry hands out is already canonical: what is served is exactly what was hashed.

Errors: ``CharterError`` (the data cannot be trusted; names the file and the field). Lock mismatches are
not exceptions but a list of readable problems, because ``check`` wants to show all of them at once.

Command line::

    python -m app.charter.registry check [--charter-dir DIR]   # exit 1 on any problem
    python -m app.charter.registry lock  [--charter-dir DIR]   # rewrite the lock, or refuse (exit 1)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any, Final, Literal, TypeVar

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
    """What a purpose must be granted for, at its current version (API.md: ``consent_required``)."""

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


@dataclass(frozen=True, slots=True)
class Clause:
    """One clause of the Charte e-RDV, in erdv's own words (IDs are ours, not the charter's)."""

    id: str
    version: int
    title: Localized
    summary: Localized
    text: Localized
    sources: tuple[str, ...]

    @property
    def text_sha256(self) -> str:
        """Hash of the French reference text: the identity of this version."""
        return text_sha256(self.text.fr)

    @property
    def text_en_sha256(self) -> str:
        return text_sha256(self.text.en)

    def sha256(self, lang: Lang) -> str:
        return text_sha256(self.text.get(lang))


@dataclass(frozen=True, slots=True)
class Purpose:
    """Something a person decides, tied to clauses, versioned, its text hashed (shared/CHARTER.md)."""

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

    @property
    def text_sha256(self) -> str:
        """Hash of the French reference text: what a consent receipt pins by default."""
        return text_sha256(self.text.fr)

    @property
    def text_en_sha256(self) -> str:
        return text_sha256(self.text.en)

    def sha256(self, lang: Lang) -> str:
        return text_sha256(self.text.get(lang))


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
        """The body of ``GET /api/v1/charter`` (shared/API.md), texts in ``lang``.

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


# ---------------------------------------------------------------------------------------------------
# Loading and validation


_E = TypeVar("_E", bound=StrEnum)


class _Table:
    """A TOML table read strictly: every key known, every type checked, errors naming file and field."""

    def __init__(self, file: str, data: Mapping[str, Any], prefix: str = "") -> None:
        self.file = file
        self.data = data
        self.prefix = prefix

    def error(self, key: str | None, problem: str) -> CharterError:
        field = f"{self.prefix}{key}" if key else (self.prefix.rstrip(".") or None)
        return CharterError(self.file, field, problem)

    def expect_keys(self, keys: Iterable[str]) -> None:
        """Every key present, none unknown: a typo (``requried_for``) must not pass as "absent"."""
        expected = set(keys)
        for key in self.data:
            if key not in expected:
                raise self.error(key, f"unknown key (allowed: {', '.join(sorted(expected))})")
        for key in sorted(expected):
            if key not in self.data:
                raise self.error(key, "missing")

    def table(self, key: str) -> _Table:
        value = self.data[key]
        if not isinstance(value, dict):
            raise self.error(key, "must be a table")
        return _Table(self.file, value, f"{self.prefix}{key}.")

    def string(self, key: str, *, multiline: bool = False) -> str:
        value = self.data[key]
        if not isinstance(value, str):
            raise self.error(key, "must be a string")
        for char in value:
            if char in _ALLOWED_CONTROLS:
                continue
            if unicodedata.category(char) in ("Cc", "Cf"):
                raise self.error(key, f"holds the invisible or control character U+{ord(char):04X}")
        text = canonical_text(value)
        if not text.strip():
            raise self.error(key, "must not be empty")
        if not multiline and "\n" in text:
            raise self.error(key, "must be a single line")
        return text

    def integer(self, key: str, *, minimum: int) -> int:
        value = self.data[key]
        # bool is an int in Python; a version of ``true`` is a typo, not 1.
        if type(value) is not int:
            raise self.error(key, "must be an integer")
        if value < minimum:
            raise self.error(key, f"must be at least {minimum}")
        return value

    def boolean(self, key: str) -> bool:
        value = self.data[key]
        if not isinstance(value, bool):
            raise self.error(key, "must be true or false")
        return value

    def day(self, key: str) -> date:
        value = self.data[key]
        if type(value) is not date:
            raise self.error(key, "must be a date (YYYY-MM-DD)")
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.data[key]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(key, "must be a list of strings")
        if not value:
            raise self.error(key, "must not be empty")
        if len(set(value)) != len(value):
            raise self.error(key, "lists the same value twice")
        return tuple(value)

    def choice(self, key: str, enum: type[_E]) -> _E:
        value = self.data[key]
        try:
            return enum(value)
        except ValueError:
            allowed = ", ".join(repr(member.value) for member in enum)
            raise self.error(key, f"is {value!r}; expected one of {allowed}") from None

    def localized(self, key: str, *, multiline: bool = False) -> Localized:
        """A ``[key]`` table with exactly ``fr`` (the reference) and ``en``: both are required."""
        table = self.table(key)
        table.expect_keys(LANGS)
        return Localized(
            fr=table.string("fr", multiline=multiline), en=table.string("en", multiline=multiline)
        )


def _display(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root.parent).as_posix()
    except ValueError:
        return path.as_posix()


def _read_toml(path: Path, root: Path) -> _Table:
    file = _display(path, root)
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise CharterError(file, None, "missing") from None
    except tomllib.TOMLDecodeError as error:
        raise CharterError(file, None, f"not valid TOML: {error}") from None
    except UnicodeDecodeError:
        raise CharterError(file, None, "not valid UTF-8") from None
    return _Table(file, data)


def _data_files(folder: Path, root: Path) -> list[Path]:
    """The ``*.toml`` files of ``folder``; any other visible file is refused, not silently ignored."""
    if not folder.is_dir():
        raise CharterError(_display(folder, root), None, "missing folder")
    files = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        if not path.is_file() or path.suffix != ".toml":
            raise CharterError(_display(path, root), None, "unexpected entry (only *.toml files)")
        files.append(path)
    return files


def _check_file_names(items: Sequence[tuple[str, Path, _Table]], kind: str) -> None:
    """Ids are unique, and each file is named after its id (messages and reviews rely on it)."""
    seen: dict[str, Path] = {}
    for item_id, path, table in items:
        if item_id in seen:
            raise table.error(
                "id", f"duplicate {kind} id {item_id!r}, also in {seen[item_id].name}"
            )
        seen[item_id] = path
    for item_id, path, table in items:
        if path.stem != item_id:
            raise table.error("id", f"is {item_id!r} but the file is named {path.name}")


def _load_clause(table: _Table, source_ids: set[str]) -> Clause:
    table.expect_keys({"id", "version", "title", "summary", "text", "sources"})
    clause_id = table.string("id")
    if not _CLAUSE_ID.fullmatch(clause_id):
        raise table.error("id", f"is {clause_id!r}; expected C1, C2, ...")
    sources = table.strings("sources")
    for source in sources:
        if source not in source_ids:
            raise table.error("sources", f"unknown source {source!r} (see charter.toml)")
    return Clause(
        id=clause_id,
        version=table.integer("version", minimum=1),
        title=table.localized("title"),
        summary=table.localized("summary", multiline=True),
        text=table.localized("text", multiline=True),
        sources=sources,
    )


def _load_purpose(table: _Table, clause_ids: set[str]) -> Purpose:
    table.expect_keys(
        {
            "id",
            "version",
            "audience",
            "kind",
            "clause_ids",
            "required_for",
            "default",
            "title",
            "text",
        }
    )
    purpose_id = table.choice("id", PurposeId)
    audience = table.choice("audience", Audience)
    kind = table.choice("kind", PurposeKind)
    clauses = table.strings("clause_ids")
    for clause_id in clauses:
        if clause_id not in clause_ids:
            raise table.error("clause_ids", f"unknown clause {clause_id!r}")
    # TOML has no null: "none" is written out, so that forgetting the key is an error, not "gates nothing".
    raw_gate = table.string("required_for")
    required_for = None if raw_gate == "none" else _gate(table, raw_gate)
    if table.boolean("default"):
        raise table.error(
            "default", "must be false: a pre-ticked box is not a decision (GDPR Art. 4(11))"
        )
    _check_gate_rules(table, audience, kind, required_for)
    return Purpose(
        id=purpose_id,
        version=table.integer("version", minimum=1),
        audience=audience,
        kind=kind,
        clause_ids=clauses,
        required_for=required_for,
        default=False,
        title=table.localized("title"),
        text=table.localized("text", multiline=True),
    )


def _gate(table: _Table, raw: str) -> Gate:
    try:
        return Gate(raw)
    except ValueError:
        allowed = ", ".join(repr(g.value) for g in Gate)
        raise table.error("required_for", f"is {raw!r}; expected {allowed} or 'none'") from None


def _check_gate_rules(
    table: _Table, audience: Audience, kind: PurposeKind, required_for: Gate | None
) -> None:
    """The rules of shared/CHARTER.md that the data alone could break.

    Booking rests on contract and care (GDPR Art. 6(1)(b), 9(2)(h)), so what gates it can only be the
    acknowledgement of the privacy notice, never a consent; a consent that gates anything is not freely
    given (Art. 7(4)). Listing is the practitioner's side (charter C1, C2, C11).
    """
    if required_for is Gate.BOOKING:
        if audience is not Audience.PATIENT:
            raise table.error("required_for", "only a patient purpose can gate booking")
        if kind is not PurposeKind.ACKNOWLEDGEMENT:
            raise table.error(
                "required_for",
                "booking must not be gated on a consent (GDPR Art. 6(1)(b), 9(2)(h)); "
                "only an acknowledgement may gate it",
            )
    if required_for is Gate.LISTING and audience is not Audience.PRACTITIONER:
        raise table.error("required_for", "only a practitioner purpose can gate listing")
    if kind is PurposeKind.CONSENT and required_for is not None:
        raise table.error(
            "required_for",
            "a consent must gate nothing: it would not be freely given (GDPR Art. 7(4))",
        )


def load_charter(path: Path = DEFAULT_CHARTER_DIR) -> Charter:
    """Load and validate ``charter.toml``, ``clauses/*.toml`` and ``purposes/*.toml`` under ``path``.

    Raises ``CharterError`` naming the file and the field at the first problem. Does not read the lock:
    ``check_lock`` compares the two.
    """
    root = path
    head = _read_toml(root / "charter.toml", root)
    head.expect_keys({"version", "title", "author", "signed_on", "sources"})
    raw_sources = head.data["sources"]
    if not isinstance(raw_sources, list) or not raw_sources:
        raise head.error("sources", "must be a non-empty array of tables ([[sources]])")
    sources: list[Source] = []
    for index, raw in enumerate(raw_sources):
        if not isinstance(raw, dict):
            raise head.error(f"sources[{index}]", "must be a table")
        entry = _Table(head.file, raw, f"sources[{index}].")
        entry.expect_keys({"id", "description"})
        source_id = entry.string("id")
        if not _SOURCE_ID.fullmatch(source_id):
            raise entry.error("id", f"is {source_id!r}; expected lowercase words joined by '-'")
        if any(s.id == source_id for s in sources):
            raise entry.error("id", f"duplicate source id {source_id!r}")
        sources.append(Source(source_id, entry.string("description", multiline=True)))
    source_ids = {s.id for s in sources}

    clause_tables = [(p, _read_toml(p, root)) for p in _data_files(root / "clauses", root)]
    clause_items = [(_load_clause(t, source_ids), p, t) for p, t in clause_tables]
    _check_file_names([(c.id, p, t) for c, p, t in clause_items], "clause")
    clauses = sorted((c for c, _, _ in clause_items), key=lambda c: int(c.id[1:]))
    if not clauses:
        raise CharterError(_display(root / "clauses", root), None, "holds no clause")

    known_clauses = {c.id for c in clauses}
    purpose_tables = [(p, _read_toml(p, root)) for p in _data_files(root / "purposes", root)]
    purpose_items = [(_load_purpose(t, known_clauses), p, t) for p, t in purpose_tables]
    _check_file_names([(q.id.value, p, t) for q, p, t in purpose_items], "purpose")
    by_id = {q.id: q for q, _, _ in purpose_items}
    for purpose_id in PurposeId:
        if purpose_id not in by_id:
            missing = root / "purposes" / f"{purpose_id.value}.toml"
            raise CharterError(_display(missing, root), None, "missing (every PurposeId needs one)")

    return Charter(
        version=head.integer("version", minimum=1),
        title=head.localized("title"),
        author=head.string("author"),
        signed_on=head.day("signed_on"),
        sources=tuple(sources),
        clauses=tuple(clauses),
        purposes=tuple(by_id[purpose_id] for purpose_id in PurposeId),
    )


@cache
def default_charter() -> Charter:
    """The shipped charter, loaded once per process (it only changes with a deployment)."""
    return load_charter()


# ---------------------------------------------------------------------------------------------------
# The lock


@dataclass(frozen=True, slots=True)
class LockEntry:
    id: str
    version: int
    text_sha256: str
    text_en_sha256: str


@dataclass(frozen=True, slots=True)
class Lock:
    """``charter.lock.json``: the versions and hashes that consents recorded so far refer to."""

    charter_version: int
    clauses: tuple[LockEntry, ...]
    purposes: tuple[LockEntry, ...]

    @classmethod
    def of(cls, charter: Charter) -> Lock:
        """The lock that matches ``charter`` exactly."""
        return cls(
            charter_version=charter.version,
            clauses=tuple(
                LockEntry(c.id, c.version, c.text_sha256, c.text_en_sha256) for c in charter.clauses
            ),
            purposes=tuple(
                LockEntry(p.id.value, p.version, p.text_sha256, p.text_en_sha256)
                for p in charter.purposes
            ),
        )

    def to_json(self) -> str:
        def entries(items: tuple[LockEntry, ...]) -> list[dict[str, Any]]:
            return [
                {
                    "id": e.id,
                    "version": e.version,
                    "text_sha256": e.text_sha256,
                    "text_en_sha256": e.text_en_sha256,
                }
                for e in items
            ]

        document = {
            "format": LOCK_FORMAT,
            "canonicalisation": CANONICALISATION,
            "charter_version": self.charter_version,
            "clauses": entries(self.clauses),
            "purposes": entries(self.purposes),
        }
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def load_lock(path: Path) -> Lock:
    """Parse ``charter.lock.json``; ``CharterError`` naming the field if it is malformed."""
    file = _display(path, path.parent)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CharterError(
            file, None, "missing; run `python -m app.charter.registry lock`"
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CharterError(file, None, f"not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise CharterError(file, None, "must be a JSON object")
    top = _Table(file, data)
    top.expect_keys({"format", "canonicalisation", "charter_version", "clauses", "purposes"})
    if top.integer("format", minimum=1) != LOCK_FORMAT:
        raise top.error("format", f"unsupported format (this code reads format {LOCK_FORMAT})")
    if data["canonicalisation"] != CANONICALISATION:
        raise top.error("canonicalisation", "differs from the canonicalisation this code applies")

    def entries(key: str) -> tuple[LockEntry, ...]:
        raw = data[key]
        if not isinstance(raw, list):
            raise top.error(key, "must be an array")
        result: list[LockEntry] = []
        for index, item in enumerate(raw):
            if not isinstance(item, dict):
                raise top.error(f"{key}[{index}]", "must be an object")
            entry = _Table(file, item, f"{key}[{index}].")
            entry.expect_keys({"id", "version", "text_sha256", "text_en_sha256"})
            hashes = [entry.string(k) for k in ("text_sha256", "text_en_sha256")]
            for name, value in zip(("text_sha256", "text_en_sha256"), hashes, strict=True):
                if not _SHA256_HEX.fullmatch(value):
                    raise entry.error(name, "must be 64 lowercase hex digits")
            item_id = entry.string("id")
            if any(e.id == item_id for e in result):
                raise entry.error("id", f"duplicate id {item_id!r}")
            result.append(
                LockEntry(item_id, entry.integer("version", minimum=1), hashes[0], hashes[1])
            )
        return tuple(result)

    return Lock(
        charter_version=top.integer("charter_version", minimum=1),
        clauses=entries("clauses"),
        purposes=entries("purposes"),
    )


@dataclass(frozen=True, slots=True)
class LockProblem:
    """A difference between the charter and its lock; ``recordable`` if ``lock`` may write it down."""

    message: str
    recordable: bool


_RUN_LOCK = "run `python -m app.charter.registry lock`"


def lock_problems(charter: Charter, lock: Lock) -> list[LockProblem]:
    """Every difference between ``charter`` and ``lock``, and whether ``lock`` may record it.

    Recordable: a raised version (with whatever new text), a new item, a raised charter version.
    Refused: a text changed under the same version (it would rewrite what earlier decisions meant),
    a version going down, an item disappearing (consents refer to it), and any item change without a
    raised charter version (``GET /api/v1/charter``'s ``version`` must name one set of texts).
    """
    problems: list[LockProblem] = []
    current = Lock.of(charter)
    groups = (
        ("clause", "clauses", current.clauses, lock.clauses),
        ("purpose", "purposes", current.purposes, lock.purposes),
    )
    for kind, folder, now_entries, locked_entries in groups:
        locked = {e.id: e for e in locked_entries}
        for entry in now_entries:
            file = f"{folder}/{entry.id}.toml"
            old = locked.get(entry.id)
            if old is None:
                problems.append(
                    LockProblem(
                        f"{kind} {entry.id}: version {entry.version} is not locked yet", True
                    )
                )
            elif entry.version < old.version:
                problems.append(
                    LockProblem(
                        f"{kind} {entry.id}: version went down from {old.version} to "
                        f"{entry.version} in {file}; versions only go up (decisions refer to them)",
                        False,
                    )
                )
            elif entry.version == old.version:
                for label, before, after in (
                    ("French reference text", old.text_sha256, entry.text_sha256),
                    ("English text", old.text_en_sha256, entry.text_en_sha256),
                ):
                    if before != after:
                        problems.append(
                            LockProblem(
                                f"{kind} {entry.id}: {label} changed but version is still "
                                f"{entry.version} (locked sha256 {before[:12]}…, now {after[:12]}…); "
                                f"raise `version` in {file}",
                                False,
                            )
                        )
            else:
                problems.append(
                    LockProblem(
                        f"{kind} {entry.id}: version {entry.version} is not locked yet "
                        f"(lock has {old.version})",
                        True,
                    )
                )
        present = {e.id for e in now_entries}
        for old in locked_entries:
            if old.id not in present:
                problems.append(
                    LockProblem(
                        f"{kind} {old.id}: locked at version {old.version} but no longer in the "
                        f"charter; restore {folder}/{old.id}.toml (decisions refer to it)",
                        False,
                    )
                )

    changed = [
        f"{kind} {entry_id}"
        for kind, now_entries, locked_entries in (
            ("clause", current.clauses, lock.clauses),
            ("purpose", current.purposes, lock.purposes),
        )
        for entry_id in _changed_ids(now_entries, locked_entries)
    ]
    if charter.version < lock.charter_version:
        problems.append(
            LockProblem(
                f"charter.toml: version went down from {lock.charter_version} to {charter.version}",
                False,
            )
        )
    elif charter.version == lock.charter_version:
        if changed:
            problems.append(
                LockProblem(
                    f"charter.toml: {', '.join(changed)} changed but the charter version is still "
                    f"{charter.version}; raise `version` in charter.toml",
                    False,
                )
            )
    else:
        problems.append(
            LockProblem(
                f"charter.toml: version {charter.version} is not locked yet "
                f"(lock has {lock.charter_version})",
                True,
            )
        )
    return problems


def _changed_ids(now: tuple[LockEntry, ...], locked: tuple[LockEntry, ...]) -> list[str]:
    """Ids added, removed or different between two lists of lock entries, in a stable order."""
    before = {e.id: e for e in locked}
    after = {e.id: e for e in now}
    ids = [e.id for e in now] + [e.id for e in locked if e.id not in after]
    return [i for i in ids if before.get(i) != after.get(i)]


def check_lock(charter: Charter, lock: Lock) -> list[str]:
    """Human-readable differences between ``charter`` and ``lock``; empty when they match exactly."""
    return [
        f"{problem.message}; {_RUN_LOCK}" if problem.recordable else problem.message
        for problem in lock_problems(charter, lock)
    ]


# ---------------------------------------------------------------------------------------------------
# Command line


def _write_atomically(path: Path, content: str) -> None:
    """A crash must never leave a half-written lock: write beside it, then rename over it."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(content, encoding="utf-8")
    os.replace(temporary, path)


def _say(stream: Any, lines: Iterable[str]) -> None:
    for line in lines:
        stream.write(f"{line}\n")


def main(argv: Sequence[str] | None = None) -> int:
    """``check`` or ``lock`` the charter under ``--charter-dir``; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m app.charter.registry",
        description="Check the charter data against charter.lock.json, or rewrite the lock.",
    )
    parser.add_argument("command", choices=("check", "lock"))
    parser.add_argument("--charter-dir", type=Path, default=DEFAULT_CHARTER_DIR)
    args = parser.parse_args(argv)
    root: Path = args.charter_dir
    lock_path = root / LOCK_FILE_NAME

    try:
        charter = load_charter(root)
        # ``check`` needs the lock; ``lock`` may be creating it for the first time.
        locked = load_lock(lock_path) if args.command == "check" or lock_path.exists() else None
    except CharterError as error:
        _say(sys.stderr, [f"charter: {error}"])
        return 1
    summary = (
        f"charter version {charter.version}: "
        f"{len(charter.clauses)} clauses, {len(charter.purposes)} purposes"
    )

    if args.command == "check" and locked is not None:
        problems = check_lock(charter, locked)
        if problems:
            _say(sys.stderr, [f"{LOCK_FILE_NAME} does not match the charter:", *problems])
            return 1
        _say(sys.stdout, [f"{summary} match {LOCK_FILE_NAME}"])
        return 0

    if locked is None:
        _write_atomically(lock_path, Lock.of(charter).to_json())
        _say(sys.stdout, [f"{LOCK_FILE_NAME} created: {summary}"])
        return 0
    problems_found = lock_problems(charter, locked)
    refused = [p.message for p in problems_found if not p.recordable]
    if refused:
        _say(sys.stderr, [f"refusing to rewrite {LOCK_FILE_NAME}:", *refused])
        return 1
    if not problems_found:
        _say(sys.stdout, [f"{LOCK_FILE_NAME} is up to date: {summary}"])
        return 0
    _write_atomically(lock_path, Lock.of(charter).to_json())
    _say(
        sys.stdout,
        [
            f"{LOCK_FILE_NAME} updated: {summary}",
            *(f"recorded: {p.message}" for p in problems_found),
        ],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
