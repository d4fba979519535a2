"""``charter/charter.lock.json``: the versions and text hashes a release promised, and the command
that checks the data against it or records a deliberate change.

Command line::

    python -m app.charter.lock check [--charter-dir DIR]   # exit 1 on any problem
    python -m app.charter.lock lock  [--charter-dir DIR]   # rewrite the lock, or refuse (exit 1)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.charter.model import (
    _SHA256_HEX,
    CANONICALISATION,
    DEFAULT_CHARTER_DIR,
    LOCK_FILE_NAME,
    LOCK_FORMAT,
    Charter,
    CharterError,
)
from app.charter.registry import _display, _Table, load_charter

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
        raise CharterError(file, None, "missing; run `python -m app.charter.lock lock`") from None
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


_RUN_LOCK = "run `python -m app.charter.lock lock`"


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
        prog="python -m app.charter.lock",
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
