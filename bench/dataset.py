"""The benchmark dataset: practitioners with 90 days of opening hours, patients with live sessions,
and appointment history of any size, written in bulk so that 10^7 appointments take minutes.

Why bulk SQL and not the API: the figures are about serving traffic on a database of realistic size,
not about how fast the set-up runs. The rows are still the ones erdv itself writes (same tables,
same derived keys for session tokens and CSRF, consent receipts hashed as ``app.consent.service``
hashes them), so the server cannot tell them from rows made through the API:

- **practitioners**: approved, listed (every listing purpose granted at its current version),
  Mon-Fri 08:00-12:00 and 13:00-19:00 in Europe/Paris, a 15-minute and a 30-minute visit reason,
  90-day horizon, 60-minute notice; spread over 12 cities and 4 professions;
- **patients**: email verified, the booking purposes granted, one *full* browser session each (the
  bench reads the cookie and CSRF token from ``workload.json``); all share one password (one
  argon2id hash made with the server's parameters);
- **history**: past appointments, 15 minutes each with their 3 cells, the visit reason already erased
  (as the retention job leaves them). ``grow_history`` adds more to reach a target count, so one
  database serves 10^4, 10^5 and 10^7 in turn; the PostgreSQL path is one ``INSERT ... SELECT`` per
  million rows, then ``ANALYZE``.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from app.accounts.models import Account, AccountStatus, AuthSession, Role, SessionState
from app.accounts.principal import SESSION_TOKEN_PREFIX, keys_for
from app.booking.models import Appointment, BookingCell
from app.charter.model import Gate
from app.charter.registry import default_charter
from app.consent.models import ConsentDecision, ConsentState
from app.consent.service import _receipt_hash, sync_registry
from app.core.crypto import new_token
from app.core.hashing import argon2_for
from app.core.settings import Settings
from app.practice.models import Practice, PracticeStatus, Site, VisitReason
from app.practice.profile import search_key

PASSWORD = "Bench-Harbor-Lantern-2027"  # noqa: S105 - the bench accounts' shared password
CITIES = (
    "Paris", "Lyon", "Marseille", "Toulouse", "Nice", "Nantes",
    "Strasbourg", "Montpellier", "Bordeaux", "Lille", "Rennes", "Reims",
)  # fmt: skip
#: each city's department, the first digits of its sites' postcodes (B6's postcode search)
DEPARTMENTS = dict(
    zip(
        CITIES,
        ("75", "69", "13", "31", "06", "44", "67", "34", "33", "59", "35", "51"),
        strict=True,
    )
)
PROFESSIONS = (
    ("medecin", "medecine-generale"),
    ("medecin", "pediatrie"),
    ("chirurgien-dentiste", "chirurgie-dentaire"),
    ("masseur-kinesitherapeute", None),
)
WEEKLY_HOURS = (("08:00", "12:00"), ("13:00", "19:00"))
ZONE = "Europe/Paris"
BATCH = 1_000_000


@dataclass(frozen=True)
class Workload:
    """What the load generators need, written to ``workload.json`` beside the results."""

    practitioners: list[dict[str, str]]  # {id, reason_15, reason_30, cookie, csrf}
    patients: list[dict[str, str]]  # {email, cookie, csrf}

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.__dict__))

    @classmethod
    def load(cls, path: Path) -> Workload:
        return cls(**json.loads(path.read_text()))


def practitioner_id(number: int) -> uuid.UUID:
    """Deterministic ids, so pgbench's SQL can name practitioner n as ``md5(n::text)::uuid``."""
    return uuid.UUID(hex=hashlib.md5(str(number).encode(), usedforsecurity=False).hexdigest())


def _table(model: Any) -> sa.Table:
    table: sa.Table = model.__table__
    return table


async def build(url: str, settings: Settings, *, practitioners: int, patients: int) -> Workload:
    """Fill an empty, migrated database with practitioners and patients (no history yet)."""
    engine = create_async_engine(url)
    try:
        return await _build(engine, settings, practitioners, patients)
    finally:
        await engine.dispose()


async def _build(
    engine: AsyncEngine, settings: Settings, n_practitioners: int, n_patients: int
) -> Workload:
    charter = default_charter()
    now = datetime.now(UTC)
    keys = keys_for(settings.secret_key_bytes)
    password_hash = argon2_for(settings).hash(PASSWORD)

    accounts: list[dict[str, Any]] = []
    practices: list[dict[str, Any]] = []
    sites: list[dict[str, Any]] = []
    reasons: list[dict[str, Any]] = []
    sessions: list[dict[str, Any]] = []
    decisions: list[dict[str, Any]] = []
    states: list[dict[str, Any]] = []
    workload = Workload(practitioners=[], patients=[])

    def grant(account_id: uuid.UUID, gate: Gate) -> None:
        for purpose in charter.purposes_required_for(gate):
            decision = ConsentDecision(
                id=uuid.uuid4(),
                account_id=account_id,
                purpose_id=purpose.id.value,
                purpose_version=purpose.version,
                scope="",
                decision="grant",
                decided_at=now,
                text_sha256=purpose.text_sha256,
                channel="web",
                receipt_sha256="",
            )
            decision.receipt_sha256 = _receipt_hash(decision)
            decisions.append(decision.model_dump())
            states.append(
                {
                    "account_id": account_id,
                    "purpose_id": purpose.id.value,
                    "scope": "",
                    "status": "granted",
                    "purpose_version": purpose.version,
                    "decided_at": now,
                    "decision_id": decision.id,
                }
            )

    def signed_in(account_id: uuid.UUID) -> dict[str, str]:
        """A full browser session, as the MFA step leaves it; the cookie and CSRF token to send."""
        token = new_token(SESSION_TOKEN_PREFIX)
        sessions.append(
            {
                "id": uuid.uuid4(),
                "account_id": account_id,
                "token_hash": keys.session_hash(token),
                "state": SessionState.FULL.value,
                "created_at": now,
                "last_seen_at": now,
                "authenticated_at": now,
                "reauthenticated_at": None,
                "ip": "127.0.0.1",
                "user_agent": "erdv-bench",
            }
        )
        return {"cookie": token, "csrf": keys.csrf_token(token)}

    for number in range(n_practitioners):
        pid = practitioner_id(number)
        name = f"Dr Bench {number:05d}"
        profession, specialty = PROFESSIONS[number % len(PROFESSIONS)]
        city = CITIES[number % len(CITIES)]
        accounts.append(
            _account(pid, f"practitioner{number}@bench.erdv.localhost", Role.PRACTITIONER, name)
            | {"password_hash": password_hash, "created_at": now, "password_changed_at": now}
        )
        short, long = uuid.uuid4(), uuid.uuid4()
        for rid, label, minutes in ((short, "Consultation", 15), (long, "Bilan", 30)):
            reasons.append(
                {
                    "id": rid,
                    "practitioner_id": pid,
                    "label": label,
                    "duration_minutes": minutes,
                    "new_patients": True,
                    "active": True,
                    "created_at": now,
                }
            )
        site_id = uuid.uuid4()
        sites.append(
            {
                "id": site_id,
                "practitioner_id": pid,
                "label": "Cabinet",
                "address": f"{number} rue du Banc d'Essai",
                "city": city,
                "city_key": search_key(city),
                "postcode": f"{DEPARTMENTS[city]}{number % 20:03d}",
                "timezone": ZONE,
                "created_at": now,
            }
        )
        weekly = [
            {
                "weekday": day,
                "start": start,
                "end": end,
                "visit_reason_ids": [str(short), str(long)],
                "site_id": str(site_id),
            }
            for day in range(5)
            for start, end in WEEKLY_HOURS
        ]
        practices.append(
            {
                "id": pid,
                "display_name": name,
                "search_name": search_key(name),
                "profession": profession,
                "specialty": specialty,
                "address": f"{number} rue du Banc d'Essai",
                "city": city,
                "city_key": search_key(city),
                "timezone": ZONE,
                "convention_sector": "1",
                "fees": "Secteur 1",
                "min_notice_minutes": 60,
                "max_horizon_days": 90,
                "cancel_deadline_minutes": 60,
                "status": PracticeStatus.APPROVED.value,
                "weekly": json.dumps(weekly),
                "site_zones": json.dumps({str(site_id): ZONE}),
                "created_at": now,
                "updated_at": now,
            }
        )
        grant(pid, Gate.LISTING)
        workload.practitioners.append(
            {"id": str(pid), "reason_15": str(short), "reason_30": str(long)} | signed_in(pid)
        )

    for number in range(n_patients):
        aid = uuid.uuid4()
        email = f"patient{number}@bench.erdv.localhost"
        accounts.append(
            _account(aid, email, Role.PATIENT, f"Patient Bench {number}")
            | {"password_hash": password_hash, "created_at": now, "password_changed_at": now}
        )
        grant(aid, Gate.BOOKING)
        workload.patients.append({"email": email} | signed_in(aid))

    async with AsyncSession(engine) as session, session.begin():
        await sync_registry(session, charter)
    async with engine.begin() as connection:
        for model, rows in (
            (Account, accounts),
            (Practice, practices),
            (Site, sites),
            (VisitReason, reasons),
            (AuthSession, sessions),
            (ConsentDecision, decisions),
            (ConsentState, states),
        ):
            for start in range(0, len(rows), 5_000):
                await connection.execute(sa.insert(_table(model)), rows[start : start + 5_000])
    await analyze(engine)
    return workload


def _account(account_id: uuid.UUID, email: str, role: Role, name: str) -> dict[str, Any]:
    return {
        "id": account_id,
        "email": email,
        "role": role.value,
        "full_name": name,
        "phone": None,
        "rpps": None,
        "status": AccountStatus.ACTIVE.value,
        "email_verified_at": datetime.now(UTC),
    }


async def analyze(engine: AsyncEngine) -> None:
    if engine.dialect.name == "postgresql":
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(sa.text("ANALYZE"))
    else:
        async with engine.begin() as connection:
            await connection.execute(sa.text("ANALYZE"))


async def refresh_sessions(url: str) -> None:
    """A kept database's sessions have timed out (30 minutes idle, 12 hours in all): make them
    fresh again, as patients signing in again would."""
    engine = create_async_engine(url)
    now = datetime.now(UTC)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                sa.update(_table(AuthSession)).values(
                    created_at=now, last_seen_at=now, authenticated_at=now
                )
            )
    finally:
        await engine.dispose()


async def grow_history(url: str, target: int) -> int:
    """Add past appointments until the table holds ``target`` rows; return how many were added.

    Practitioner n's history runs back from the start of today, one 15-minute visit after another
    (3 cells each); patients are taken round-robin. Returns at once if ``target`` is reached.
    """
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            have = int(
                (await connection.execute(sa.text("SELECT count(*) FROM appointment"))).scalar_one()
            )
            n_prac = int(
                (await connection.execute(sa.text("SELECT count(*) FROM practice"))).scalar_one()
            )
        missing = target - have
        if missing <= 0:
            return 0
        if engine.dialect.name == "postgresql":
            await _grow_postgres(engine, have, missing, n_prac)
        else:
            await _grow_generic(engine, have, missing, n_prac)
        await analyze(engine)
        return missing
    finally:
        await engine.dispose()


_GROW_PG = """
WITH pats AS (SELECT array_agg(id ORDER BY id) AS ids FROM account WHERE role = 'patient'),
     rows AS (
       SELECT g AS n, md5((g % CAST(:n_prac AS bigint))::text)::uuid AS practitioner_id,
              :origin - ((g / CAST(:n_prac AS bigint)) + 1) * interval '15 minutes' AS start_at
       FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS g
     ),
     ins AS (
       INSERT INTO appointment (id, practitioner_id, patient_id, start_at, end_at, status, channel,
                                visit_reason_ct, created_at)
       SELECT gen_random_uuid(), r.practitioner_id,
              pats.ids[1 + (r.n % array_length(pats.ids, 1))],
              r.start_at, r.start_at + interval '15 minutes', 'booked', 'web', NULL,
              r.start_at - interval '7 days'
       FROM rows r, pats
       RETURNING id, practitioner_id, start_at
     )
INSERT INTO booking_cell (practitioner_id, cell_at, appointment_id)
SELECT ins.practitioner_id, ins.start_at + c * interval '5 minutes', ins.id
FROM ins, generate_series(0, 2) AS c
"""


def _origin() -> datetime:
    """History ends at the start of the current UTC day: never inside a bookable future slot."""
    now = datetime.now(UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


async def _grow_postgres(engine: AsyncEngine, have: int, missing: int, n_prac: int) -> None:
    origin = _origin()
    first = have
    while first < have + missing:
        last = min(first + BATCH, have + missing) - 1
        async with engine.begin() as connection:
            await connection.execute(sa.text("SET LOCAL synchronous_commit = off"))
            await connection.execute(
                sa.text(_GROW_PG).bindparams(
                    sa.bindparam("origin", type_=sa.DateTime(timezone=True))
                ),
                {"n_prac": n_prac, "origin": origin, "first": first, "last": last},
            )
        first = last + 1


async def _grow_generic(engine: AsyncEngine, have: int, missing: int, n_prac: int) -> None:
    origin = _origin()
    async with engine.begin() as connection:
        patients = list(
            (
                await connection.execute(
                    sa.text("SELECT id FROM account WHERE role = 'patient' ORDER BY id")
                )
            ).scalars()
        )
        ids = [practitioner_id(n) for n in range(n_prac)]
        appointments: list[dict[str, Any]] = []
        cells: list[dict[str, Any]] = []
        for g in range(have, have + missing):
            start = origin - ((g // n_prac) + 1) * timedelta(minutes=15)
            aid = uuid.uuid4()
            appointments.append(
                {
                    "id": aid,
                    "practitioner_id": ids[g % n_prac],
                    "patient_id": uuid.UUID(str(patients[g % len(patients)])),
                    "start_at": start,
                    "end_at": start + timedelta(minutes=15),
                    "status": "booked",
                    "channel": "web",
                    "visit_reason_ct": None,
                    "created_at": start - timedelta(days=7),
                    "cancelled_at": None,
                    "cancelled_by": None,
                }
            )
            cells.extend(
                {
                    "practitioner_id": ids[g % n_prac],
                    "cell_at": start + timedelta(minutes=5 * c),
                    "appointment_id": aid,
                }
                for c in range(3)
            )
        for model, rows in ((Appointment, appointments), (BookingCell, cells)):
            for start_row in range(0, len(rows), 5_000):
                await connection.execute(
                    sa.insert(_table(model)), rows[start_row : start_row + 5_000]
                )
