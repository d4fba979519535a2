"""Typed settings, read once from the environment (prefix ``ERDV_``).

Secrets are ``SecretStr`` so they never print. Outside production, missing secrets are generated once
and kept under the data dir (``secrets.json``, mode 0600), so ``make run`` needs no configuration and a
restart keeps sessions and encrypted columns readable. In production erdv refuses to start without
explicit, strong secrets: a generated or default key there would be a silent disaster (a lost key
makes every TOTP seed and visit reason unreadable; a shared one lets anyone forge session hashes).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

#: Values that must never be accepted as a production secret (copied from docs, examples, tests).
_WEAK_SECRETS = frozenset({"", "changeme", "change-me", "secret", "dev", "test", "erdv"})
_MIN_SECRET_BYTES = 32


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class MailBackend(StrEnum):
    FILE = "file"
    SMTP = "smtp"


class SmsBackend(StrEnum):
    FILE = "file"
    HTTP = "http"


class SettingsError(RuntimeError):
    """The configuration cannot be used (raised at start-up, never at request time)."""


#: zxcvbn's estimate (log10 of the guesses) a production secret must reach: 10^36 is about 120
#: bits; 43 random base64 characters score 43, a repeated word or character under 20
_MIN_SECRET_GUESSES_LOG10 = 36
#: zxcvbn's time grows with the input: what it reads of a secret (longer ones are not weaker)
_SECRET_CHECKED_CHARS = 100


def _random_enough(raw: str) -> bool:
    """Refuses what a person types or a pattern (``a`` x 43, a repeated word): zxcvbn, the
    password checker's own estimator, finds repeats, sequences, keyboard walks and words."""
    from zxcvbn import zxcvbn

    estimate = zxcvbn(raw[:_SECRET_CHECKED_CHARS])
    return float(estimate["guesses_log10"]) >= _MIN_SECRET_GUESSES_LOG10


def _new_secret() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(_MIN_SECRET_BYTES)).decode("ascii")


class Settings(BaseSettings):
    """Every knob erdv has. The README lists them as a table; keep both in step."""

    model_config = SettingsConfigDict(env_prefix="ERDV_", extra="ignore", frozen=True)

    env: Environment = Environment.DEVELOPMENT
    database_url: str = "sqlite+aiosqlite:///./var/erdv.db"
    #: A PostgreSQL streaming replica of ``database_url`` for the anonymous directory reads
    #: (search, profiles, slots; ``RequestDatabase.reader``). Everything else, bookings and every
    #: signed-in or token-carrying read, stays on the primary: a replica that lags can at worst
    #: show a slot that the booking then refuses with 409 (docs/scaling.md "Read replica").
    database_replica_url: str | None = None
    #: How far behind the primary the replica may fall (in time, from WAL positions) and still
    #: serve those reads; beyond, or unreachable, they go to the primary until it catches up.
    #: Checked every ``replica_check_seconds`` by each process (``app.core.replica``).
    replica_max_lag_seconds: float = Field(default=10.0, gt=0, le=3600)
    replica_check_seconds: float = Field(default=1.0, gt=0, le=60)
    #: PostgreSQL pool bounds per process; SQLite ignores them. Every connection is kept once
    #: opened (no overflow by default): SQLAlchemy closes an overflow connection whenever it is
    #: given back to a pool holding ``pool_size`` idle ones, so load that swings between more and
    #: fewer requests than the pool (two workers, one given most of the clients) opened and closed
    #: PostgreSQL backends at every swing, each a process start and a TLS negotiation; the bound
    #: on connections per process is the same 15 as with 10 + 5.
    db_pool_size: int = Field(default=15, ge=1, le=200)
    db_max_overflow: int = Field(default=0, ge=0, le=200)
    #: Server processes sharing the database, for the start-up check of the pools against the
    #: server's ``max_connections``: ``erdv serve --workers N`` sets it to N when unset; set it
    #: to the total when several hosts share one database.
    server_processes: int | None = Field(default=None, ge=1, le=10_000)
    #: How long a request waits for a pooled PostgreSQL connection, and for a new one to open,
    #: before it answers 503 ``database_unavailable``.
    db_pool_timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    db_connect_timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    #: Longest a statement may run (PostgreSQL ``statement_timeout``; the driver gives up a second
    #: later on a server that does not answer at all) and wait for a row or table lock
    #: (``lock_timeout``): a stuck database becomes a 503 within this bound, not a hung request.
    db_statement_timeout_seconds: float = Field(default=10.0, gt=0, le=600)
    db_lock_timeout_seconds: float = Field(default=5.0, gt=0, le=600)
    #: PostgreSQL's planner cost of reading a page at random (``random_page_cost``) on erdv's
    #: connections. Its default of 4 models spinning disks; a booking database lives on SSD and
    #: mostly in memory, which PostgreSQL's documentation models with a value near 1. At 4 the
    #: planner preferred reading every visit reason once per practice found to an index probe
    #: (bench/README.md, B6b).
    db_random_page_cost: float = Field(default=1.1, gt=0, le=100)
    #: SQLite: how long a writer waits for the database's one write lock (busy timeout).
    sqlite_busy_timeout_seconds: float = Field(default=15.0, gt=0, le=600)
    secret_key: SecretStr | None = None
    encryption_key: SecretStr | None = None
    #: Encryption keys retired by a rotation: they still open what they sealed, never seal, until
    #: ``erdv reseal`` has sealed every column again with ``ERDV_ENCRYPTION_KEY`` and they are
    #: dropped (docs/security.md "Secrets at rest"). From the environment as a JSON list.
    previous_encryption_keys: list[SecretStr] = Field(default_factory=list, max_length=8)
    public_url: str = "http://127.0.0.1:8000"
    data_dir: Path = Path("./var")
    mail_backend: MailBackend = MailBackend.FILE
    mail_from: str = "erdv <no-reply@erdv.localhost>"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    #: The outbox (``app.outbox``): a delivery worker in each server process (off only to test
    #: what requests deliver themselves); tries per message before it is dead, the first retry delay
    #: (doubling at each failure) and its cap; how long a claimed message is someone's before
    #: another process may take it over; how often each process looks for due messages; how many
    #: messages one process delivers at once.
    outbox_worker_enabled: bool = True
    outbox_max_attempts: int = Field(default=10, ge=1, le=100)
    outbox_retry_base_seconds: float = Field(default=30.0, gt=0)
    outbox_retry_max_seconds: float = Field(default=3600.0, gt=0)
    outbox_lease_seconds: float = Field(default=120.0, ge=1)
    outbox_poll_seconds: float = Field(default=5.0, gt=0)
    outbox_concurrency: int = Field(default=8, ge=1, le=64)
    #: Webhooks to OAuth clients (``app.webhooks``, docs/integrate.md "Webhooks"): endpoint URLs
    #: are https and never an internal address (SSRF). Loopback addresses (and plain http to them)
    #: are allowed only when this is on: unset, it is on in development only; production refuses
    #: it. The timeout bounds one delivery (within the outbox's try deadline, half the lease).
    webhook_allow_loopback: bool | None = None
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    #: SMS (reminders, ``app.core.sms``): ``file`` writes one JSON per message under
    #: ``<data dir>/sms-outbox/``; ``http`` posts ``{"to", "body"}`` to the provider's URL with the
    #: key as a bearer token, within the timeout.
    sms_backend: SmsBackend = SmsBackend.FILE
    sms_http_url: str | None = None
    sms_http_key: SecretStr | None = None
    sms_timeout_seconds: float = Field(default=10.0, gt=0)
    #: Hours before an appointment at which a reminder goes out (docs/api.md "Notifications"):
    #: comma-separated, e.g. ``48,2``.
    reminder_hours: Annotated[tuple[int, ...], NoDecode] = (24,)
    redis_url: str | None = None
    #: Audit entries are kept this long, then purged behind a signed checkpoint (docs/charter.md "Retention").
    audit_retention_days: int = Field(default=365, ge=30)
    #: consent proofs outlive an erased account by this long (the privacy notice: 5 years)
    consent_proof_retention_days: int = Field(default=5 * 365 + 2, ge=365)
    #: a patient's past appointments are anonymised this long after their last activity (the
    #: privacy notice: 3 years)
    appointment_retention_days: int = Field(default=3 * 365 + 1, ge=365)
    #: after a practitioner closes the account (C12), what the platform kept on the practice's
    #: behalf (visits no patient keeps, hours, absences, place) stays this long, so that the
    #: operator can still hand the practitioner the reversibility export on request, then goes;
    #: the transparency page states it
    practice_closing_days: int = Field(default=30, ge=1, le=365)
    #: A freed slot offered to the first patient on a practitioner's waiting list is held for them
    #: this long; unclaimed, it goes to the next (``app.booking.waitlist``).
    waitlist_hold_minutes: int = Field(default=15, ge=1, le=24 * 60)
    #: Visit reasons are erased this long after the appointment ends (charter C7).
    visit_reason_grace_hours: int = Field(default=24, ge=0, le=24 * 30)
    #: Bookings a patient may make per hour before growing delays (docs/security.md "Throttling").
    booking_rate_per_hour: int = Field(default=30, ge=1, le=10_000)
    #: Exports of personal data (audit trail, consent log, a practice's reversibility export) an
    #: account may start per hour before growing delays: each reads whole tables.
    export_rate_per_hour: int = Field(default=20, ge=1, le=10_000)
    #: Directory reads (search, profiles, slots) a signed-in account may make before growing
    #: delays, counted until a minute passes without one (as every allowance here counts within
    #: its window): a person browsing pauses, a scraper does not. OAuth clients have their own
    #: limit (docs/security.md "Throttling").
    directory_reads_per_minute: int = Field(default=300, ge=1, le=100_000)
    #: Bookings a practice's desk account (its practitioner or a secretary) may enter per hour
    #: before growing delays: a desk on the telephone books far more than a patient, a stolen
    #: desk session must still not fill agendas at machine speed (docs/security.md "Throttling").
    desk_bookings_per_hour: int = Field(default=120, ge=1, le=10_000)
    #: Fetches of one practice's calendar feed per hour before growing delays: calendar
    #: applications poll every few minutes at most; each fetch reads the agenda and is audited, so
    #: a leaked URL in a loop must neither copy the agenda nor flood the trail.
    calendar_feed_reads_per_hour: int = Field(default=60, ge=1, le=10_000)
    #: Run the periodic jobs (retention purges) inside the server; off to run them from cron only.
    jobs_enabled: bool = True
    #: How often each process looks for due jobs.
    jobs_tick_seconds: float = Field(default=60.0, gt=0)
    #: argon2id cost (OWASP: m=19 MiB, t=2, p=1). Changing them rehashes each password at its next login.
    argon2_memory_kib: int = Field(default=19_456, ge=8, le=4_194_304)
    argon2_time_cost: int = Field(default=2, ge=1, le=100)
    argon2_parallelism: int = Field(default=1, ge=1, le=64)
    #: Threads hashing passwords at once; default one per core (memory and CPU are the limits),
    #: shared out between the processes of ``erdv serve --workers N``.
    password_hash_threads: int | None = Field(default=None, ge=1, le=256)
    #: Session lifetimes (docs/security.md "Sessions"): idle per role, absolute for everyone.
    session_idle_minutes_patient: int = Field(default=30, ge=1)
    session_idle_minutes_staff: int = Field(default=15, ge=1)
    session_absolute_hours: int = Field(default=12, ge=1)
    #: How long a re-authentication unlocks sensitive operations.
    reauth_window_minutes: int = Field(default=10, ge=1)
    email_verification_hours: int = Field(default=48, ge=1)
    password_reset_minutes: int = Field(default=30, ge=5)
    #: Throttling: failures allowed before delays start, first delay, cap, and memory of failures.
    throttle_account_free_failures: int = Field(default=5, ge=1)
    throttle_ip_free_failures: int = Field(default=20, ge=1)
    throttle_base_delay_seconds: int = Field(default=30, ge=1)
    throttle_max_delay_seconds: int = Field(default=900, ge=1)
    throttle_window_seconds: int = Field(default=86_400, ge=60)
    #: Wrong second factors allowed per window before the account's MFA step stops answering.
    throttle_mfa_hard_limit: int = Field(default=20, ge=5, le=99)
    #: An authenticated caller's 404s on objects: this many within the window is a burst, audited
    #: (enumeration of object ids, the 2020 incident).
    not_found_burst_threshold: int = Field(default=20, ge=2)
    not_found_burst_window_seconds: int = Field(default=600, ge=10)
    #: Largest request body accepted (413 payload_too_large beyond).
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    #: Slow and silent clients (``app.core.serving``): time allowed for a request's headers (from
    #: the connection's first byte, or from its opening for one that sends nothing), for its body
    #: once the headers are in, and for an idle keep-alive connection; connections one worker
    #: process holds at once (more are answered 503 and closed).
    http_header_timeout_seconds: float = Field(default=10.0, gt=0, le=600)
    http_body_timeout_seconds: float = Field(default=20.0, gt=0, le=3600)
    http_keepalive_seconds: int = Field(default=5, ge=1, le=600)
    http_max_connections: int = Field(default=500, ge=1, le=100_000)
    #: OAuth clients (the 2020 incident): Bearer API calls and token requests per client and minute.
    oauth_client_requests_per_minute: int = Field(default=300, ge=1)
    oauth_token_requests_per_minute: int = Field(default=60, ge=1)
    log_level: str = "INFO"
    #: JSON logs; defaults to on in production.
    log_json: bool | None = None
    #: Transparency page (charter C10, GDPR Art. 13): who runs erdv, how to reach them and the DPO,
    #: who hosts the data (an HDS-certified host), and who pays for the platform.
    operator_name: str = "erdv demo operator (not a real service)"
    operator_contact: str = "contact@erdv.localhost"
    dpo_contact: str = "dpo@erdv.localhost"
    hosting_provider: str = "Development machine: not an HDS-certified host"
    financing: str = (
        "erdv is free software run by its operator; practitioners pay a flat subscription. "
        "No advertising, no sale of data, no paid ranking."
    )
    #: what a practitioner pays and how (the practitioner contract's clause 2 points here)
    price: str = (
        "Demonstration: free. An operator states here the subscription a practitioner pays "
        "(amount, period, terms of payment); there is no other charge."
    )
    #: every sub-processor that handles personal data for the operator, one line each (name, what
    #: for, where): the privacy notice and the practitioner contract (GDPR art. 28) point here.
    #: From the environment as a JSON list.
    subprocessors: list[str] = Field(
        default_factory=lambda: [
            "Development machine: hosting of the data (no HDS certification)",
            "The mail relay configured in ERDV_SMTP_HOST: delivery of mails",
            "The SMS provider configured in ERDV_SMS_HTTP_URL: text reminders, with consent only",
        ]
    )

    @field_validator("reminder_hours", mode="before")
    @classmethod
    def _reminder_hours(cls, value: Any) -> Any:
        """``"48,2"`` from the environment; each offset a whole number of hours, 1 to 30 days,
        said once; the furthest first."""
        if isinstance(value, str):
            parts = [part.strip() for part in value.split(",") if part.strip()]
            if not all(part.isdigit() for part in parts):
                raise ValueError("ERDV_REMINDER_HOURS is a comma-separated list of whole hours")
            value = [int(part) for part in parts]
        hours = sorted({int(hour) for hour in value}, reverse=True)
        if any(not 1 <= hour <= 720 for hour in hours):
            raise ValueError("each reminder offset is between 1 and 720 hours")
        return tuple(hours)

    @model_validator(mode="before")
    @classmethod
    def _database_in_the_data_dir(cls, data: Any) -> Any:
        """Without ``ERDV_DATABASE_URL`` the SQLite file is ``<ERDV_DATA_DIR>/erdv.db``, as the
        README says the data dir holds it (``./var/erdv.db`` by default); before, it stayed in
        ``./var`` whatever the data dir said."""
        if isinstance(data, dict) and data.get("database_url") is None:
            folder = Path(str(data.get("data_dir") or "./var"))
            data = {**data, "database_url": f"sqlite+aiosqlite:///{folder.as_posix()}/erdv.db"}
        return data

    @model_validator(mode="after")
    def _replica_of_postgres(self) -> Self:
        replica = self.database_replica_url
        if replica is not None and (
            self.is_sqlite or not replica.startswith("postgresql+asyncpg://")
        ):
            raise SettingsError(
                "ERDV_DATABASE_REPLICA_URL is a postgresql+asyncpg:// URL, and only beside a "
                "PostgreSQL ERDV_DATABASE_URL (SQLite has no replicas)"
            )
        return self

    @model_validator(mode="after")
    def _retired_keys(self) -> Self:
        retired = [key.get_secret_value() for key in self.previous_encryption_keys]
        if any(not key for key in retired):
            raise SettingsError("ERDV_PREVIOUS_ENCRYPTION_KEYS holds an empty key")
        current = self.encryption_key.get_secret_value() if self.encryption_key else None
        if current is not None and current in retired:
            # a key both current and retired: ``erdv reseal`` would find nothing to do and the
            # operator would drop the key that seals everything
            raise SettingsError(
                "ERDV_PREVIOUS_ENCRYPTION_KEYS lists ERDV_ENCRYPTION_KEY itself; list only the "
                "keys it replaced"
            )
        return self

    @model_validator(mode="after")
    def _sms_provider(self) -> Self:
        if self.sms_backend is SmsBackend.HTTP and not (self.sms_http_url and self.sms_http_key):
            raise SettingsError(
                "ERDV_SMS_BACKEND=http needs ERDV_SMS_HTTP_URL and ERDV_SMS_HTTP_KEY"
            )
        return self

    @model_validator(mode="after")
    def _check_production(self) -> Self:
        if self.env is not Environment.PRODUCTION:
            return self
        raws = []
        for name in ("secret_key", "encryption_key"):
            value: SecretStr | None = getattr(self, name)
            raw = value.get_secret_value() if value else ""
            if raw.lower() in _WEAK_SECRETS or len(raw) < 43 or not _random_enough(raw):
                raise SettingsError(
                    f"ERDV_{name.upper()} must be set to a random value of at least 32 bytes "
                    "(43 base64 characters) in production, not a word, a pattern or a repeated "
                    "character; generate one with "
                    "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
                )
            raws.append(raw)
        if raws[0] == raws[1]:
            # one leaked value would give both the token MACs and the encrypted columns away
            raise SettingsError("ERDV_SECRET_KEY and ERDV_ENCRYPTION_KEY must be different values")
        if not self.public_url.startswith("https://"):
            raise SettingsError("ERDV_PUBLIC_URL must be an https:// URL in production")
        if self.webhook_allow_loopback:
            # a webhook to 127.0.0.1 reaches the server's own private services (SSRF)
            raise SettingsError("ERDV_WEBHOOK_ALLOW_LOOPBACK cannot be on in production")
        return self

    @property
    def is_production(self) -> bool:
        return self.env is Environment.PRODUCTION

    @property
    def webhooks_reach_loopback(self) -> bool:
        """``ERDV_WEBHOOK_ALLOW_LOOPBACK``, or by default: in development only."""
        if self.webhook_allow_loopback is None:
            return self.env is Environment.DEVELOPMENT
        return self.webhook_allow_loopback

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def sms_outbox_dir(self) -> Path:
        return self.data_dir / "sms-outbox"

    @property
    def json_logs(self) -> bool:
        return self.is_production if self.log_json is None else self.log_json

    @cached_property
    def _secrets(self) -> dict[str, str]:
        """Explicit secrets win; otherwise (never in production) the generated ones on disk."""
        explicit = {
            name: value.get_secret_value()
            for name in ("secret_key", "encryption_key")
            if (value := getattr(self, name)) is not None
        }
        if len(explicit) == 2:
            return explicit
        stored = _load_or_create_dev_secrets(self.data_dir)
        return stored | explicit

    @property
    def secret_key_bytes(self) -> bytes:
        """Key for HMAC of tokens (sessions, resets, OAuth): never stored next to the hashes."""
        return self._secrets["secret_key"].encode("utf-8")

    @property
    def encryption_key_bytes(self) -> bytes:
        """AES-256 key material for encrypted columns (TOTP seeds, visit reasons)."""
        return self._secrets["encryption_key"].encode("utf-8")

    @property
    def previous_encryption_key_bytes(self) -> tuple[bytes, ...]:
        """The retired keys' material: read-only keys of the column cipher."""
        return tuple(
            key.get_secret_value().encode("utf-8") for key in self.previous_encryption_keys
        )


def _load_or_create_dev_secrets(data_dir: Path) -> dict[str, str]:
    path = data_dir / "secrets.json"
    if path.exists():
        loaded: dict[str, Any] = json.loads(path.read_text("utf-8"))
        return {k: str(v) for k, v in loaded.items()}
    data_dir.mkdir(parents=True, exist_ok=True)
    generated = {"secret_key": _new_secret(), "encryption_key": _new_secret()}
    # O_EXCL: two processes starting together must not each write different keys.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _load_or_create_dev_secrets(data_dir)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(generated, handle)
    return generated


def get_settings() -> Settings:
    """Settings from the process environment (CLI, server start-up)."""
    return Settings()
