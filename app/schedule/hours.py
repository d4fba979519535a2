"""Weekly opening hours as stored: the practice's JSON column, read into the engine's blocks.

Pure (no I/O, no clock), like the rest of ``app.schedule``: the practice domain stores the JSON, the
booking domain lays slots from the blocks.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import time
from typing import Any

from app.schedule.model import OpeningBlock


def _hhmm(value: time) -> str:
    return value.strftime("%H:%M")


def dump_weekly(blocks: Iterable[OpeningBlock]) -> str:
    return json.dumps(
        [
            {
                "weekday": b.weekday,
                "start": _hhmm(b.start),
                "end": _hhmm(b.end),
                "visit_reason_ids": sorted(b.visit_reason_ids),
            }
            for b in sorted(blocks, key=lambda b: (b.weekday, b.start))
        ],
        separators=(",", ":"),
    )


def load_weekly(raw: str) -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = json.loads(raw or "[]")
    return loaded


def blocks_of(
    raw: str | Sequence[Mapping[str, Any]], keep: set[str] | None = None
) -> list[OpeningBlock]:
    """Opening blocks from the stored JSON; ``keep`` narrows each block's visit reasons (blocks left
    with none are dropped), which is how a retired reason disappears from the slot search."""
    items = load_weekly(raw) if isinstance(raw, str) else raw
    blocks = []
    for item in items:
        reasons = set(item["visit_reason_ids"])
        if keep is not None:
            reasons &= keep
        if not reasons and keep is not None:
            continue
        blocks.append(
            OpeningBlock(
                int(item["weekday"]),
                time.fromisoformat(item["start"]),
                time.fromisoformat(item["end"]),
                frozenset(reasons),
            )
        )
    return blocks
