"""Throttling with growing delays, never a permanent lock (docs/security.md "Throttling", ASVS V6.1.1).

A *key* names what is throttled (``password:email:<hmac>``, ``login:ip:<network>``,
``mfa:account:<id>``, ``booking:account:<id>``, ``export:account:<id>``, ``api:client:<id>``...).
A *policy* says how many consecutive failures are free, then how long each further one blocks the
key: ``base x 2^(n - free)``, capped.
Because the delay is capped and failures are forgotten after the window, an attacker can slow a real
user down but never lock them out for good (NIST SP 800-63B §5.2.2); and because every key has its
own state, a user on another IP is only held by the *account* key, which a success resets.

Two stores behind one interface: the database (default; writes in the request's transaction, made
durable on failure by the request session, see ``RecordedFailure``) and Redis when
``ERDV_REDIS_URL`` is set. Both are shared by every worker process; nothing lives in process memory.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.settings import Settings
from app.throttle.errors import Throttled
from app.throttle.repository import ThrottleRepository


@dataclass(frozen=True)
class Policy:
    free_failures: int
    base_delay: timedelta
    max_delay: timedelta
    window: timedelta
    #: a hard stop: from this many failures in the window, the key stays blocked for the whole
    #: window (docs/security.md "MFA": delays after 5, a hard stop well below 100)
    hard_limit: int | None = None

    def delay(self, failures: int) -> timedelta:
        """Nothing before ``free_failures``; then base, 2x base, 4x base... up to ``max_delay``."""
        if self.hard_limit is not None and failures >= self.hard_limit:
            return self.window
        if failures < self.free_failures:
            return timedelta(0)
        exponent = min(failures - self.free_failures, 30)
        delay: timedelta = self.base_delay * (2**exponent)
        return min(self.max_delay, delay)


@dataclass(frozen=True)
class Policies:
    """The policies erdv uses, from settings."""

    account: Policy
    ip: Policy
    #: wrong second factors: the account policy plus a hard stop (20 codes a day, not 96)
    mfa: Policy
    #: bookings per patient: an hourly allowance, then growing delays (a real patient never
    #: books this many)
    booking: Policy
    #: exports of personal data per account: an hourly allowance, then growing delays
    export: Policy
    #: directory reads (search, profiles, slots) per signed-in account: a minute's allowance
    directory: Policy
    #: bookings entered at a practice's desk, per desk account: an hourly allowance
    desk_booking: Policy
    #: fetches of a practice's calendar feed, per practice: an hourly allowance
    calendar_feed: Policy
    #: Bearer API calls per OAuth client, and token-endpoint requests per client (the 2020
    #: incident: a connected tool read 6,128 appointments)
    api_client: Policy
    oauth_token: Policy

    @classmethod
    def from_settings(cls, settings: Settings) -> Policies:
        def policy(free: int) -> Policy:
            return Policy(
                free_failures=free,
                base_delay=timedelta(seconds=settings.throttle_base_delay_seconds),
                max_delay=timedelta(seconds=settings.throttle_max_delay_seconds),
                window=timedelta(seconds=settings.throttle_window_seconds),
            )

        account = policy(settings.throttle_account_free_failures)
        return cls(
            account=account,
            ip=policy(settings.throttle_ip_free_failures),
            mfa=Policy(
                free_failures=account.free_failures,
                base_delay=account.base_delay,
                max_delay=account.max_delay,
                window=account.window,
                hard_limit=settings.throttle_mfa_hard_limit,
            ),
            booking=_hourly(settings.booking_rate_per_hour),
            export=_hourly(settings.export_rate_per_hour),
            directory=_per_minute(settings.directory_reads_per_minute),
            desk_booking=_hourly(settings.desk_bookings_per_hour),
            calendar_feed=_hourly(settings.calendar_feed_reads_per_hour),
            api_client=_per_minute(settings.oauth_client_requests_per_minute),
            oauth_token=_per_minute(settings.oauth_token_requests_per_minute),
        )

    @property
    def longest_window(self) -> timedelta:
        """State older than this is forgotten by every policy (``forget_stale``): all of them, so
        a policy added here is counted without anyone having to remember this."""
        policies: list[Policy] = [getattr(self, f.name) for f in fields(self)]
        return max(p.window for p in policies)


def _hourly(allowance: int) -> Policy:
    """An allowance of ``allowance`` in a row, then 1 min, 2 min... up to an hour."""
    return Policy(allowance, timedelta(minutes=1), timedelta(hours=1), timedelta(hours=1))


def _per_minute(allowance: int) -> Policy:
    """An allowance of ``allowance`` in a row, then 1 s, 2 s... up to a minute."""
    return Policy(allowance, timedelta(seconds=1), timedelta(seconds=60), timedelta(minutes=1))


class ThrottleStore(Protocol):
    #: the state is in the request's database transaction: a caller may read it along with its
    #: own rows, in one statement (``Throttle.pending_from``)
    in_database: bool

    async def serialize(self, key: str) -> None: ...

    async def blocked_until_many(self, keys: Sequence[str]) -> dict[str, datetime | None]: ...

    async def add_failure(self, key: str, now: datetime, forget_before: datetime) -> int: ...

    async def hit(
        self, key: str, now: datetime, forget_before: datetime
    ) -> tuple[int, datetime | None]: ...

    async def block(self, key: str, until: datetime) -> None: ...

    async def reset(self, key: str) -> None: ...


class DatabaseStore:
    in_database = True

    def __init__(self, session: AsyncSession) -> None:
        self.repository = ThrottleRepository(session)

    async def serialize(self, key: str) -> None:
        await self.repository.lock(key)

    async def blocked_until_many(self, keys: Sequence[str]) -> dict[str, datetime | None]:
        return await self.repository.blocked_until_many(keys)

    async def add_failure(self, key: str, now: datetime, forget_before: datetime) -> int:
        return await self.repository.add_failure(key, now, forget_before)

    async def hit(
        self, key: str, now: datetime, forget_before: datetime
    ) -> tuple[int, datetime | None]:
        return await self.repository.hit(key, now, forget_before)

    async def block(self, key: str, until: datetime) -> None:
        await self.repository.block(key, until)

    async def reset(self, key: str) -> None:
        await self.repository.reset(key)


class RedisStore:
    """State in a Redis hash per key (``erdv:throttle:<key>``), expiring with the window.

    Instants come from ``app.core.clock`` (stored as epoch seconds) so tests can move time on both
    stores alike. ``HINCRBY`` makes concurrent failures count exactly once each.
    """

    PREFIX = "erdv:throttle:"
    in_database = False

    def __init__(self, redis: Any, window: timedelta) -> None:
        self.redis = redis
        self.ttl = int(window.total_seconds()) + 60

    async def serialize(self, key: str) -> None:
        """Redis counts atomically (HINCRBY) but cannot hold a lock for a SQL transaction: with
        this store, concurrent attempts on one key can each pass the check before either fails
        (a bounded overshoot: at most the number of parallel requests)."""

    async def blocked_until(self, key: str) -> datetime | None:
        raw = await self.redis.hget(self.PREFIX + key, "blocked_until")
        return datetime.fromtimestamp(float(raw), UTC) if raw else None

    async def blocked_until_many(self, keys: Sequence[str]) -> dict[str, datetime | None]:
        return {key: await self.blocked_until(key) for key in keys}

    async def hit(
        self, key: str, now: datetime, forget_before: datetime
    ) -> tuple[int, datetime | None]:
        until = await self.blocked_until(key)
        if until is not None and until > now:
            return 0, until
        return await self.add_failure(key, now, forget_before), until

    async def add_failure(self, key: str, now: datetime, forget_before: datetime) -> int:
        name = self.PREFIX + key
        last = await self.redis.hget(name, "last_failure_at")
        if last is not None and float(last) < forget_before.timestamp():
            await self.redis.delete(name)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hincrby(name, "failures", 1)
            pipe.hset(name, "last_failure_at", str(now.timestamp()))
            pipe.expire(name, self.ttl)
            count, *_ = await pipe.execute()
        return int(count)

    async def block(self, key: str, until: datetime) -> None:
        await self.redis.hset(self.PREFIX + key, "blocked_until", str(until.timestamp()))

    async def reset(self, key: str) -> None:
        await self.redis.delete(self.PREFIX + key)


@dataclass(frozen=True)
class Pending:
    #: seconds until every key is free again (0: go ahead)
    wait: int
    #: the keys that have state (failures counted or a block)
    known: frozenset[str]


def _seconds_until(now: datetime, instants: Iterable[datetime | None]) -> int:
    """Whole seconds until the latest of ``instants`` (0 if none is in the future)."""
    wait = max(
        ((i - now).total_seconds() for i in instants if i is not None and i > now), default=0
    )
    return math.ceil(wait)


class Throttle:
    """``await throttle.check(k1, k2)`` before an attempt; ``failure(k, policy)`` after a bad one."""

    def __init__(self, store: ThrottleStore, policies: Policies) -> None:
        self.store = store
        self.policies = policies

    async def serialize(self, key: str) -> None:
        """Make attempts on ``key`` take turns until this transaction ends, so that a burst of
        parallel attempts cannot all pass the check before any failure is counted."""
        await self.store.serialize(key)

    async def retry_after(self, *keys: str) -> int:
        """Seconds until every key is free again (0: go ahead)."""
        return (await self.pending(*keys)).wait

    async def pending(self, *keys: str) -> Pending:
        """``retry_after``, and which keys have any state (a success need not reset the others)."""
        return self.pending_from(await self.store.blocked_until_many(keys))

    async def states(self, *keys: str) -> Mapping[str, datetime | None]:
        """``blocked_until`` of each key that has state, for ``pending_from`` on a subset."""
        return await self.store.blocked_until_many(keys)

    @property
    def in_database(self) -> bool:
        """The state is in the request's transaction, readable with the caller's own query (the
        login reads the account and its throttle keys at once); read it only after ``serialize``."""
        return self.store.in_database

    @staticmethod
    def pending_from(states: Mapping[str, datetime | None]) -> Pending:
        """``pending`` from states already read: ``blocked_until`` of each key that has a row."""
        return Pending(_seconds_until(clock.now(), states.values()), frozenset(states))

    async def check(self, *keys: str) -> None:
        """Raise ``Throttled`` (429 + ``Retry-After``) while any key is blocked."""
        wait = await self.retry_after(*keys)
        if wait > 0:
            raise Throttled(wait)

    async def failure(self, key: str, policy: Policy) -> int:
        """Record one failure; block the key for the policy's delay once past the free ones."""
        now = clock.now()
        failures = await self.store.add_failure(key, now, now - policy.window)
        delay = policy.delay(failures)
        if delay:
            await self.store.block(key, now + delay)
        return failures

    async def hit(self, key: str, policy: Policy) -> None:
        """Rate limiting: every call counts (forgot-password, booking, API clients), except those
        refused because the key is blocked; checked and counted in one statement."""
        now = clock.now()
        count, until = await self.store.hit(key, now, now - policy.window)
        wait = _seconds_until(now, [until])
        if wait > 0:
            raise Throttled(wait)
        delay = policy.delay(count)
        if delay:
            await self.store.block(key, now + delay)

    async def reset(self, key: str) -> None:
        await self.store.reset(key)

    async def spend_export(self, account_id: uuid.UUID) -> None:
        """One export of personal data started by this account (docs/security.md "Throttling":
        exports are rate-limited per account). Each reads whole tables: a stolen admin or
        practitioner session must not be able to loop on them. 429 ``rate_limited`` once the
        allowance is spent."""
        await self.hit(f"export:account:{account_id}", self.policies.export)

    async def spend_directory_read(self, account_id: uuid.UUID) -> None:
        """One search, profile or slot list read by a signed-in account (docs/security.md
        "Throttling": search is rate-limited per account; OAuth clients are counted per client on
        every call). The allowance is far above what a person browses, far below what a scraper
        needs."""
        await self.hit(f"directory:account:{account_id}", self.policies.directory)


async def forget_stale(session: AsyncSession, settings: Settings) -> str:
    """The throttle-retention job: drop the keys that every policy has forgotten.

    A key's row outlives its use: ``login:ip:<address>`` and ``register:ip:...`` hold client IP
    addresses, personal data that must not be kept longer than needed (GDPR art. 5(1)(e)), and
    every patient who ever booked, every account that ever failed a login, left one. A key whose
    last failure is older than the longest policy window (24 h by default) and that blocks nothing
    any more counts as no key at all (``add_failure`` and ``hit`` start again at 1), so deleting it
    changes no answer. Redis keys expire on their own (``RedisStore``).
    """
    now = clock.now()
    window = Policies.from_settings(settings).longest_window
    removed = await ThrottleRepository(session).forget_stale(now - window, now)
    return f"forgot {removed} throttle keys"
