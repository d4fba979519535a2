"""How close to the argon2 anchor can a login get on this machine? B7's ceiling, measured.

``python -m bench.login_bound [rounds]`` (``make bench-login-bound``) runs, in alternation, on a
database of its own (``erdv_bench_bound``, built in seconds):

- the argon2 anchor (``run.argon2_raw``, as in ``make bench``);
- **erdv**: B7's flood (8 connections of ``login.lua``) against ``erdv serve --workers 2``;
- **bare**: the same flood against the smallest server that does a login's work with this stack's
  server and driver: a raw ASGI app under the same uvicorn (uvloop, httptools, 2 workers on
  ``SO_REUSEPORT`` sockets), sending the very statements erdv sends (copied from PostgreSQL's log:
  BEGIN, the throttle key's lock, the account read, the session insert, the audit lock and head,
  the guarded audit insert, COMMIT) through asyncpg, and verifying with erdv's ``PasswordHasher``
  (same parameters, same thread count, same niceness). No FastAPI, no SQLAlchemy, no
  dependencies, no logging;
- **hash only**: the same bare app without the database (HTTP and the hash).

What the bare server skips is what a framework and an ORM cost; what it keeps is what any login
with erdv's guarantees (throttled, audited, a server-side session) must pay on this machine. Its
ratio is B7's ceiling here, whatever the code above the driver. It is a measurement tool, not a
login: its audit entries carry placeholder MACs, on its own database, which is dropped at the end.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import sys
import uuid
from pathlib import Path
from typing import Any

from bench import run
from bench.dataset import PASSWORD
from bench.ports import free_port

DB = "erdv_bench_bound"
ANCHOR_SECONDS, WARMUP_SECONDS, FLOOD_SECONDS = 10, 5, 20  # B7's in `make bench`
MODE = os.environ.get("ERDV_BOUND_MODE", "db")

LOCK = (
    "SELECT pg_advisory_xact_lock(hashtextextended($1::VARCHAR, $2::INTEGER))"
    " AS pg_advisory_xact_lock_1"
)
READ = (
    "SELECT account.id, account.role, account.password_hash, account.status,"
    " account.email_verified_at, totp_credential.secret IS NOT NULL AS totp_enrolled,"
    " throttle_account.key AS account_key, throttle_account.blocked_until AS"
    " account_blocked_until, throttle_ip.key AS ip_key, throttle_ip.blocked_until AS"
    " ip_blocked_until FROM (SELECT 1 AS one) AS one LEFT OUTER JOIN account ON account.email ="
    " $1::VARCHAR LEFT OUTER JOIN totp_credential ON totp_credential.account_id = account.id LEFT"
    " OUTER JOIN throttle_state AS throttle_account ON throttle_account.key = $2::VARCHAR LEFT"
    " OUTER JOIN throttle_state AS throttle_ip ON throttle_ip.key = $3::VARCHAR"
)
SESSION = (
    "INSERT INTO auth_session (id, account_id, token_hash, state, created_at, last_seen_at,"
    " authenticated_at, reauthenticated_at, ip, user_agent) VALUES ($1::UUID, $2::UUID,"
    " $3::VARCHAR, $4::VARCHAR, $5::TIMESTAMP WITH TIME ZONE, $6::TIMESTAMP WITH TIME ZONE,"
    " $7::TIMESTAMP WITH TIME ZONE, $8::TIMESTAMP WITH TIME ZONE, $9::VARCHAR, $10::VARCHAR)"
)
HEAD = "SELECT anon_1.seq, anon_1.hash FROM erdv_audit_lock_and_head($1::VARCHAR) AS anon_1"
AUDIT = (
    "INSERT INTO audit_entry (seq, id, at, action, outcome, actor_type, actor_id, actor_role,"
    " client_id, subject_id, object_type, object_id, ip, request_id, details, prev_hash, hash, mac)"
    " SELECT $1::BIGINT, $2::UUID, $3::TIMESTAMP WITH TIME ZONE, $4::VARCHAR, $5::VARCHAR,"
    " $6::VARCHAR, $7::VARCHAR, $8::VARCHAR, $9::VARCHAR, $10::VARCHAR, $11::VARCHAR, $12::VARCHAR,"
    " $13::VARCHAR, $14::VARCHAR, $15::VARCHAR, $16::VARCHAR, $17::VARCHAR, $18::VARCHAR"
    " WHERE coalesce((SELECT max(audit_entry.seq) FROM audit_entry), $19::INTEGER) < $1::BIGINT"
)
KEY = secrets.token_bytes(32)


def _mac(*parts: object) -> str:
    return hmac.new(KEY, "|".join(map(str, parts)).encode(), hashlib.sha256).hexdigest()


#: an answer: status, body, extra headers
Answer = tuple[int, bytes, list[tuple[bytes, bytes]]]


class BareApp:
    """What the bare servers share: the lifespan's start-up, ``GET /healthz``, and every other
    request read whole and answered by ``handle``, in JSON."""

    async def startup(self) -> None:
        raise NotImplementedError

    async def handle(self, scope: Any, body: bytes) -> Answer:
        raise NotImplementedError

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] == "lifespan.startup":
                await self.startup()
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["path"] == "/healthz":
            await respond(send, 200, b'{"status":"ok"}')
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        await respond(send, *await self.handle(scope, body))


class BareLogin(BareApp):
    """The ASGI app: ``POST /api/v1/auth/login`` and ``GET /healthz``, nothing else."""

    def __init__(self) -> None:
        self.pool: Any = None
        self.hasher: Any = None
        self.stored = ""

    async def startup(self) -> None:
        import asyncpg  # type: ignore[import-untyped]

        from app.core.hashing import PasswordHasher
        from app.core.settings import Settings

        self.hasher = PasswordHasher(Settings())
        self.stored = await self.hasher.hash(PASSWORD)
        if MODE == "db":
            url = f"{run.PG}/{DB}"
            self.pool = await asyncpg.create_pool(url, min_size=4, max_size=10)

    async def handle(self, scope: Any, body: bytes) -> Answer:
        data = json.loads(body)
        ip = scope["client"][0]
        ok = await (self._login(data, ip) if MODE == "db" else self._hash_only(data))
        if ok is None:
            return 401, b'{"code":"invalid_credentials"}', []
        token = "erdv_s_" + secrets.token_urlsafe(32)
        cookie = f"erdv_session={token}; HttpOnly; Max-Age=43200; Path=/; SameSite=lax"
        answer = json.dumps({"next": "mfa_setup", "csrf_token": _mac("csrf", token)}).encode()
        return 200, answer, [(b"set-cookie", cookie.encode())]

    async def _hash_only(self, data: dict[str, str]) -> bool | None:
        return await self.hasher.verify(self.stored, data["password"]) or None

    async def _login(self, data: dict[str, str], ip: str) -> bool | None:
        email = data["email"]
        account_key = "password:email:" + _mac("email", email.lower())[:40]
        async with self.pool.acquire() as connection, connection.transaction():
            await connection.fetchval(LOCK, f"erdv:throttle:{account_key}", 0)
            row = await connection.fetchrow(READ, email, account_key, f"login:ip:{ip}")
            stored = row["password_hash"] if row["id"] is not None else None
            if not await self.hasher.verify(stored, data["password"]):
                return None
            now = dt.datetime.now(dt.UTC)
            session_id = uuid.uuid4()
            token_hash = _mac("session", secrets.token_urlsafe(32))
            await connection.execute(
                SESSION, session_id, row["id"], token_hash, "mfa_setup", now, now, None, None, ip,
                None,
            )  # fmt: skip
            head = await connection.fetchrow(HEAD, "erdv:audit-writers")
            seq = (head["seq"] or 0) + 1
            fields = (
                seq, uuid.uuid4(), now, "auth.login_succeeded", "success", "account",
                str(row["id"]), row["role"], None, str(row["id"]), "session", str(session_id), ip,
                uuid.uuid4().hex, json.dumps({"next": "mfa_setup"}),
            )  # fmt: skip
            previous = head["hash"] or "0" * 64
            digest = hashlib.sha256((previous + "|".join(map(str, fields))).encode()).hexdigest()
            await connection.execute(AUDIT, *fields, previous, digest, _mac("mac", digest), -1)
        return True


async def respond(
    send: Any, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    base = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": base + (headers or [])})
    await send({"type": "http.response.body", "body": body})


app = BareLogin()


def serve(port: int, app: str = "bench.login_bound:app") -> None:
    """``app`` (this module's, or another bare server's) in two workers on ``SO_REUSEPORT``
    sockets, as ``erdv serve --workers 2`` runs them."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from app.core.serving import ReusePortSocket

    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, workers=2, access_log=False,
        server_header=False, log_config=None, lifespan="on",
    )  # fmt: skip
    with ReusePortSocket.bind_to("127.0.0.1", port) as listener:
        Multiprocess(config, sockets=[listener]).run()


def bare_server(mode: str, env: dict[str, str]) -> run.Server:
    port = free_port()
    argv = [sys.executable, "-m", "bench.login_bound", "serve", str(port)]
    return run.Server(argv, env | {"ERDV_BOUND_MODE": mode}, port, f"bound-{mode}")


def main(argv: list[str]) -> int:
    if argv[:1] == ["serve"]:
        serve(int(argv[1]))
        return 0
    rounds = int(argv[0]) if argv else 3
    run.WORK.mkdir(exist_ok=True)
    profile = run.QUICK
    run.say(f"database {DB}: {profile.patients} patients")
    workload = run.fresh_database(DB, profile, 10_000)
    emails = run.lines_file("bound-emails.txt", [p["email"] for p in workload.patients])
    env = run.erdv_env(run.url_of(DB))
    # as `erdv serve --workers 2` shares the cores out between its workers
    env["ERDV_PASSWORD_HASH_THREADS"] = str(max(1, run.CORES // 2))
    servers: dict[str, run.Server] = {}
    try:
        servers["erdv"] = run.erdv_server(run.url_of(DB), 2, "bound-erdv")
        servers["bare"] = bare_server("db", env)
        servers["hash only"] = bare_server("nodb", env)
        for n in range(rounds):
            with run.environment(env):
                anchor = run.argon2_raw(ANCHOR_SECONDS)
            line = [f"round {n + 1}: argon2 {anchor:.1f}/s"]
            for name, server in servers.items():
                flood: list[str | Path] = [emails, PASSWORD]
                run.wrk(server, "login.lua", flood, connections=8, seconds=WARMUP_SECONDS)
                load = run.wrk(server, "login.lua", flood, connections=8, seconds=FLOOD_SECONDS)
                if set(load.statuses) != {"200"}:
                    raise RuntimeError(f"{name}: unexpected answers {load.statuses}")
                line.append(f"{name} {load.rps:.1f}/s = {load.rps / anchor:.0%}")
            print(" | ".join(line), flush=True)
    finally:
        for server in servers.values():
            server.stop()
        run.psql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
