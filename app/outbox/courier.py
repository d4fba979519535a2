"""The process's delivery lanes: sessions with the relay that last, and sent marks in groups.

A booking sends two notices. Sent one by one, each cost a connection to the relay (connect,
EHLO, QUIT) and a transaction of its own to mark it sent, which together cost more CPU than the
booking (bench/README.md "Performance rules in the code"). Here every message this process
delivers (the requests' own, just committed, and those its worker claimed) joins one queue:

- up to ``ERDV_OUTBOX_CONCURRENCY`` **lanes** take messages from it, one at a time, each over a
  session of its own (one SMTP connection) that it keeps while messages keep coming and closes
  after ``LINGER`` seconds without one. A lane starts when a message arrives and no lane is
  free, so a quiet process sends each message at once, and a slow relay still has that many
  messages in flight;
- one **marker** records what the lanes sent: everything sent since its last mark, in one
  transaction (a group commit: the busier the process, the bigger the group).

Whoever posts a message may wait until it is settled (sent and marked, failed and due again,
dead, or left to its lease): a request's tail waits, so that a request ends with its mail, which
tests and a graceful shutdown rely on. A message is settled even if its lane fails.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.core import clock
from app.core.mail import Mailer, MailSession

logger = logging.getLogger("erdv.outbox")

#: how long a lane keeps its session open without a message to send, in seconds
LINGER = 2.0


@dataclass(frozen=True)
class Staged:
    """One try of one message, in the hands of this process."""

    id: uuid.UUID
    kind: str
    attempt: int
    content: dict[str, Any]
    #: when the lease of this try ends: past it, another process may take the message over
    leased_until: datetime


SendOne = Callable[[Staged, MailSession | None], Awaitable[None]]
"""Sends one message (a mail over the given session, None if the relay could not be reached);
raises what the transport raised."""
Failed = Callable[[Staged, Exception], Awaitable[None]]
"""Records a failed try: due again later, or dead."""
MarkSent = Callable[[Sequence[Staged]], Awaitable[None]]
"""Records, in one transaction, that messages were sent; never raises."""

_Job = tuple[Staged, asyncio.Future[None]]


class Courier:
    def __init__(
        self,
        mailer: Mailer,
        *,
        lanes: int,
        deadline: float,
        send: SendOne,
        failed: Failed,
        mark_sent: MarkSent,
    ) -> None:
        self.mailer = mailer
        self._max_lanes = lanes
        self._deadline = deadline
        self._send = send
        self._failed = failed
        self._mark_sent = mark_sent
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._lanes: set[asyncio.Task[None]] = set()
        self._free = 0  # lanes waiting for a message, or about to
        self._sent: list[_Job] = []
        self._marker: asyncio.Task[None] | None = None

    def post(self, staged: Staged) -> asyncio.Future[None]:
        """Queue ``staged`` for delivery; the future is done once it is settled."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((staged, done))
        if self._free < self._queue.qsize() and len(self._lanes) < self._max_lanes:
            self._free += 1  # counted free from its start, so the next post sees it
            lane = asyncio.create_task(self._lane(), name="erdv-outbox-lane")
            self._lanes.add(lane)
            lane.add_done_callback(self._lanes.discard)
        return done

    async def aclose(self) -> None:
        """Stop the lanes and the marker. What they held stays "sending" until its lease runs
        out; then a worker (of this process or another) delivers it."""
        tasks = [*self._lanes, *([self._marker] if self._marker else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for _, done in self._sent:
            done.cancel()
        self._sent.clear()
        while not self._queue.empty():
            self._queue.get_nowait()[1].cancel()

    # lanes ------------------------------------------------------------------------------------

    async def _lane(self) -> None:
        async with AsyncExitStack() as stack:
            session: MailSession | None = None
            while True:  # free here: counted in _free, by post() at the start, then below
                try:
                    async with asyncio.timeout(LINGER):
                        job = await self._queue.get()
                except TimeoutError:
                    return  # the stack closes the session
                finally:
                    self._free -= 1
                try:
                    session = await self._deliver(job, session, stack)
                except asyncio.CancelledError:
                    job[1].cancel()
                    raise
                except Exception:  # a bug: the sender must not wait for ever
                    logger.exception("outbox lane failed")
                    if not job[1].done():
                        job[1].set_result(None)
                self._free += 1

    async def _deliver(
        self, job: _Job, session: MailSession | None, stack: AsyncExitStack
    ) -> MailSession | None:
        """Try one message; the session for the next one."""
        staged, done = job
        if session is None and "mail" in staged.content:
            session = await self._open(stack)
        if await self._try(staged, session):
            self._hand_to_marker(job)
        else:
            done.set_result(None)
        if session is not None and session.broken:
            await stack.aclose()
            return None
        return session

    async def _open(self, stack: AsyncExitStack) -> MailSession | None:
        """A session for the lane's mails, or None if the relay cannot be reached now (the mail
        then fails, and is due again later)."""
        try:
            async with asyncio.timeout(self._deadline):
                return await stack.enter_async_context(self.mailer.session())
        except Exception as error:
            logger.warning("outbox session not opened", extra={"error": type(error).__name__})
            return None

    async def _try(self, staged: Staged, session: MailSession | None) -> bool:
        """One try of one message; True if it was sent (and is to be marked)."""
        # a try must end within its lease, or another process could take the message over and
        # send it too: one that waited too long in the queue is left to the worker
        budget = (staged.leased_until - clock.now()).total_seconds() - 1
        if budget < 1:
            logger.warning("outbox try left to its lease", extra={"outbox_id": str(staged.id)})
            return False
        try:
            async with asyncio.timeout(min(self._deadline, budget)):
                await self._send(staged, session)
        except Exception as error:
            await self._failed(staged, error)
            return False
        return True

    # the marker -------------------------------------------------------------------------------

    def _hand_to_marker(self, job: _Job) -> None:
        self._sent.append(job)
        if self._marker is None or self._marker.done():
            self._marker = asyncio.create_task(self._mark(), name="erdv-outbox-marker")

    async def _mark(self) -> None:
        while self._sent:
            group, self._sent = self._sent, []
            try:
                await self._mark_sent([staged for staged, _ in group])
            except asyncio.CancelledError:
                for _, done in group:
                    done.cancel()
                raise
            for _, done in group:
                if not done.done():
                    done.set_result(None)
