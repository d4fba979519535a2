"""Typed hooks: how one domain reacts to another's event without the emitter importing it.

A domain that emits declares its hook next to its service (``app.accounts.hooks``); the domain that
reacts connects a subscriber when its module loads (``app.oauth.service`` ends every token when an
account's credentials are revoked). The dependency then points the way the layers allow: the
subscriber knows the emitter, never the reverse (``.importlinter``, ``docs/architecture.md``).

Subscribers run in the emitter's transaction, in the order they were connected, and their results
are returned to the emitter (how many tokens ended, how many appointments were cancelled), so what
they did is audited with the event. A hook marked ``required`` refuses to fire with no subscriber:
a security reaction (revoking tokens) must never be silently skipped because a module was not
loaded.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

PayloadT = TypeVar("PayloadT")
ResultT = TypeVar("ResultT")

Subscriber = Callable[[AsyncSession, PayloadT], Awaitable[ResultT]]


class HookNotConnected(RuntimeError):
    """A required hook fired with nobody to react: a wiring bug, never a user's error."""


class Hook(Generic[PayloadT, ResultT]):
    """One event, its payload type and what each subscriber returns."""

    def __init__(self, name: str, *, required: bool = False) -> None:
        self.name = name
        self.required = required
        self._subscribers: list[Subscriber[PayloadT, ResultT]] = []

    def connect(self, subscriber: Subscriber[PayloadT, ResultT]) -> Subscriber[PayloadT, ResultT]:
        """Subscribe (idempotent: a module imported twice does not react twice)."""
        if subscriber not in self._subscribers:
            self._subscribers.append(subscriber)
        return subscriber

    async def fire(self, session: AsyncSession, payload: PayloadT) -> list[ResultT]:
        if self.required and not self._subscribers:
            raise HookNotConnected(f"nothing reacts to {self.name}")
        return [await subscriber(session, payload) for subscriber in self._subscribers]
