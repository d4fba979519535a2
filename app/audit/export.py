"""Audit export as NDJSON, one FHIR-AuditEvent-shaped object a line, closed by a manifest line.

Streaming in constant memory: entries are read in keyset-paginated batches inside the generator's own
short-lived session, and each line is hashed as it is produced. The manifest (the last line) gives the
count, the first and last ``seq``, the hash of the last exported entry and the chain head at export
time, and the SHA-256 of every byte before it, so whoever receives the file can check that nothing
was cut or changed in transit, and compare the head with ``erdv audit verify``.

The shape follows FHIR R4 ``AuditEvent`` (``type``, ``action``, ``recorded``, ``outcome``, ``agent``,
``source``, ``entity``) so that a hospital's SIEM or a CNIL auditor can read it with common tools; the
chain fields travel as extensions.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit import chain
from app.audit.repository import AuditRepository
from app.core import clock

_EXT = "urn:erdv:audit:"
#: FHIR AuditEvent.action: C create, R read, U update, D delete, E execute.
_FHIR_ACTION_BY_VERB = {
    "read": "R",
    "listed": "R",
    "exported": "R",
    "calendar_exported": "R",
    "log_exported": "R",
    "booked": "C",
    "created": "C",
    "registered": "C",
    "admin_created": "C",
    "granted": "C",
    "cancelled": "U",
    "rescheduled": "U",
    "updated": "U",
    "profile_updated": "U",
    "availability_updated": "U",
    "deleted": "D",
    "purged": "D",
    "withdrawn": "D",
}
#: FHIR outcome codes: 0 success, 4 minor failure (refused), 8 serious failure.
_FHIR_OUTCOME = {"success": "0", "denied": "4", "failure": "4"}


def fhir_action(action: str) -> str:
    verb = action.split(".", 1)[-1]
    for suffix, code in _FHIR_ACTION_BY_VERB.items():
        if verb.endswith(suffix):
            return code
    return "E"


def to_fhir(entry: Mapping[str, Any]) -> dict[str, Any]:
    """One audit entry as a FHIR AuditEvent (no names, no health data: ids only)."""
    agents: list[dict[str, Any]] = []
    if entry["actor_type"] != "client" or entry["actor_id"]:
        agent: dict[str, Any] = {
            "type": {"text": entry["actor_type"]},
            "requestor": True,
        }
        if entry["actor_id"]:
            agent["who"] = {"identifier": {"value": entry["actor_id"]}}
        if entry["actor_role"]:
            agent["role"] = [{"text": entry["actor_role"]}]
        if entry["ip"]:
            agent["network"] = {"address": entry["ip"], "type": "2"}
        agents.append(agent)
    if entry["client_id"]:
        agents.append(
            {
                "type": {"text": "oauth-client"},
                "who": {
                    "identifier": {"system": "urn:erdv:oauth-client", "value": entry["client_id"]}
                },
                "requestor": entry["actor_type"] == "client" and not entry["actor_id"],
            }
        )
    entities: list[dict[str, Any]] = []
    if entry["object_type"]:
        entity: dict[str, Any] = {"type": {"text": entry["object_type"]}}
        if entry["object_id"]:
            entity["what"] = {"identifier": {"value": entry["object_id"]}}
        entities.append(entity)
    if entry["subject_id"]:
        entities.append(
            {"what": {"identifier": {"value": entry["subject_id"]}}, "role": {"text": "patient"}}
        )
    event: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": str(entry["id"]),
        "type": {"system": "urn:erdv:audit-action", "code": entry["action"]},
        "action": fhir_action(str(entry["action"])),
        "recorded": chain.format_instant(entry["at"]),
        "outcome": _FHIR_OUTCOME.get(str(entry["outcome"]), "8"),
        "agent": agents,
        "source": {"observer": {"display": "erdv"}},
        "extension": [
            {"url": _EXT + "seq", "valueInteger": int(entry["seq"])},
            {"url": _EXT + "outcome", "valueCode": entry["outcome"]},
            {"url": _EXT + "prev-hash", "valueString": entry["prev_hash"]},
            {"url": _EXT + "hash", "valueString": entry["hash"]},
        ],
    }
    if entities:
        event["entity"] = entities
    if entry["request_id"]:
        event["extension"].append({"url": _EXT + "request-id", "valueString": entry["request_id"]})
    details = json.loads(str(entry["details"]))
    if details:
        event["extension"].append({"url": _EXT + "details", "valueString": entry["details"]})
    return event


async def export_ndjson(
    factory: async_sessionmaker[AsyncSession],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    batch_size: int = 1000,
) -> AsyncIterator[bytes]:
    """Yield the export line by line (bytes, ``\\n``-terminated), manifest last."""
    digest = hashlib.sha256()
    count = 0
    first_seq: int | None = None
    last_seq: int | None = None
    last_hash: str | None = None
    async with factory() as session:
        repository = AuditRepository(session)
        head = await repository.head()
        async for row in repository.iter_entries(since=since, until=until, batch_size=batch_size):
            # Entries appended after the export started are left for the next export.
            if head is not None and int(row.seq) > head[0]:
                break
            line = (chain.canonical_json(to_fhir(dict(row._mapping))) + "\n").encode("utf-8")
            digest.update(line)
            count += 1
            first_seq = int(row.seq) if first_seq is None else first_seq
            last_seq, last_hash = int(row.seq), str(row.hash)
            yield line
    manifest = {
        "manifest": {
            "kind": "erdv.audit-export",
            "generated_at": chain.format_instant(clock.now()),
            "since": chain.format_instant(since) if since else None,
            "until": chain.format_instant(until) if until else None,
            "count": count,
            "first_seq": first_seq,
            "last_seq": last_seq,
            "last_hash": last_hash,
            "chain_head_seq": head[0] if head else 0,
            "chain_head": head[1] if head else chain.GENESIS_HASH,
            "lines_sha256": digest.hexdigest(),
        }
    }
    yield (chain.canonical_json(manifest) + "\n").encode("utf-8")
