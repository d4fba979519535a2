"""The webhooks' SQL: endpoints, and the two reads that join the patient's consents.

Both joins read other domains' tables in one statement, as only a repository may (CONVENTIONS.md
habit 19): the ``third-party-sharing`` consent state (``app.consent``: one row per patient and
client, its ``scope`` the client id) and the client's own ``enabled`` flag (``app.oauth``: a
disabled client can do nothing, not even be told); at delivery, the account's status too
(``app.accounts``: an erased account's events go to no one).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Account, AccountStatus
from app.charter.model import PurposeId
from app.consent.models import ConsentState
from app.core.repository import changed, table_of
from app.oauth.models import OAuthClient
from app.webhooks.models import WebhookEndpoint, endpoint_table

_e = endpoint_table
_s = table_of(ConsentState)
_c = table_of(OAuthClient)
_a = table_of(Account)

#: the patient's current authorization of an endpoint's client: the consent granted at the
#: purpose's current version (as ``app.consent.service.current_consents`` counts it), the
#: client and the endpoint enabled
_AUTHORIZED = sa.and_(
    _s.c.account_id == sa.bindparam("patient_id"),
    _s.c.purpose_id == PurposeId.THIRD_PARTY_SHARING.value,
    _s.c.status == "granted",
    _s.c.purpose_version == sa.bindparam("version"),
    _e.c.enabled.is_(True),
    _c.c.enabled.is_(True),
)
_JOINED = _s.join(_e, _e.c.client_id == _s.c.scope).join(_c, _c.c.client_id == _e.c.client_id)
#: built once: every booking, move and cancellation of a patient with an account asks it
_SUBSCRIBED = (
    sa.select(_e.c.id, _e.c.client_id, _e.c.events).select_from(_JOINED).where(_AUTHORIZED)
)
#: at each try, also: the patient's account not erased since (its erasure cancels its
#: appointments, whose events are then no third party's business: the consent proof outlives the
#: account, the authorization does not)
_DELIVERABLE = (
    sa.select(_e.c.url, _e.c.secret_ct)
    .select_from(_JOINED.join(_a, _a.c.id == _s.c.account_id))
    .where(
        _AUTHORIZED,
        _e.c.id == sa.bindparam("endpoint_id"),
        _a.c.status != AccountStatus.DELETED.value,
    )
)


@dataclass(frozen=True)
class Subscribed:
    endpoint_id: uuid.UUID
    client_id: str
    events: list[str]


@dataclass(frozen=True)
class Deliverable:
    url: str
    secret_ct: str


class WebhookRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: WebhookEndpoint) -> None:
        self.session.add(row)
        await self.session.flush()

    async def for_client(self, client_id: str) -> Sequence[WebhookEndpoint]:
        query = (
            sa.select(WebhookEndpoint)
            .where(_e.c.client_id == client_id)
            .order_by(_e.c.created_at, _e.c.id)
        )
        return (await self.session.execute(query)).scalars().all()

    async def delete(self, client_id: str, endpoint_id: uuid.UUID) -> bool:
        result = await self.session.execute(
            sa.delete(_e).where(_e.c.id == endpoint_id, _e.c.client_id == client_id)
        )
        return changed(result) > 0

    async def disable(self, endpoint_id: uuid.UUID) -> None:
        await self.session.execute(
            sa.update(_e).where(_e.c.id == endpoint_id).values(enabled=False)
        )

    async def subscribed(self, patient_id: uuid.UUID, version: int) -> list[Subscribed]:
        """Enabled endpoints of the enabled clients the patient currently authorizes, whatever
        their events (a short JSON list each, filtered by the caller). One statement, led by the
        consent state's primary key (account, purpose, scope): a patient who authorized no
        client, or whose clients have no endpoint, costs one index probe."""
        rows = await self.session.execute(
            _SUBSCRIBED, {"patient_id": patient_id, "version": version}
        )
        return [Subscribed(row.id, row.client_id, list(row.events or ())) for row in rows]

    async def deliverable(
        self, endpoint_id: uuid.UUID, patient_id: uuid.UUID, version: int
    ) -> Deliverable | None:
        """The endpoint's URL and sealed secret if it still exists, is enabled, and the patient
        still authorizes its (enabled) client; else None."""
        row = (
            await self.session.execute(
                _DELIVERABLE,
                {"endpoint_id": endpoint_id, "patient_id": patient_id, "version": version},
            )
        ).first()
        return None if row is None else Deliverable(row.url, row.secret_ct)
