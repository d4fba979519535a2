"""The consent log export (admins, docs/api.md "Admin"): one row per decision, CSV or NDJSON, streamed.

What a controller needs to demonstrate consent (GDPR Art. 7(1)): who (account id), which text
(purpose, version, SHA-256), what (grant or withdraw), when, through which channel, and the receipt
hash. No names or emails: the export proves decisions without copying the directory.

CSV follows RFC 4180 (CRLF line ends, quotes doubled) and neutralises spreadsheet formulas: a field
starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading apostrophe
(OWASP "CSV injection"), so opening the file in a spreadsheet never runs anything.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.consent.models import ConsentDecision
from app.consent.repository import ConsentRepository

ExportFormat = Literal["csv", "ndjson"]

COLUMNS = (
    "id",
    "decided_at",
    "account_id",
    "purpose_id",
    "purpose_version",
    "client_id",
    "decision",
    "text_sha256",
    "channel",
    "receipt_sha256",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def escape_formula(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def _row(decision: ConsentDecision) -> dict[str, str | int | None]:
    return {
        "id": str(decision.id),
        "decided_at": decision.decided_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "account_id": str(decision.account_id),
        "purpose_id": decision.purpose_id,
        "purpose_version": decision.purpose_version,
        "client_id": decision.scope or None,
        "decision": decision.decision,
        "text_sha256": decision.text_sha256,
        "channel": decision.channel,
        "receipt_sha256": decision.receipt_sha256,
    }


def _csv_line(values: list[str]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(values)
    return buffer.getvalue().encode("utf-8")


async def export_consent_log(
    factory: async_sessionmaker[AsyncSession],
    *,
    fmt: ExportFormat,
    since: datetime | None = None,
    until: datetime | None = None,
    purpose_id: str | None = None,
) -> AsyncIterator[bytes]:
    """Yield the export chunk by chunk; NDJSON ends with a manifest line (count and SHA-256)."""
    if fmt == "csv":
        yield _csv_line(list(COLUMNS))
    digest = hashlib.sha256()
    count = 0
    async with factory() as session:
        rows = ConsentRepository(session).iter_decisions(
            since=since, until=until, purpose_id=purpose_id
        )
        async for decision in rows:
            row = _row(decision)
            count += 1
            if fmt == "csv":
                yield _csv_line([escape_formula("" if v is None else str(v)) for v in row.values()])
            else:
                line = (json.dumps(row, separators=(",", ":")) + "\n").encode("utf-8")
                digest.update(line)
                yield line
    if fmt == "ndjson":
        manifest = {
            "manifest": {
                "kind": "erdv.consent-log",
                "count": count,
                "lines_sha256": digest.hexdigest(),
            }
        }
        yield (json.dumps(manifest, separators=(",", ":")) + "\n").encode("utf-8")
