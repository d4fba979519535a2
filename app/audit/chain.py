"""The hash chain, as pure functions shared by the writer, ``verify`` and the export manifest."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64

#: The fields a hash covers, in the order they are documented; ``hash`` and ``mac`` are not inputs.
HASHED_FIELDS = (
    "seq",
    "id",
    "at",
    "action",
    "outcome",
    "actor_type",
    "actor_id",
    "actor_role",
    "client_id",
    "subject_id",
    "object_type",
    "object_id",
    "ip",
    "request_id",
    "details",
    "prev_hash",
)


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8: the same value always gives the same bytes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def format_instant(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_payload(fields: Mapping[str, Any]) -> str:
    """Canonical JSON of an entry's hashed fields (ids and instants as strings)."""
    payload: dict[str, Any] = {}
    for name in HASHED_FIELDS:
        value = fields[name]
        if isinstance(value, datetime):
            value = format_instant(value)
        elif value is not None and not isinstance(value, str | int):
            value = str(value)
        payload[name] = value
    return canonical_json(payload)


def entry_hash(prev_hash: str, payload: str) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + payload.encode("utf-8")).hexdigest()


def entry_mac(key: bytes, digest: str) -> str:
    return hmac.new(key, digest.encode("ascii"), hashlib.sha256).hexdigest()


def checkpoint_mac(key: bytes, cut_seq: int, cut_hash: str) -> str:
    return hmac.new(
        key, f"checkpoint:{cut_seq}:{cut_hash}".encode("ascii"), hashlib.sha256
    ).hexdigest()


def head_mac(key: bytes, seq: int, digest: str) -> str:
    return hmac.new(key, f"head:{seq}:{digest}".encode("ascii"), hashlib.sha256).hexdigest()


def constant_mac_ok(expected: str, stored: str) -> bool:
    return hmac.compare_digest(expected.encode("ascii"), stored.encode("ascii", "replace"))
