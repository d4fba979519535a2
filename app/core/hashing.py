"""Password hashing: argon2id in a bounded worker pool, with a dummy hash for unknown accounts.

Why this shape (docs/security.md "Passwords", ASVS V6.2, NIST SP 800-63B §3.1.1.2):

- **argon2id at OWASP's cost** (m=19 MiB, t=2, p=1) by default; the parameters are settings, and a
  stored hash made with other parameters is replaced at the next successful login (``needs_rehash``).
- **Never on the event loop.** argon2 is deliberately slow and memory-hard: one hash on the loop would
  stall every other request. Hashes run in a pool of ``threads = cores`` (argon2-cffi releases the GIL),
  so memory use is bounded (threads x m) and excess logins queue instead of exhausting the box.
- **Same work for unknown accounts.** ``verify(None, password)`` checks the password against a dummy
  hash made with the current parameters, so "no such email" costs exactly what "wrong password" costs
  and timing does not reveal who is registered.
- **Unicode-normalised** (NIST SP 800-63B §3.1.1.2): the password is hashed in NFKC, so the same
  passphrase typed on another keyboard or system (composed or decomposed accents, full-width forms,
  ligatures) is the same password. No truncation, no case folding (any Unicode). Hashes made before
  this, of the password as typed, still verify, and are replaced at the next login (``check``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import threading
import unicodedata
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from argon2 import PasswordHasher as Argon2Hasher
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from app.core.settings import Settings

T = TypeVar("T")


def argon2_for(settings: Settings) -> Argon2Hasher:
    """argon2id at the configured cost: the one place erdv's hash parameters are spelled out."""
    return Argon2Hasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
        hash_len=32,
        salt_len=16,
        type=Type.ID,
    )


def normalize(password: str) -> str:
    """NFKC (NIST SP 800-63B §3.1.1.2; RFC 8265's OpaqueString profile uses NFC, NIST asks NFKC)."""
    return unicodedata.normalize("NFKC", password)


def _forms(password: str) -> tuple[str, ...]:
    """The forms a stored hash may be of: NFKC, then as typed (hashes from before NFKC)."""
    normal = normalize(password)
    return (normal,) if normal == password else (normal, password)


@dataclass(frozen=True)
class PasswordCheck:
    ok: bool
    #: replace the stored hash with ``hash(password)`` now that the password is known
    rehash: bool


class PasswordHasher:
    """The process's password hasher. Create one per app (``app.state.passwords``); ``close()`` it."""

    def __init__(self, settings: Settings) -> None:
        self._argon2 = argon2_for(settings)
        threads = settings.password_hash_threads or os.cpu_count() or 1
        self._pool = ThreadPoolExecutor(
            max_workers=threads, thread_name_prefix="argon2", initializer=_yield_to_the_loop
        )
        self._dummy: str | None = None

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    async def hash(self, password: str) -> str:
        """An argon2id PHC string (``$argon2id$v=19$m=...``) of the NFKC form."""
        digest: str = await self._run(self._argon2.hash, normalize(password))
        return digest

    async def dummy_hash(self) -> str:
        """A hash of a random secret with the current parameters (made once, lazily)."""
        if self._dummy is None:
            self._dummy = await self.hash(secrets.token_urlsafe(32))
        return self._dummy

    async def verify(self, stored: str | None, password: str) -> bool:
        """True if ``password`` matches ``stored``; ``stored=None`` does the same work and says no."""
        return (await self.check(stored, password)).ok

    async def check(self, stored: str | None, password: str) -> PasswordCheck:
        """``verify``, and whether ``stored`` should be replaced by ``hash(password)``: it was made
        with other parameters, or of the password as typed before passwords were normalised.
        Unknown accounts (``stored=None``) cost the same: the same forms against the dummy hash."""
        target = stored if stored is not None else await self.dummy_hash()
        matched = await self._run(self._match_sync, target, _forms(password))
        ok = matched is not None and stored is not None
        rehash = ok and (bool(matched) or self.needs_rehash(target))
        return PasswordCheck(ok, rehash)

    def _match_sync(self, stored: str, forms: tuple[str, ...]) -> int | None:
        """Which of ``forms`` matches (0: the NFKC form), in one trip to the pool."""
        for index, form in enumerate(forms):
            if self._verify_sync(stored, form):
                return index
        return None

    def _verify_sync(self, stored: str, password: str) -> bool:
        try:
            return bool(self._argon2.verify(stored, password))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        """The stored hash was made with other parameters (or another algorithm) than the settings."""
        try:
            return bool(self._argon2.check_needs_rehash(stored))
        except InvalidHashError:
            return True

    async def warm_up(self) -> None:
        await self.dummy_hash()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


#: how much nicer (lower priority) the hashing threads are than the thread that made the pool
HASHING_NICENESS = 10


def _yield_to_the_loop() -> None:
    """Run the hashing threads at a lower CPU priority than the event loop.

    A login flood keeps every core busy with argon2; at equal priority the event loop gets its
    turn only now and then, so cheap requests (health checks, slot lists, bookings) wait behind
    hashes they have nothing to do with (bench/README.md "Performance rules in the code"). Lower
    priority costs the hashes nothing when the loop is idle, which is most of the time. Linux sets
    niceness per thread; elsewhere, or if refused, the thread keeps the normal priority.
    """
    with contextlib.suppress(OSError, AttributeError):
        me = threading.get_native_id()
        os.setpriority(
            os.PRIO_PROCESS, me, min(19, os.getpriority(os.PRIO_PROCESS, me) + HASHING_NICENESS)
        )
