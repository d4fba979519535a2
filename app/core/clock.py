"""The one source of time.

Deadlines, TOTP steps, session timeouts, purges and daylight-saving arithmetic all read ``now()`` from
here, so a test can move time (``frozen``/``advance``) without patching the standard library. The
override is process-wide, not a context variable, on purpose: worker threads (argon2, Authlib) must see
the same instant as the event loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

_source: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def now() -> datetime:
    """The current instant, timezone-aware, in UTC."""
    return _source()


def is_frozen() -> bool:
    """True inside ``frozen()`` (tests): time only moves when the test moves it."""
    return isinstance(_source, FrozenClock)


class FrozenClock:
    """A clock standing still at ``at`` until moved with ``advance`` or ``set``."""

    def __init__(self, at: datetime) -> None:
        self.set(at)

    def __call__(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("a frozen clock needs a timezone-aware instant")
        self._at = at.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        self._at += delta


@contextmanager
def frozen(at: datetime) -> Iterator[FrozenClock]:
    """Freeze time for the duration of the block (tests only)."""
    global _source
    previous = _source
    clock = FrozenClock(at)
    _source = clock
    try:
        yield clock
    finally:
        _source = previous
