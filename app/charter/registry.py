"""The Charte e-RDV and the consent purposes, loaded from ``charter/`` and pinned by its lock file.

Why versioned data with a lock: a decision is only worth something if we can show, years later,
which text the person saw. GDPR Art. 7(1) asks the controller to *demonstrate* consent, Art. 13 asks
that the patient be informed at collection, and ``docs/charter.md`` ("Consent purposes") says that
when a purpose's text changes its version goes up and earlier grants stop counting for what it
gates. So every clause and purpose has an integer ``version`` and the SHA-256 of its canonical text,
and ``charter/charter.lock.json`` pins both. Editing a text without raising its version would
silently change what earlier grants meant: ``check_lock`` reports it and ``python -m
app.charter.lock lock`` refuses to record it.

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

The lock and its command are ``app.charter.lock``; the data model is ``app.charter.model``.
"""

from __future__ import annotations

import tomllib
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from app.charter.model import (
    _ALLOWED_CONTROLS,
    _CLAUSE_ID,
    _SOURCE_ID,
    DEFAULT_CHARTER_DIR,
    LANGS,
    Audience,
    Charter,
    CharterError,
    Clause,
    Gate,
    Localized,
    Purpose,
    PurposeId,
    PurposeKind,
    Source,
    canonical_text,
)

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
    """The rules of docs/charter.md ("Consent purposes") that the data alone could break.

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
