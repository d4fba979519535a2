"""What the accounts services hand back (issued sessions, MFA outcomes) and the small pure helpers
every layer above uses to name a caller: ``actor_of`` and ``network_of``."""

from __future__ import annotations

import ipaddress
import uuid
from dataclasses import dataclass
from datetime import datetime

from app.accounts.models import (
    Account,
    SessionState,
)
from app.audit.service import Actor


@dataclass(frozen=True)
class ClientInfo:
    ip: str | None
    user_agent: str | None


@dataclass(frozen=True)
class IssuedSession:
    """A session token for the cookie, and its CSRF token for the client's headers."""

    session_id: uuid.UUID
    token: str
    csrf_token: str
    state: SessionState


@dataclass(frozen=True)
class Activation:
    recovery_codes: list[str]
    session: IssuedSession


@dataclass(frozen=True)
class Reauthentication:
    """The rotated session, and until when sensitive operations are unlocked."""

    session: IssuedSession
    at: datetime
    valid_until: datetime


@dataclass(frozen=True)
class MfaCompleted:
    account: Account
    session: IssuedSession


def network_of(ip: str | None) -> str:
    """The throttling unit for an address: itself for IPv4, its /64 for IPv6."""
    if not ip:
        return "unknown"
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return "unknown"
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def actor_of(account: Account) -> Actor:
    return Actor.account(account.id, account.role)
