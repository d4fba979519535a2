"""The notifications' SQL: who a notice goes to, which reminders are due, a person's messages,
and the practitioner's switch."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Account
from app.booking.models import AppointmentStatus, appointment_table, offer_table, waitlist_table
from app.consent.repository import state_table
from app.core.repository import changed, table_of
from app.outbox.models import outbox_table
from app.practice.models import practice_table, site_table

_account = table_of(Account)
_a = appointment_table
_p = practice_table
_o = outbox_table
_s = state_table

#: once-only keys looked up per statement, well under every driver's bind-parameter limit
_KEYS_PER_STATEMENT = 10_000


class Person(Protocol):
    """An account as a message to it needs it."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def email(self) -> str: ...
    @property
    def language(self) -> str: ...
    @property
    def full_name(self) -> str: ...
    @property
    def phone(self) -> str | None: ...


class Practice(Protocol):
    """The practice as its notices name it: no profession, no specialty (charter C7)."""

    @property
    def display_name(self) -> str: ...
    @property
    def address(self) -> str: ...
    @property
    def city(self) -> str: ...
    @property
    def timezone(self) -> str: ...
    @property
    def new_booking_mail(self) -> bool: ...


class WaitlistOfferRow(Protocol):
    """A waiting-list offer as its mail tells it (``app.notifications.waitlist``)."""

    @property
    def entry_id(self) -> uuid.UUID: ...
    @property
    def practitioner_id(self) -> uuid.UUID: ...
    @property
    def patient_id(self) -> uuid.UUID: ...
    @property
    def start_at(self) -> datetime: ...
    @property
    def hold_until(self) -> datetime: ...
    @property
    def pending(self) -> bool: ...
    @property
    def address(self) -> str | None: ...
    @property
    def city(self) -> str | None: ...
    @property
    def timezone(self) -> str | None: ...


class Parties(Practice, Protocol):
    """Who a notice goes to: the practice, its practitioner and the patient, in one read."""

    @property
    def practitioner_id(self) -> uuid.UUID: ...
    @property
    def practitioner_email(self) -> str: ...
    @property
    def practitioner_language(self) -> str: ...
    @property
    def patient_id(self) -> uuid.UUID: ...
    @property
    def patient_email(self) -> str: ...
    @property
    def patient_language(self) -> str: ...
    @property
    def patient_name(self) -> str: ...
    @property
    def patient_phone(self) -> str | None: ...


class Sent(Protocol):
    """One message of a person's list: what it was about and how it went, never what it said."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def topic(self) -> str | None: ...
    @property
    def channel(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def sent_at(self) -> datetime | None: ...


class DueReminder(Protocol):
    @property
    def id(self) -> uuid.UUID: ...
    @property
    def sequence(self) -> int: ...


@dataclass(frozen=True)
class ReminderState:
    """An appointment as its reminder checks it at the last moment."""

    status: str
    sequence: int
    start_at: datetime
    patient_id: uuid.UUID
    practitioner_id: uuid.UUID


_PERSON = (
    _account.c.id,
    _account.c.email,
    _account.c.language,
    _account.c.full_name,
    _account.c.phone,
)
_site = site_table
_at = _a.alias("noticed")
#: the practice as a notice names it, at the site of the appointment ``:appointment_id`` if it has
#: one (its address, and the zone its times are told in), else at the practice's main address
_PRACTICE = (
    _p.c.display_name,
    sa.func.coalesce(_site.c.address, _p.c.address).label("address"),
    sa.func.coalesce(_site.c.city, _p.c.city).label("city"),
    sa.func.coalesce(_site.c.timezone, _p.c.timezone).label("timezone"),
    _p.c.new_booking_mail,
)


def _at_site(practice: sa.FromClause) -> sa.FromClause:
    """``practice`` joined to the appointment's site (none when the appointment names none).

    Each join also names the practitioner: the rows are the practice's own, and a database
    sharded by practitioner (app/distribution.py) finds them on the practice's shard."""
    return practice.outerjoin(
        _at,
        sa.and_(
            _at.c.practitioner_id == _p.c.id,
            _at.c.id == sa.bindparam("appointment_id", type_=sa.Uuid),
        ),
    ).outerjoin(
        _site,
        sa.and_(_site.c.practitioner_id == _at.c.practitioner_id, _site.c.id == _at.c.site_id),
    )


_pro, _patient = _account.alias("pro"), _account.alias("patient")
_PARTIES = (
    sa.select(
        *_PRACTICE,
        _pro.c.id.label("practitioner_id"),
        _pro.c.email.label("practitioner_email"),
        _pro.c.language.label("practitioner_language"),
        _patient.c.id.label("patient_id"),
        _patient.c.email.label("patient_email"),
        _patient.c.language.label("patient_language"),
        _patient.c.full_name.label("patient_name"),
        _patient.c.phone.label("patient_phone"),
    )
    .select_from(
        _at_site(
            _p.join(_pro, _pro.c.id == _p.c.id).join(
                _patient, _patient.c.id == sa.bindparam("patient_id", type_=sa.Uuid)
            )
        )
    )
    .where(_p.c.id == sa.bindparam("practitioner_id", type_=sa.Uuid))
)
_PRACTICE_ALONE = (
    sa.select(*_PRACTICE)
    .select_from(_at_site(_p))
    .where(_p.c.id == sa.bindparam("practitioner_id", type_=sa.Uuid))
)


class NotificationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def active_practitioners(self) -> Sequence[Person]:
        """Every practitioner whose account is active, by id (an operator notice's recipients)."""
        query = (
            sa.select(*_PERSON)
            .where(_account.c.role == "practitioner", _account.c.status == "active")
            .order_by(_account.c.id)
        )
        rows: Sequence[Person] = (await self.session.execute(query)).all()
        return rows

    async def person(self, account_id: uuid.UUID) -> Person | None:
        query = sa.select(*_PERSON).where(_account.c.id == account_id)
        row: Person | None = (await self.session.execute(query)).one_or_none()
        return row

    async def parties(
        self,
        practitioner_id: uuid.UUID,
        patient_id: uuid.UUID,
        appointment_id: uuid.UUID | None = None,
    ) -> Parties | None:
        """One statement, built once: notices read it in the change's own transaction
        (``app.booking.notices``; bench/README.md "Performance rules in the code"), reminders
        just before delivery. The place is the appointment's site's (``_PRACTICE``)."""
        params = {
            "practitioner_id": practitioner_id,
            "patient_id": patient_id,
            "appointment_id": appointment_id,
        }
        row: Parties | None = (await self.session.execute(_PARTIES, params)).one_or_none()
        return row

    async def waitlist_offer(self, offer_id: uuid.UUID) -> WaitlistOfferRow | None:
        """An offer of the waiting list with its patient and its site's place and zone."""
        o, w = offer_table, waitlist_table
        query = (
            sa.select(
                o.c.entry_id,
                o.c.practitioner_id,
                o.c.start_at,
                o.c.hold_until,
                o.c.pending,
                w.c.patient_id,
                _site.c.address,
                _site.c.city,
                _site.c.timezone,
            )
            .select_from(
                o.join(w, w.c.id == o.c.entry_id).outerjoin(_site, _site.c.id == o.c.site_id)
            )
            .where(o.c.id == offer_id)
        )
        row: WaitlistOfferRow | None = (await self.session.execute(query)).one_or_none()
        return row

    async def practice(
        self, practitioner_id: uuid.UUID, appointment_id: uuid.UUID | None = None
    ) -> Practice | None:
        """The practice alone: a notice to someone the practice booked for without an account."""
        params = {"practitioner_id": practitioner_id, "appointment_id": appointment_id}
        row: Practice | None = (await self.session.execute(_PRACTICE_ALONE, params)).one_or_none()
        return row

    async def appointment(self, appointment_id: uuid.UUID) -> ReminderState | None:
        row = (
            await self.session.execute(
                sa.select(
                    _a.c.status, _a.c.sequence, _a.c.start_at, _a.c.patient_id, _a.c.practitioner_id
                ).where(_a.c.id == appointment_id)
            )
        ).one_or_none()
        return None if row is None else ReminderState(*row)

    async def granted(self, account_id: uuid.UUID, purpose_id: str, version: int) -> bool:
        """The account granted ``purpose_id`` at ``version`` (its current one) and kept it."""
        query = sa.select(_s.c.account_id).where(
            _s.c.account_id == account_id,
            _s.c.purpose_id == purpose_id,
            _s.c.scope == "",
            _s.c.status == "granted",
            _s.c.purpose_version == version,
        )
        return (await self.session.execute(query)).first() is not None

    async def due_reminders(
        self,
        since: datetime,
        now: datetime,
        offset: timedelta,
        purpose_id: str,
        version: int,
    ) -> Sequence[DueReminder]:
        """Booked appointments still ahead whose reminder, ``offset`` before the start, came due
        after ``since`` and by ``now``, for patients who granted ``purpose_id`` at ``version``.

        A reminder whose hour had passed already when the appointment got its time (booked or moved
        late) is never due: the confirmation just told the patient. One that came due while no
        server ran is due at the next run, as long as the appointment is ahead.
        """
        query = (
            sa.select(
                _a.c.id,
                _a.c.sequence,
                _a.c.start_at,
                sa.func.coalesce(_a.c.changed_at, _a.c.created_at).label("set_at"),
            )
            .select_from(
                _a.join(
                    _s,
                    sa.and_(
                        _s.c.account_id == _a.c.patient_id,
                        _s.c.purpose_id == purpose_id,
                        _s.c.scope == "",
                        _s.c.status == "granted",
                        _s.c.purpose_version == version,
                    ),
                )
            )
            .where(
                _a.c.status == AppointmentStatus.BOOKED.value,
                # due after ``since``: start - offset > since; still ahead: start > now
                _a.c.start_at > max(now, since + offset),
                _a.c.start_at <= now + offset,
            )
            .order_by(_a.c.start_at)
        )
        rows = (await self.session.execute(query)).all()
        # the window holds the reminders of a few minutes: this check is cheaper here than as
        # date arithmetic each database spells its own way
        due: list[DueReminder] = [r for r in rows if r.set_at <= r.start_at - offset]
        return due

    async def staged_keys(self, keys: Sequence[str]) -> set[str]:
        """Which of these once-only keys a message was staged under already."""
        # in slices: a run can plan more reminders than a statement may carry bind parameters
        # (asyncpg: 32,767); `make bench`'s B17 planned 100,000 and failed
        staged: set[str] = set()
        for first in range(0, len(keys), _KEYS_PER_STATEMENT):
            part = list(keys[first : first + _KEYS_PER_STATEMENT])
            query = sa.select(_o.c.dedupe_key).where(_o.c.dedupe_key.in_(part))
            staged.update(str(key) for key in (await self.session.execute(query)).scalars().all())
        return staged

    async def sent_to(self, account_id: uuid.UUID, limit: int) -> Sequence[Sent]:
        query = (
            sa.select(_o.c.id, _o.c.topic, _o.c.channel, _o.c.status, _o.c.created_at, _o.c.sent_at)
            .where(_o.c.recipient_id == account_id)
            .order_by(_o.c.created_at.desc(), _o.c.id)
            .limit(limit)
        )
        rows: Sequence[Sent] = (await self.session.execute(query)).all()
        return rows

    async def set_new_booking_mail(self, practitioner_id: uuid.UUID, on: bool) -> bool:
        result = await self.session.execute(
            sa.update(_p).where(_p.c.id == practitioner_id).values(new_booking_mail=on)
        )
        return changed(result) > 0

    async def new_booking_mail(self, practitioner_id: uuid.UUID) -> bool | None:
        query = sa.select(_p.c.new_booking_mail).where(_p.c.id == practitioner_id)
        value: bool | None = (await self.session.execute(query)).scalar_one_or_none()
        return value

    async def is_behind(self, account_id: uuid.UUID, purpose_id: str, version: int) -> bool:
        """The account still holds a grant of ``purpose_id`` at a version before ``version``."""
        query = sa.select(_s.c.account_id).where(
            _s.c.account_id == account_id,
            _s.c.purpose_id == purpose_id,
            _s.c.scope == "",
            _s.c.status == "granted",
            _s.c.purpose_version < version,
        )
        return (await self.session.execute(query)).first() is not None

    async def behind(self, purpose_id: str, version: int) -> Sequence[uuid.UUID]:
        """Accounts that granted ``purpose_id`` at an earlier version than ``version`` and have not
        granted this one (nor withdrawn): those a new version of the text is waiting for."""
        query = (
            sa.select(_s.c.account_id)
            .where(
                _s.c.purpose_id == purpose_id,
                _s.c.scope == "",
                _s.c.status == "granted",
                _s.c.purpose_version < version,
            )
            .order_by(_s.c.account_id)
        )
        return list((await self.session.execute(query)).scalars().all())
