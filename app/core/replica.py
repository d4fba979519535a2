"""Where the anonymous directory reads go: the read replica while it keeps up, else the primary.

A streaming replica is asynchronous (docs/scaling.md "Read replica"). A few seconds behind, it
can at worst show a slot that was just booked, which the booking then refuses with 409. Stopped,
or minutes behind (its replay stuck, its link to the primary cut), it would answer 503 or show a
directory that no longer exists: practices closed, new ones missing, hours changed. So each
process checks, every ``ERDV_REPLICA_CHECK_SECONDS``, how far behind the replica is, and serves the
anonymous reads from the primary while it is unreachable or more than
``ERDV_REPLICA_MAX_LAG_SECONDS`` behind; they go back to it once it has caught up.

**The lag is measured in time, from WAL positions.** At each check the primary's current WAL
position is read and remembered with the moment it was read; the replica's replayed position
then tells which of those moments it has everything of. The lag is the time since the latest
such moment. ``now() - pg_last_xact_replay_timestamp()`` would call an idle primary's replica
late, and "received = replayed" would call a replica cut off from its primary current.

The checks use the requests' pools: a check that waits for a connection until the pool's timeout
(every one at work) decides nothing, since a busy replica is not a stopped one.

Each process decides for itself (two small statements a check, none on a request): this is the
state of a dependency as this process sees it, like its connection pool, not application state
shared between processes.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolBusy
from sqlalchemy.ext.asyncio import AsyncEngine

logger = logging.getLogger("erdv.replica")

_PRIMARY_POSITION = sa.text("SELECT pg_current_wal_lsn()::text")
#: NULL replayed position: not a standby (a URL naming a primary), as current as can be
_REPLAYED = sa.text("SELECT pg_last_wal_replay_lsn()::text")

_UNREACHABLE = (DBAPIError, OSError, TimeoutError)


def lsn(text: str) -> int:
    """A PostgreSQL WAL position (``pg_lsn``, ``16/B374D848``) as a number that orders them."""
    high, _, low = text.partition("/")
    return int(high, 16) << 32 | int(low, 16)


class ReplicaMonitor:
    """Tells ``use_replica`` whether the replica may serve, after each check (``run``).

    ``use_replica(True)`` is called when the replica is within the bound, ``False`` when it is
    unreachable or too far behind; only on changes, and each change is logged."""

    def __init__(
        self,
        primary: AsyncEngine,
        replica: AsyncEngine,
        *,
        max_lag_seconds: float,
        check_seconds: float,
        use_replica: Callable[[bool], None],
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.primary = primary
        self.replica = replica
        self.max_lag = max_lag_seconds
        self.interval = check_seconds
        self.use_replica = use_replica
        self.now = now
        self.serving: bool = True
        #: (moment, primary WAL position) of recent checks, oldest first
        self._marks: collections.deque[tuple[float, int]] = collections.deque()

    async def run(self) -> None:
        """Check every interval, for ever (the first check is the caller's, at start-up)."""
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.check()
            except Exception:  # a bug here must not end the checks, nor reads with them
                logger.exception("read replica check failed")

    async def check(self) -> float | None:
        """One check; the replica's lag in seconds (a lower bound when it is behind every
        position remembered), or None if it could not be reached. The primary unreachable
        teaches nothing: the decision stays as it was."""
        at = self.now()
        try:
            current = await self._scalar(self.primary, _PRIMARY_POSITION)
        except (*_UNREACHABLE, PoolBusy):
            return None
        if current is None:  # pragma: no cover - a primary always has a WAL position
            return None
        position = lsn(current)
        self._marks.append((at, position))
        while len(self._marks) > 1 and self._marks[1][0] < at - self.max_lag - 2 * self.interval:
            self._marks.popleft()
        try:
            replayed_text = await self._scalar(self.replica, _REPLAYED)
        except PoolBusy:
            return None  # every connection of the pool at work: busy, not down
        except _UNREACHABLE as error:
            self._decide(False, f"unreachable ({type(error).__name__})")
            return None
        replayed = None if replayed_text is None else lsn(replayed_text)
        lag = self._lag(at, replayed)
        self._decide(lag <= self.max_lag, f"{lag:.1f} s behind")
        return lag

    def _lag(self, at: float, replayed: int | None) -> float:
        if replayed is None:
            return 0.0
        covered = [moment for moment, position in self._marks if position <= replayed]
        if covered:
            return at - max(covered)
        return at - self._marks[0][0]  # behind even the oldest position remembered

    def _decide(self, serving: bool, why: str) -> None:
        if serving == self.serving:
            return
        self.serving = serving
        if serving:
            logger.info("anonymous directory reads back on the read replica (%s)", why)
        else:
            logger.warning("anonymous directory reads moved to the primary: replica %s", why)
        self.use_replica(serving)

    async def _scalar(self, engine: AsyncEngine, statement: sa.TextClause) -> str | None:
        """One value, on a connection of the requests' pool (no connection of its own to
        count against the server's limit): its checkout is bounded by the pool's timeout
        (``PoolBusy``), a new connection by the connect timeout, the statement here."""
        async with engine.connect() as connection:
            async with asyncio.timeout(self.interval * 2 + 1):
                value: str | None = (await connection.execute(statement)).scalar_one()
            return value
