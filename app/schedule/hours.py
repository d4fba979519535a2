"""Opening hours as stored: the practice's JSON columns, read into the engine's blocks.

``weekly`` is a list of blocks ``{weekday, start, end, visit_reason_ids, site_id}``; ``overrides``
maps a local date (``YYYY-MM-DD``) to that day's blocks ``{start, end, visit_reason_ids, site_id}``
(an empty list: closed that day). Pure (no I/O, no clock), like the rest of ``app.schedule``: the
practice domain stores the JSON, the booking domain lays slots from the blocks.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, time
from functools import cache, lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from app.schedule.model import OpeningBlock, Schedule


def _hhmm(value: time) -> str:
    return value.strftime("%H:%M")


def _item(block: OpeningBlock, *, weekday: bool) -> dict[str, Any]:
    item: dict[str, Any] = {"weekday": block.weekday} if weekday else {}
    item.update(
        start=_hhmm(block.start),
        end=_hhmm(block.end),
        visit_reason_ids=sorted(block.visit_reason_ids),
    )
    if block.site_id:
        item["site_id"] = block.site_id
    return item


def dump_weekly(blocks: Iterable[OpeningBlock]) -> str:
    return json.dumps(
        [_item(b, weekday=True) for b in sorted(blocks, key=lambda b: (b.weekday, b.start))],
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
    return [b for b in (_block(item, int(item["weekday"]), keep) for item in items) if b]


def _block(item: Mapping[str, Any], weekday: int, keep: set[str] | None) -> OpeningBlock | None:
    reasons = set(item["visit_reason_ids"])
    if keep is not None:
        reasons &= keep
        if not reasons:
            return None
    return OpeningBlock(
        weekday,
        time.fromisoformat(item["start"]),
        time.fromisoformat(item["end"]),
        frozenset(reasons),
        str(item.get("site_id") or ""),
    )


def dump_overrides(overrides: Mapping[date, Iterable[OpeningBlock]]) -> str:
    return json.dumps(
        {
            day.isoformat(): [
                _item(b, weekday=False) for b in sorted(blocks, key=lambda b: b.start)
            ]
            for day, blocks in sorted(overrides.items())
        },
        separators=(",", ":"),
    )


def load_overrides(raw: str) -> dict[str, list[dict[str, Any]]]:
    loaded: dict[str, list[dict[str, Any]]] = json.loads(raw or "{}")
    return loaded


def without_reason(raw: str, reason_id: str) -> str:
    """The stored overrides with a retired visit reason taken out: blocks left with none go,
    their date stays (closed, as far as this reason goes)."""
    kept = {
        day: [
            {**block, "visit_reason_ids": ids}
            for block in held
            if (ids := [i for i in block["visit_reason_ids"] if i != reason_id])
        ]
        for day, held in load_overrides(raw).items()
    }
    return json.dumps(kept, separators=(",", ":"))


def overrides_of(
    raw: str | Mapping[str, Sequence[Mapping[str, Any]]], keep: set[str] | None = None
) -> dict[date, list[OpeningBlock]]:
    """Each overridden date's blocks from the stored JSON, narrowed by ``keep`` as in
    ``blocks_of``: a date whose blocks all go stays, closed (the practitioner closed it, or
    opened it for reasons no longer offered)."""
    items = load_overrides(raw) if isinstance(raw, str) else raw
    found: dict[date, list[OpeningBlock]] = {}
    for text, blocks in items.items():
        day = date.fromisoformat(text)
        found[day] = [b for b in (_block(i, day.weekday(), keep) for i in blocks) if b]
    return found


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


#: stored hours read into schedules, by their stored text: a search lays fifty practices' hours
#: per page, and parsing and validating each one's JSON was most of the time (bench B6b). A
#: ``Schedule`` is immutable, so a memo of this pure function is never stale: a change of hours is
#: another key. Bounded: a worker keeps at most this many practices' hours.
SCHEDULE_MEMO = 2048


def stored_schedules(
    timezone: str, weekly: str, overrides: str, site_zones: str, durations: Mapping[str, int]
) -> tuple[Schedule, ...]:
    """``schedules`` of hours as the practice row stores them, memoised (``SCHEDULE_MEMO``)."""
    return _memo(timezone, weekly, overrides, site_zones, tuple(sorted(durations.items())))


@lru_cache(maxsize=SCHEDULE_MEMO)
def _memo(
    timezone: str,
    weekly: str,
    overrides: str,
    site_zones: str,
    durations: tuple[tuple[str, int], ...],
) -> tuple[Schedule, ...]:
    return tuple(schedules(timezone, weekly, overrides, site_zones, dict(durations)))


def schedules(
    timezone: str,
    weekly: str | Sequence[Mapping[str, Any]],
    overrides: str | Mapping[str, Sequence[Mapping[str, Any]]],
    site_zones: str | Mapping[str, str],
    durations: Mapping[str, int],
    *,
    strict: bool = False,
) -> list[Schedule]:
    """The engine's schedules of a practice, offering the visit reasons of ``durations``: one per
    time zone among its sites (``site_zones``, each site's zone; a block without a known site is
    in the practice's ``timezone``), each holding that zone's weekly blocks and every overridden
    date (closed there when the override holds no block at a site of that zone). A practice in
    one zone, nearly all of them, is one schedule. Raises ``ScheduleError`` as ``Schedule`` does.

    A retired visit reason still named by a block is skipped, unless ``strict`` (checking hours
    before they are stored: an unknown reason is then an error).
    """
    keep = None if strict else set(durations)
    blocks = blocks_of(weekly, keep)
    days = overrides_of(overrides, keep) if overrides not in ("", "{}") else {}
    zones: Mapping[str, str] = (
        (json.loads(site_zones) if site_zones not in ("", "{}") else {})
        if isinstance(site_zones, str)
        else site_zones
    )
    if all(zone == timezone for zone in zones.values()):
        return [Schedule(_zone(timezone), tuple(blocks), durations, days)]

    def zone_of(block: OpeningBlock) -> str:
        return zones.get(block.site_id, timezone)

    names = dict.fromkeys(
        [zone_of(b) for b in blocks] + [zone_of(b) for held in days.values() for b in held]
    )
    return [
        Schedule(
            _zone(name),
            tuple(b for b in blocks if zone_of(b) == name),
            durations,
            {day: [b for b in held if zone_of(b) == name] for day, held in days.items()},
        )
        for name in names or [timezone]
    ]
