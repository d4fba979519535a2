"""What a verified OAuth Bearer token allows, and the verifier the OAuth domain provides.

The door (``app.auth``) sits below the OAuth domain, whose routes it guards (the consent page needs a
signed-in patient), so it cannot import the token store. It declares what it needs instead: a
``BearerVerifier`` that turns a token into a ``TokenGrant`` or raises 401 ``invalid_token``.
``app.oauth.service.authenticate_bearer`` is that verifier; the composition root connects it
(``app.reactions``), and a request with a token before that is a wiring bug, never a pass.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.audit.service import Actor
from app.core.settings import Settings
from app.throttle.service import Throttle


@dataclass(frozen=True)
class TokenGrant:
    """What a valid Bearer token allows: who (client, and the patient it acts for), and what."""

    token_id: uuid.UUID
    client_id: str
    client_name: str
    scopes: frozenset[str]
    account_id: uuid.UUID | None
    role: Role | None
    display_name: str | None
    expires_at: datetime

    @property
    def actor(self) -> Actor:
        """Everything a client does is audited under the client (charter C9; the 2020 incident)."""
        return Actor.client(self.client_id, on_behalf_of=self.account_id)


class BearerVerifier(Protocol):
    """RFC 6750 §3.1: a valid token's grant, or 401 ``invalid_token``."""

    async def __call__(
        self, session: AsyncSession, settings: Settings, throttle: Throttle, token: str
    ) -> TokenGrant: ...


class _Verifier:
    """The one ``BearerVerifier`` of the process, connected once at start-up."""

    def __init__(self) -> None:
        self._verify: BearerVerifier | None = None

    def connect(self, verify: BearerVerifier) -> None:
        self._verify = verify

    async def __call__(
        self, session: AsyncSession, settings: Settings, throttle: Throttle, token: str
    ) -> TokenGrant:
        if self._verify is None:
            raise RuntimeError("no Bearer token verifier is connected (app.reactions.connect)")
        return await self._verify(session, settings, throttle, token)


verify_bearer = _Verifier()
