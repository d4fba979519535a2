"""The plain definitions the slot engine's tests check it against."""

from __future__ import annotations

from datetime import datetime


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    """Whether half-open intervals ``[a_start, a_end)`` and ``[b_start, b_end)`` share an instant
    (aware datetimes compare as instants, whatever their zones)."""
    return a_start < b_end and b_start < a_end
