"""B1's second anchor: the booking's core database work, served by the smallest server this stack allows.

pgbench's booking (B1's first anchor) measures the database alone; a machine whose disk or cores
are slow this minute moves erdv's bookings and pgbench's transactions differently (HTTP, Python,
the driver). This anchor is moved alike: a raw ASGI app under the same uvicorn (uvloop, httptools,
two workers on ``SO_REUSEPORT`` sockets, as ``erdv serve --workers 2``) answering B1's very requests
(``book.lua``, the same lines: a patient's session cookie, a CSRF token, a JSON body), each in one
transaction through asyncpg:

- the session by its token's hash (erdv's derived key), and its account;
- the practitioner's cells at that time (is the slot free?);
- the appointment and its three 5-minute cells (as ``bench/sql/booking.sql``);
- an audit writers' lock, the chain's head and one audit row after it, in a copy of the audit
  table (``audit_entry``'s columns and indexes: erdv's own trail is append-only, its newest entry
  pinned by a head record, and rows another hand wrote there could not be taken back);
- COMMIT (one fsync, as erdv's).

No FastAPI, no SQLAlchemy, no dependency, no throttle, consent, opening hours, idempotency,
notices or webhooks: what erdv adds over this is what B1's ratio to it measures (``bench/run.py``,
row B1). It is a measurement tool, not a booking service: its appointments carry the channel
``bench-bare`` and are deleted after each round, its audit table dropped (``run.py``,
``bare_booking_rate``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sys
import uuid
from typing import Any

from bench.login_bound import Answer, BareApp, serve

SESSION = (
    "SELECT auth_session.account_id, auth_session.state FROM auth_session"
    " JOIN account ON account.id = auth_session.account_id"
    " WHERE auth_session.token_hash = $1 AND account.status = 'active'"
)
FREE = (
    "SELECT count(*) FROM booking_cell"
    " WHERE practitioner_id = $1 AND cell_at >= $2 AND cell_at < $3"
)
INSERT = (
    "WITH a AS (INSERT INTO appointment (id, practitioner_id, patient_id, start_at, end_at, status,"
    " channel, visit_reason_ct, created_at) VALUES ($1, $2, $3, $4, $5, 'booked', 'bench-bare',"
    " $6, now()) RETURNING id, practitioner_id, start_at)"
    " INSERT INTO booking_cell (practitioner_id, cell_at, appointment_id)"
    " SELECT a.practitioner_id, a.start_at + c * interval '5 minutes', a.id"
    " FROM a, generate_series(0, 2) AS c"
)
#: a copy of ``audit_entry`` (``AUDIT_TABLE_SQL``): erdv's own trail is append-only and pinned
#: by its head record, so rows written there by another hand could not be taken back
AUDIT_TABLE = "bench_bare_audit"
AUDIT_TABLE_SQL = (
    f"DROP TABLE IF EXISTS {AUDIT_TABLE};"
    f" CREATE TABLE {AUDIT_TABLE} (LIKE audit_entry INCLUDING ALL)"
)
LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('bench:bare-audit-writers', 0))"
HEAD = f"SELECT seq, hash FROM {AUDIT_TABLE} ORDER BY seq DESC LIMIT 1"
AUDIT = (
    f"INSERT INTO {AUDIT_TABLE} (seq, id, at, action, outcome, actor_type, actor_id, actor_role,"
    " subject_id, object_type, object_id, details, prev_hash, hash, mac)"
    " VALUES ($1, $2, $3, 'appointment.booked', 'success', 'bench-bare', $4, 'patient', $4,"
    " 'appointment', $5, '{}', $6, $7, $8)"
)
CHANNEL = "bench-bare"


class BareBooking(BareApp):
    """The ASGI app: ``POST /api/v1/appointments`` and ``GET /healthz``, nothing else."""

    def __init__(self) -> None:
        self.pool: Any = None
        self.session_hash: Any = None

    async def startup(self) -> None:
        import asyncpg  # type: ignore[import-untyped]

        from app.accounts.principal import keys_for
        from app.core.settings import Settings

        settings = Settings()
        self.session_hash = keys_for(settings.secret_key_bytes).session_hash
        url = settings.database_url.replace("postgresql+asyncpg://", "postgresql://")
        self.pool = await asyncpg.create_pool(url, min_size=4, max_size=10)

    async def handle(self, scope: Any, body: bytes) -> Answer:
        cookie = dict(scope["headers"]).get(b"cookie", b"").decode()
        token = cookie.partition("erdv_session=")[2].partition(";")[0]
        status, answer = await self._book(token, json.loads(body))
        return status, answer, []

    async def _book(self, token: str, data: dict[str, str]) -> tuple[int, bytes]:
        practitioner = uuid.UUID(data["practitioner_id"])
        start = dt.datetime.fromisoformat(data["start"])
        end = start + dt.timedelta(minutes=15)
        async with self.pool.acquire() as connection, connection.transaction():
            session = await connection.fetchrow(SESSION, self.session_hash(token))
            if session is None or session["state"] != "full":
                return 401, b'{"code":"not_authenticated"}'
            if await connection.fetchval(FREE, practitioner, start, end):
                return 409, b'{"code":"slot_unavailable"}'
            appointment = uuid.uuid4()
            ciphertext = os.urandom(48).hex()  # stands for the encrypted visit reason
            await connection.execute(
                INSERT, appointment, practitioner, session["account_id"], start, end, ciphertext
            )
            await connection.fetchval(LOCK)
            head = await connection.fetchrow(HEAD)
            seq, previous = (head["seq"], head["hash"]) if head else (0, "0" * 64)
            actor = str(session["account_id"])
            digest = hashlib.sha256(f"{previous}|{seq + 1}|{appointment}".encode()).hexdigest()
            await connection.execute(
                AUDIT, seq + 1, uuid.uuid4(), dt.datetime.now(dt.UTC), actor, str(appointment),
                previous, digest, hashlib.sha256(digest.encode()).hexdigest(),
            )  # fmt: skip
        return 201, json.dumps({"id": str(appointment), "start": data["start"]}).encode()


app = BareBooking()


if __name__ == "__main__":
    serve(int(sys.argv[1]), "bench.bare_booking:app")
