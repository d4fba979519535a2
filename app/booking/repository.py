"""SQL for the directory, slots and appointments, in SQLAlchemy Core on the hot paths.

Search, the slot list and booking each run a fixed number of statements whatever the data
(``tests/booking/test_statements.py`` counts them): one query per kind of row, never one per item.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.booking.models import (
    AppointmentStatus,
    WaitlistStatus,
    cell_table,
    feed_table,
    idempotency_table,
    offer_table,
    waitlist_table,
)
from app.booking.rows import (
    AgendaRow,
    BookingOffer,
    Busy,
    Noticed,
    PracticeAppointment,
    PracticeBusy,
    Profile,
    Replayed,
    WaitlistRow,
)
from app.booking.statements import (
    _INSERT_APPOINTMENT,
    _REPLAYED,
    BOOKED,
    LONGEST_VISIT,
    PROFILE_COLUMNS,
    Inserted,
    ReasonRow,
    SlotInputs,
    _booking_inputs,
    _busy,
    _claim_key,
    _profile_with_reasons,
    _profiles,
    _slot_inputs,
    _take_cells,
    _visit_reasons,
    a,
    account_table,
    p,
    relative_table,
)
from app.core import clock
from app.core.db import insert_for, lock_until_commit
from app.core.repository import changed
from app.practice.models import site_table, visit_reason_table


def ended_by_booking() -> sa.ColumnElement[bool]:
    """A waiting-list entry has ended when its patient has booked that practitioner for
    themselves since making it, by any channel (a relative's visit is another person's). Read
    where entries are, not written at each booking: the booking path stays as it is (bench B1).
    An entry so ended is never offered anything again, and the ``waitlist-offers`` job deletes
    it within a minute, passing a slot it held to the next entry (``Holds.end_stale``)."""
    w = waitlist_table
    return sa.exists().where(
        a.c.patient_id == w.c.patient_id,
        a.c.practitioner_id == w.c.practitioner_id,
        a.c.relative_id.is_(None),
        a.c.created_at >= w.c.created_at,
    )


class BookingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # directory

    async def search(
        self,
        *,
        profession: str | None,
        specialty: str | None,
        city_key: str | None,
        name: str | None,
        after: tuple[str, uuid.UUID] | None,
        limit: int,
        postcode: str | None = None,
    ) -> Sequence[Profile]:
        """Listed practices in the neutral order; ``city_key`` and ``postcode`` (five digits
        exact, fewer a department's prefix) match any of a practice's sites."""
        query = _profiles()
        if profession is not None:
            query = query.where(p.c.profession == profession)
        if specialty is not None:
            query = query.where(p.c.specialty == specialty)
        s = site_table
        if city_key is not None:
            query = query.where(
                sa.exists().where(s.c.practitioner_id == p.c.id, s.c.city_key == city_key)
            )
        if postcode is not None:
            matches = (
                s.c.postcode == postcode
                if len(postcode) == 5
                else s.c.postcode.startswith(postcode)
            )
            query = query.where(sa.exists().where(s.c.practitioner_id == p.c.id, matches))
        if name:
            escaped = name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(p.c.search_name.like(f"%{escaped}%", escape="\\"))
        if after is not None:
            query = query.where(
                sa.or_(
                    p.c.search_name > after[0],
                    sa.and_(p.c.search_name == after[0], p.c.id > after[1]),
                )
            )
        query = query.order_by(p.c.search_name, p.c.id).limit(limit)
        rows: Sequence[Profile] = (await self.session.execute(query)).all()
        return rows

    async def profile_and_reasons(
        self, practitioner_id: uuid.UUID
    ) -> tuple[Profile | None, list[ReasonRow]]:
        """A listed practice and its active visit reasons in one statement (the public profile);
        ``(None, [])`` if it is not listed. The slot list reads them with its busy time instead
        (``slot_inputs``)."""
        rows = (
            await self.session.execute(
                _profile_with_reasons(), {"practitioner_id": practitioner_id}
            )
        ).all()
        if not rows:
            return None, []
        reasons = [
            ReasonRow(
                r.reason_id,
                r.id,
                r.reason_label,
                r.reason_minutes,
                r.reason_new_patients,
                r.reason_generic,
            )
            for r in rows
            if r.reason_id is not None
        ]
        return rows[0], reasons

    async def slot_inputs(
        self, practitioner_id: uuid.UUID, start: datetime, end: datetime
    ) -> SlotInputs | None:
        """A listed practice's schedule and its busy time overlapping ``[start, end)``, in one
        statement (``_slot_inputs``); None if it is not listed."""
        params = {"practitioner_id": practitioner_id, **self._busy_params(start, end, None)}
        schedule: list[Any] = []
        busy: list[Any] = []
        for row in (await self.session.execute(_slot_inputs(), params)).all():
            (busy if row.busy else schedule).append(row)
        if not schedule:
            return None
        durations = {
            str(r.reason_id): r.reason_minutes for r in schedule if r.reason_id is not None
        }
        return SlotInputs(schedule[0], durations, busy)

    async def sites_of(self, practitioner_ids: Sequence[uuid.UUID]) -> Sequence[Any]:
        """The sites of these practices, each practice's main (oldest) one first."""
        s = site_table
        query = (
            sa.select(
                s.c.id,
                s.c.practitioner_id,
                s.c.label,
                s.c.address,
                s.c.city,
                s.c.postcode,
                s.c.timezone,
            )
            .where(s.c.practitioner_id.in_(practitioner_ids))
            .order_by(s.c.practitioner_id, s.c.created_at, s.c.id)
        )
        return (await self.session.execute(query)).all()

    async def practice_of_site(self, site_id: uuid.UUID) -> uuid.UUID | None:
        """The practice a site belongs to (listed or not: the caller reads its profile next)."""
        query = sa.select(site_table.c.practitioner_id).where(site_table.c.id == site_id)
        owner: uuid.UUID | None = (await self.session.execute(query)).scalar_one_or_none()
        return owner

    async def practice_of_reason(self, visit_reason_id: uuid.UUID) -> uuid.UUID | None:
        """The practice a visit reason belongs to (active or not: booking checks that)."""
        r = visit_reason_table
        query = sa.select(r.c.practitioner_id).where(r.c.id == visit_reason_id)
        owner: uuid.UUID | None = (await self.session.execute(query)).scalar_one_or_none()
        return owner

    async def visit_reasons(self, practitioner_ids: Sequence[uuid.UUID]) -> Sequence[Any]:
        rows: Sequence[Any] = (
            await self.session.execute(_visit_reasons(), {"ids": list(practitioner_ids)})
        ).all()
        return rows

    async def busy(
        self,
        practitioner_id: uuid.UUID,
        start: datetime,
        end: datetime,
        *,
        exclude: uuid.UUID | None = None,
    ) -> Sequence[Busy]:
        """Absences and active appointments of one practitioner overlapping ``[start, end)``."""
        params = self._busy_params(start, end, exclude)
        query = _busy(many=False, excluding=exclude is not None)
        rows: Sequence[Busy] = (
            await self.session.execute(query, {"practitioner_id": practitioner_id, **params})
        ).all()
        return rows

    async def busy_of_many(
        self,
        practitioner_ids: Sequence[uuid.UUID],
        start: datetime,
        end: datetime,
        *,
        exclude: uuid.UUID | None = None,
    ) -> dict[uuid.UUID, list[PracticeBusy]]:
        """Absences and active appointments overlapping ``[start, end)``, per practitioner, in one
        statement (``exclude``: an appointment being moved does not stand in its own way).

        Appointments are also bounded below (``start_at > start - LONGEST_VISIT``): without it the
        index range on (practitioner, start) runs back through the whole history, and the planner
        may prefer scanning every practitioner's future appointments by ``end_at`` instead; with it
        the statement reads only the window, whatever the history
        (bench/README.md "Performance rules in the code").
        """
        params = self._busy_params(start, end, exclude)
        query = _busy(many=True, excluding=exclude is not None)
        out: dict[uuid.UUID, list[PracticeBusy]] = {pid: [] for pid in practitioner_ids}
        for row in (
            await self.session.execute(query, {"ids": list(practitioner_ids), **params})
        ).all():
            out[row.practitioner_id].append(row)
        return out

    @staticmethod
    def _busy_params(start: datetime, end: datetime, exclude: uuid.UUID | None) -> dict[str, Any]:
        params: dict[str, Any] = {
            "start": start,
            "end": end,
            "since": start - LONGEST_VISIT,
            "now": clock.now(),
        }
        if exclude is not None:
            params["exclude"] = exclude
        return params

    # booking

    async def booking_inputs(
        self, practitioner_id: uuid.UUID, visit_reason_id: uuid.UUID, patient_id: uuid.UUID
    ) -> BookingOffer | None:
        """The listed practice, the visit reason and whether the patient is known, in one statement
        (``_booking_inputs``)."""
        params = {
            "practitioner_id": practitioner_id,
            "visit_reason_id": visit_reason_id,
            "patient_id": patient_id,
        }
        row: BookingOffer | None = (
            await self.session.execute(_booking_inputs(), params)
        ).one_or_none()
        return row

    async def replayed(self, account_id: uuid.UUID, key: str) -> Replayed | None:
        params = {"account_id": account_id, "key": key}
        return (await self.session.execute(_REPLAYED, params)).one_or_none()

    async def hold_key(self, account_id: uuid.UUID, key: str) -> None:
        """Hold the caller's Idempotency-Key until this transaction ends: an advisory lock on
        PostgreSQL (bounded by ``lock_timeout``), SQLite's write lock (the next read runs under
        it)."""
        await lock_until_commit(self.session, f"erdv:idempotency:{account_id}:{key}")

    async def insert_booking(
        self,
        appointment: dict[str, Any],
        cells: Sequence[datetime],
        idempotency: dict[str, Any] | None,
    ) -> Inserted:
        """The idempotency record, the appointment and its cells; what stood in the way, if anything.

        The cells' primary key is what refuses a double booking. The inserts skip conflicting rows
        (``ON CONFLICT DO NOTHING``) rather than fail: on PostgreSQL a failed statement would
        poison the transaction and need a SAVEPOINT around it (two more round trips on every
        booking). A concurrent, uncommitted insert of the same key still makes this one wait for
        its outcome, so the answer is exact. On ``SLOT_TAKEN`` and ``KEY_TAKEN`` the caller raises
        or replays and the request's transaction is rolled back or holds nothing of this booking:
        the idempotency record goes first, so a lost key race has inserted nothing else. Cells go
        in one multi-row INSERT, ascending: no lock-order deadlock between two bookings.
        """
        dialect = self.session.get_bind().dialect.name
        if idempotency is not None:
            claimed = await self.session.execute(_claim_key(dialect), idempotency)
            if claimed.first() is None:
                return Inserted.KEY_TAKEN
        await self.session.execute(_INSERT_APPOINTMENT, appointment)
        rows = [
            {"practitioner_id": appointment["practitioner_id"], "cell_at": c,
             "appointment_id": appointment["id"]}
            for c in sorted(cells)
        ]  # fmt: skip
        # several parameter sets with RETURNING: SQLAlchemy sends them as one multi-row INSERT
        taken = await self.session.execute(_take_cells(dialect), rows)
        if len(taken.all()) < len(rows):
            return Inserted.SLOT_TAKEN
        return Inserted.BOOKED

    async def _insert_cells(
        self, practitioner_id: uuid.UUID, appointment_id: uuid.UUID, cells: Sequence[datetime]
    ) -> None:
        await self.session.execute(
            sa.insert(cell_table).values(
                [
                    {
                        "practitioner_id": practitioner_id,
                        "cell_at": c,
                        "appointment_id": appointment_id,
                    }
                    for c in sorted(cells)
                ]
            )
        )

    async def move(
        self,
        appointment_id: uuid.UUID,
        practitioner_id: uuid.UUID,
        old_start: datetime,
        start: datetime,
        end: datetime,
        cells: Sequence[datetime],
        at: datetime,
        *,
        site_id: uuid.UUID | None = None,
    ) -> bool:
        """Move a booked appointment: claim the row (still booked, still at ``old_start``), free
        its cells, take the new ones, raise its iCalendar sequence. The caller runs this in a
        savepoint: if the new cells are taken, everything here is undone and the original time
        stays booked."""
        result = await self.session.execute(
            sa.update(a)
            .where(a.c.id == appointment_id, a.c.status == BOOKED, a.c.start_at == old_start)
            .values(
                start_at=start,
                end_at=end,
                site_id=site_id,
                sequence=a.c.sequence + 1,
                changed_at=at,
            )
        )
        if not changed(result):
            return False
        await self.session.execute(
            sa.delete(cell_table).where(cell_table.c.appointment_id == appointment_id)
        )
        await self._insert_cells(practitioner_id, appointment_id, cells)
        return True

    async def cancel(self, appointment_ids: Sequence[uuid.UUID], by: str, at: datetime) -> int:
        """Cancel, erase the visit reason (C7) and free the cells, for booked appointments only."""
        result = await self.session.execute(
            sa.update(a)
            .where(a.c.id.in_(list(appointment_ids)), a.c.status == BOOKED)
            .values(
                status=AppointmentStatus.CANCELLED.value,
                cancelled_at=at,
                cancelled_by=by,
                visit_reason_ct=None,
                sequence=a.c.sequence + 1,
            )
        )
        await self.session.execute(
            sa.delete(cell_table).where(cell_table.c.appointment_id.in_(list(appointment_ids)))
        )
        return changed(result)

    # reading appointments

    def _appointments(self) -> sa.Select[Any]:
        """Appointments with their practice, at their site's address and zone when they name
        one (a visit at a second site is there, in that site's local time)."""
        return sa.select(
            a,
            p.c.display_name,
            sa.func.coalesce(site_table.c.address, p.c.address).label("address"),
            sa.func.coalesce(site_table.c.city, p.c.city).label("city"),
            sa.func.coalesce(site_table.c.timezone, p.c.timezone).label("timezone"),
            p.c.cancel_deadline_minutes,
            relative_table.c.full_name.label("relative_name"),
        ).select_from(
            a.join(p, p.c.id == a.c.practitioner_id)
            .outerjoin(relative_table, relative_table.c.id == a.c.relative_id)
            # on the practitioner too: one shard's rows (app/distribution.py)
            .outerjoin(
                site_table,
                sa.and_(
                    site_table.c.practitioner_id == a.c.practitioner_id,
                    site_table.c.id == a.c.site_id,
                ),
            )
        )

    async def appointment(self, appointment_id: uuid.UUID) -> PracticeAppointment | None:
        query = self._appointments().where(a.c.id == appointment_id)
        row: PracticeAppointment | None = (await self.session.execute(query)).one_or_none()
        return row

    async def of_patient(
        self, patient_id: uuid.UUID, now: datetime, *, upcoming: bool, limit: int
    ) -> Sequence[PracticeAppointment]:
        query = self._appointments().where(a.c.patient_id == patient_id)
        if upcoming:
            query = query.where(a.c.end_at > now).order_by(a.c.start_at, a.c.id)
        else:
            query = query.where(a.c.end_at <= now).order_by(a.c.start_at.desc(), a.c.id)
        rows: Sequence[PracticeAppointment] = (await self.session.execute(query.limit(limit))).all()
        return rows

    async def ahead_of_patient(
        self, patient_id: uuid.UUID, now: datetime, *, relative_id: uuid.UUID | None = None
    ) -> Sequence[PracticeAppointment]:
        """The patient's booked appointments that have not started (only one relative's, if
        given): an erasure or a relative's removal never cancels a visit under way."""
        query = self._appointments().where(
            a.c.patient_id == patient_id, a.c.status == BOOKED, a.c.start_at > now
        )
        if relative_id is not None:
            query = query.where(a.c.relative_id == relative_id)
        rows: Sequence[PracticeAppointment] = (await self.session.execute(query)).all()
        return rows

    async def forget_reasons_of_patient(self, patient_id: uuid.UUID) -> None:
        """Every visit reason of the patient's appointments, erased (C7, their account's erasure)."""
        await self.session.execute(
            sa.update(a)
            .where(a.c.patient_id == patient_id, a.c.visit_reason_ct.is_not(None))
            .values(visit_reason_ct=None)
        )

    async def all_of_patient(self, patient_id: uuid.UUID) -> Sequence[PracticeAppointment]:
        """Every appointment the patient has or had, oldest first: the export's (GDPR art. 15)."""
        query = (
            self._appointments().where(a.c.patient_id == patient_id).order_by(a.c.start_at, a.c.id)
        )
        rows: Sequence[PracticeAppointment] = (await self.session.execute(query)).all()
        return rows

    async def agenda(
        self,
        practitioner_id: uuid.UUID,
        start: datetime,
        end: datetime,
        limit: int,
        *,
        count_no_shows: bool = True,
    ) -> Sequence[AgendaRow]:
        """The practice's appointments in the window with whom each is for; ``count_no_shows``
        adds each patient's missed visits here (a subquery per row, which a calendar feed,
        polled again and again, does not show and so does not pay for)."""
        mine = a.alias("no_shows")
        no_shows = (
            sa.select(sa.func.count())
            .where(
                mine.c.practitioner_id == a.c.practitioner_id,
                mine.c.patient_id == a.c.patient_id,
                mine.c.status == AppointmentStatus.NO_SHOW.value,
            )
            .correlate(a)
            .scalar_subquery()
        )
        query = (
            sa.select(
                a,
                # an appointment for a relative is in the relative's name (the holder's phone);
                # one the practice entered for someone without an account, in theirs
                sa.case(
                    (a.c.relative_id.is_not(None), relative_table.c.full_name),
                    (a.c.contact_name.is_not(None), a.c.contact_name),
                    else_=sa.func.coalesce(account_table.c.full_name, ""),
                ).label("full_name"),
                sa.func.coalesce(account_table.c.phone, a.c.contact_phone).label("phone"),
                # the practice's own count (issue #25): never another practice's
                (
                    sa.case((a.c.patient_id.is_(None), 0), else_=no_shows)
                    if count_no_shows
                    else sa.literal(0)
                ).label("no_shows"),
                p.c.timezone,
            )
            .select_from(
                # outer: an anonymised visit has no patient left to join
                a.outerjoin(account_table, account_table.c.id == a.c.patient_id)
                .join(p, p.c.id == a.c.practitioner_id)
                .outerjoin(relative_table, relative_table.c.id == a.c.relative_id)
            )
            .where(
                a.c.practitioner_id == practitioner_id,
                a.c.start_at < end,
                # a past visit keeps its start only (C7): one at the window's start is in it
                sa.or_(a.c.end_at > start, a.c.start_at >= start),
            )
            .order_by(a.c.start_at, a.c.id)
            .limit(limit)
        )
        return (await self.session.execute(query)).all()

    async def booked_between(
        self, practitioner_id: uuid.UUID, start: datetime, end: datetime
    ) -> Sequence[Noticed]:
        """Active appointments overlapping an absence (or all ahead, for a closing), as their
        notices need them: whose relative it is, or the address of someone without an account."""
        query = (
            sa.select(
                a.c.id,
                a.c.patient_id,
                a.c.practitioner_id,
                a.c.start_at,
                a.c.end_at,
                a.c.sequence,
                a.c.contact_email,
                relative_table.c.full_name.label("relative_name"),
            )
            .select_from(a.outerjoin(relative_table, relative_table.c.id == a.c.relative_id))
            .where(
                a.c.practitioner_id == practitioner_id,
                a.c.status == BOOKED,
                a.c.start_at < end,
                a.c.end_at > start,
            )
            .order_by(a.c.start_at)
        )
        return (await self.session.execute(query)).all()

    # a practice's calendar feed (app.booking.feed)

    async def booked_at_site(
        self, practitioner_id: uuid.UUID, site_id: uuid.UUID, now: datetime
    ) -> int:
        """Booked visits of the practice at ``site_id`` that have not ended."""
        query = sa.select(sa.func.count()).where(
            a.c.practitioner_id == practitioner_id,
            a.c.site_id == site_id,
            a.c.status == BOOKED,
            a.c.end_at > now,
        )
        return int((await self.session.execute(query)).scalar_one())

    async def leave_site(self, practitioner_id: uuid.UUID, site_id: uuid.UUID | None) -> None:
        """The practice's visits at ``site_id`` (at any site: ``None``) are told at its main
        address from now on, the site being removed: what ON DELETE SET NULL did before the key
        named the practitioner (migration f7a9c1e3b5d7)."""
        query = sa.update(a).where(a.c.practitioner_id == practitioner_id, a.c.site_id.is_not(None))
        if site_id is not None:
            query = query.where(a.c.site_id == site_id)
        await self.session.execute(query.values(site_id=None))

    # the waiting list (``app.booking.holds``, ``app.booking.waitlist``)

    async def add_entry(self, entry: dict[str, Any]) -> bool:
        """Insert the entry unless the patient already waits for that practitioner (a concurrent
        request included: the unique index decides); whether it was inserted."""
        dialect = self.session.get_bind().dialect.name
        statement = (
            insert_for(dialect, waitlist_table)
            .values(entry)
            .on_conflict_do_nothing()
            .returning(waitlist_table.c.id)
        )
        return (await self.session.execute(statement)).first() is not None

    async def entries_of(self, patient_id: uuid.UUID) -> Sequence[WaitlistRow]:
        """The patient's entries, each with its pending offer (if any) and practice's name."""
        w, o = waitlist_table, offer_table
        pending = sa.and_(o.c.entry_id == w.c.id, o.c.pending.is_(True))
        query = (
            sa.select(
                w,
                p.c.display_name,
                o.c.id.label("offer_id"),
                o.c.start_at.label("offer_start"),
                o.c.end_at.label("offer_end"),
                o.c.site_id.label("offer_site_id"),
                o.c.hold_until,
                # the offer's time in its site's zone, as its mail tells it
                sa.func.coalesce(site_table.c.timezone, p.c.timezone).label("timezone"),
            )
            .select_from(
                w.join(p, p.c.id == w.c.practitioner_id)
                .outerjoin(o, pending)
                .outerjoin(site_table, site_table.c.id == o.c.site_id)
            )
            .where(w.c.patient_id == patient_id, ~ended_by_booking())
            .order_by(w.c.created_at, w.c.id)
        )
        rows: Sequence[WaitlistRow] = (await self.session.execute(query)).all()
        return rows

    async def count_entries(self, patient_id: uuid.UUID) -> int:
        query = sa.select(sa.func.count()).where(
            waitlist_table.c.patient_id == patient_id, ~ended_by_booking()
        )
        return int((await self.session.execute(query)).scalar_one())

    async def waiting(self, practitioner_id: uuid.UUID, now: datetime) -> Sequence[Any]:
        """The practitioner's entries waiting for an offer, in order of request; locked
        (FOR UPDATE on PostgreSQL) so that two passes never offer one entry twice. An entry
        whose patient has booked that practitioner since it was made has ended
        (``ended_by_booking``)."""
        w = waitlist_table
        query = (
            sa.select(w.c.id, w.c.patient_id, w.c.visit_reason_ct, w.c.before_at)
            .where(
                w.c.practitioner_id == practitioner_id,
                w.c.status == WaitlistStatus.WAITING.value,
                w.c.before_at > now,
                ~ended_by_booking(),
            )
            .order_by(w.c.created_at, w.c.id)
            .limit(500)
            .with_for_update()
        )
        return (await self.session.execute(query)).all()

    async def holds_between(
        self, practitioner_id: uuid.UUID, start: datetime, end: datetime, now: datetime
    ) -> Sequence[Any]:
        """The slots the waiting list holds in ``[start, end)`` at ``now``, as ``_busy`` counts
        them: their times, site and end of hold, never the entry or whom it is for."""
        o = offer_table
        query = (
            sa.select(o.c.start_at, o.c.end_at, o.c.site_id, o.c.hold_until)
            .where(
                o.c.practitioner_id == practitioner_id,
                o.c.pending.is_(True),
                o.c.hold_until > now,
                o.c.start_at < end,
                o.c.end_at > start,
            )
            .order_by(o.c.start_at)
        )
        return (await self.session.execute(query)).all()

    async def offered_starts(self, entry_id: uuid.UUID) -> set[datetime]:
        query = sa.select(offer_table.c.start_at).where(offer_table.c.entry_id == entry_id)
        return set((await self.session.execute(query)).scalars().all())

    async def add_offer(self, offer: dict[str, Any]) -> None:
        await self.session.execute(sa.insert(offer_table), offer)
        await self.session.execute(
            sa.update(waitlist_table)
            .where(waitlist_table.c.id == offer["entry_id"])
            .values(status=WaitlistStatus.OFFERED.value)
        )

    async def offer_of(self, entry_id: uuid.UUID, patient_id: uuid.UUID) -> Any | None:
        """The patient's entry with its pending offer (None if not theirs), locked for a claim."""
        w, o = waitlist_table, offer_table
        pending = sa.and_(o.c.entry_id == w.c.id, o.c.pending.is_(True))
        query = (
            sa.select(
                w.c.id,
                w.c.practitioner_id,
                w.c.visit_reason_ct,
                o.c.id.label("offer_id"),
                o.c.start_at,
                o.c.hold_until,
            )
            .select_from(w.outerjoin(o, pending))
            .where(w.c.id == entry_id, w.c.patient_id == patient_id, ~ended_by_booking())
            .with_for_update(of=w)
        )
        return (await self.session.execute(query)).one_or_none()

    async def lapse_offers(self, now: datetime) -> Sequence[Any]:
        """Pending offers whose hold has ended: no longer pending, their entries waiting again.
        The entries are locked first, then the offers, as a claim and ``offer_freed`` lock them
        (one order on PostgreSQL: no deadlock between a late claim and this job)."""
        w, o = waitlist_table, offer_table
        lapsing = sa.and_(o.c.entry_id == w.c.id, o.c.pending.is_(True), o.c.hold_until <= now)
        entries = (
            (
                await self.session.execute(
                    sa.select(w.c.id).where(sa.exists().where(lapsing)).with_for_update()
                )
            )
            .scalars()
            .all()
        )
        if not entries:
            return []
        due = (
            await self.session.execute(
                sa.select(
                    o.c.id,
                    o.c.entry_id,
                    o.c.practitioner_id,
                    o.c.start_at,
                    o.c.end_at,
                    w.c.patient_id,
                )  # fmt: skip
                .select_from(o.join(w, w.c.id == o.c.entry_id))
                .where(w.c.id.in_(entries), o.c.pending.is_(True), o.c.hold_until <= now)
                .order_by(o.c.hold_until, o.c.id)
            )
        ).all()
        await self.session.execute(
            sa.update(o).where(o.c.id.in_([d.id for d in due])).values(pending=False)
        )
        await self.session.execute(
            sa.update(w).where(w.c.id.in_(entries)).values(status=WaitlistStatus.WAITING.value)
        )
        return due

    async def end_entries(
        self, patient_id: uuid.UUID, practitioner_id: uuid.UUID, entry_ids: Sequence[uuid.UUID]
    ) -> list[tuple[datetime, datetime]]:
        """Delete the patient's entries with the practitioner (or only ``entry_ids``); the times
        their pending offers held, to offer again."""
        w, o = waitlist_table, offer_table
        which = [w.c.patient_id == patient_id, w.c.practitioner_id == practitioner_id]
        if entry_ids:
            which.append(w.c.id.in_(list(entry_ids)))
        held = (
            await self.session.execute(
                sa.select(o.c.start_at, o.c.end_at)
                .select_from(o.join(w, w.c.id == o.c.entry_id))
                .where(*which, o.c.pending.is_(True), o.c.hold_until > clock.now())
            )
        ).all()
        await self.session.execute(sa.delete(w).where(*which))
        return [(row.start_at, row.end_at) for row in held]

    async def waited_practitioners(self, patient_id: uuid.UUID) -> list[uuid.UUID]:
        w = waitlist_table
        query = sa.select(w.c.practitioner_id).where(w.c.patient_id == patient_id).distinct()
        return list((await self.session.execute(query)).scalars().all())

    async def end_waitlist_of_practice(self, practitioner_id: uuid.UUID) -> list[uuid.UUID]:
        """A closing practice's waiting list goes with it (C12); the patients who were waiting."""
        w = waitlist_table
        result = await self.session.execute(
            sa.delete(w).where(w.c.practitioner_id == practitioner_id).returning(w.c.patient_id)
        )
        return list(dict.fromkeys(result.scalars().all()))

    async def end_stale_entries(self, now: datetime) -> list[tuple[uuid.UUID, datetime, datetime]]:
        """Delete the entries past their date and those ended by a booking; the practitioner and
        time of each slot one of them still held, to offer again."""
        w, o = waitlist_table, offer_table
        stale = sa.or_(w.c.before_at <= now, ended_by_booking())
        held = (
            await self.session.execute(
                sa.select(o.c.practitioner_id, o.c.start_at, o.c.end_at)
                .select_from(o.join(w, w.c.id == o.c.entry_id))
                .where(stale, o.c.pending.is_(True), o.c.hold_until > now)
            )
        ).all()
        await self.session.execute(sa.delete(w).where(stale))
        return [(row.practitioner_id, row.start_at, row.end_at) for row in held]

    async def drop_ended(self, patient_id: uuid.UUID, practitioner_id: uuid.UUID) -> None:
        """Delete the patient's entry with the practitioner if a booking ended it (a new request
        takes its place: one per practitioner, ``uq_waitlist_patient_practitioner``)."""
        w = waitlist_table
        await self.session.execute(
            sa.delete(w).where(
                w.c.patient_id == patient_id,
                w.c.practitioner_id == practitioner_id,
                ended_by_booking(),
            )
        )

    async def set_feed(self, practice_id: uuid.UUID, token_hash: str, at: datetime) -> None:
        """The practice's feed is now this token's; the one before stops at once."""
        await self.session.execute(
            sa.delete(feed_table).where(feed_table.c.practice_id == practice_id)
        )
        await self.session.execute(
            sa.insert(feed_table).values(
                practice_id=practice_id, token_hash=token_hash, created_at=at
            )
        )

    async def feed_created_at(self, practice_id: uuid.UUID) -> datetime | None:
        """When the practice's live feed was made, or None if it has none."""
        found: datetime | None = (
            await self.session.execute(
                sa.select(feed_table.c.created_at).where(feed_table.c.practice_id == practice_id)
            )
        ).scalar_one_or_none()
        return found

    async def drop_feed(self, practice_id: uuid.UUID) -> int:
        return changed(
            await self.session.execute(
                sa.delete(feed_table).where(feed_table.c.practice_id == practice_id)
            )
        )

    async def feed_practice(self, token_hash: str) -> Any | None:
        """The practice a live feed token names (``practice_id``), if it is listed or at least
        not closed, with its practitioner's ``language`` (the feed's titles are in it)."""
        query = (
            sa.select(feed_table.c.practice_id, account_table.c.language)
            .select_from(
                feed_table.join(p, p.c.id == feed_table.c.practice_id).join(
                    account_table, account_table.c.id == p.c.id
                )
            )
            .where(feed_table.c.token_hash == token_hash, p.c.closed_at.is_(None))
        )
        return (await self.session.execute(query)).one_or_none()

    async def language_of(self, account_id: uuid.UUID) -> str:
        """An account's language for what erdv writes to it (``fr`` if it is gone)."""
        query = sa.select(account_table.c.language).where(account_table.c.id == account_id)
        found: str | None = (await self.session.execute(query)).scalar_one_or_none()
        return found or "fr"

    # the practice's desk (app.booking.desk)

    async def is_patient_of(self, practice_id: uuid.UUID, patient_id: uuid.UUID) -> bool:
        """A live patient account that has had a visit with the practice, booked by any channel
        and whatever became of it: the patients ``known_patients`` finds, and no one else."""
        seen = sa.select(a.c.id).where(
            a.c.practitioner_id == practice_id, a.c.patient_id == patient_id
        )
        query = sa.select(account_table.c.id).where(
            account_table.c.id == patient_id,
            account_table.c.role == "patient",
            account_table.c.status == "active",
            seen.exists(),
        )
        return (await self.session.execute(query)).first() is not None

    async def known_patients(
        self, practice_id: uuid.UUID, text: str, *, limit: int
    ) -> Sequence[Any]:
        """(id, full_name, phone) of the practice's own patients whose name contains ``text``
        (case-insensitive), by name."""
        seen = sa.select(a.c.patient_id).where(
            a.c.practitioner_id == practice_id, a.c.patient_id.is_not(None)
        )
        pattern = "%" + text.strip().lower().replace("%", "").replace("_", "") + "%"
        query = (
            sa.select(account_table.c.id, account_table.c.full_name, account_table.c.phone)
            .where(
                account_table.c.id.in_(seen.scalar_subquery()),
                account_table.c.status == "active",
                sa.func.lower(account_table.c.full_name).like(pattern),
            )
            .order_by(account_table.c.full_name, account_table.c.id)
            .limit(limit)
        )
        return (await self.session.execute(query)).all()

    async def set_outcome(self, appointment_id: uuid.UUID, outcome: str) -> bool:
        """Booked, completed or no-show → ``outcome``; its cells go (a visit that has started
        holds no time any more), its visit reason too (C7: the visit is over)."""
        result = await self.session.execute(
            sa.update(a)
            .where(
                a.c.id == appointment_id,
                a.c.status.in_(
                    [
                        AppointmentStatus.BOOKED.value,
                        AppointmentStatus.COMPLETED.value,
                        AppointmentStatus.NO_SHOW.value,
                    ]
                ),
            )
            .values(status=outcome, visit_reason_ct=None)
        )
        await self.session.execute(
            sa.delete(cell_table).where(cell_table.c.appointment_id == appointment_id)
        )
        return changed(result) == 1

    async def closed_and_kept(self, practice_id: uuid.UUID) -> bool:
        """The practice is closed and its kept data not yet deleted (``app.booking.closing``)."""
        found = await self.session.execute(
            sa.select(p.c.id).where(
                p.c.id == practice_id, p.c.closed_at.is_not(None), p.c.purged_at.is_(None)
            )
        )
        return found.first() is not None

    async def suspended_practitioner(self, practice_id: uuid.UUID) -> bool:
        """The practice's practitioner account is suspended by an admin (it cannot sign in)."""
        found = await self.session.execute(
            sa.select(account_table.c.id).where(
                account_table.c.id == practice_id,
                account_table.c.role == "practitioner",
                account_table.c.status == "suspended",
            )
        )
        return found.first() is not None

    async def export_rows(self, practitioner_id: uuid.UUID) -> tuple[Any, Sequence[Any]]:
        """The practice with its RPPS, and every appointment with the patient's contact details
        (and the relative's name, for a visit booked for one)."""
        practice = (
            await self.session.execute(
                sa.select(*PROFILE_COLUMNS)
                .select_from(p.join(account_table, account_table.c.id == p.c.id))
                .where(p.c.id == practitioner_id)
            )
        ).one_or_none()
        rows = (
            await self.session.execute(
                sa.select(
                    a.c.id,
                    a.c.patient_id,
                    a.c.start_at,
                    a.c.end_at,
                    a.c.status,
                    a.c.created_at,
                    a.c.relative_id,
                    account_table.c.full_name,
                    account_table.c.phone,
                    account_table.c.email,
                    # an erased account names nobody: its past visits export without a patient
                    (account_table.c.status == "deleted").label("erased"),
                    a.c.contact_name,
                    a.c.contact_phone,
                    a.c.contact_email,
                    relative_table.c.full_name.label("relative_name"),
                )
                .select_from(
                    a.outerjoin(account_table, account_table.c.id == a.c.patient_id).outerjoin(
                        relative_table, relative_table.c.id == a.c.relative_id
                    )
                )
                .where(a.c.practitioner_id == practitioner_id)
                .order_by(a.c.start_at, a.c.id)
            )
        ).all()
        return practice, rows

    # retention

    async def erase_visit_reasons(self, ended_before: datetime) -> int:
        """C7: erase every visit reason whose appointment ended before the bound or was cancelled."""
        result = await self.session.execute(
            sa.update(a)
            .where(
                a.c.visit_reason_ct.is_not(None),
                sa.or_(a.c.end_at <= ended_before, a.c.status != BOOKED),
            )
            .values(visit_reason_ct=None)
        )
        return changed(result)

    async def count_kept_visit_reasons(self, ended_before: datetime) -> int:
        """How many visit reasons outlived their appointment (the compliance report, C7)."""
        result = await self.session.execute(
            sa.select(sa.func.count())
            .select_from(a)
            .where(
                a.c.visit_reason_ct.is_not(None),
                sa.or_(a.c.end_at <= ended_before, a.c.status != BOOKED),
            )
        )
        return int(result.scalar_one())

    async def forget_lengths(self, ended_before: datetime) -> int:
        """C7: every visit that ended before the bound keeps its start only (``end_at`` set to
        ``start_at``) and gives up its cells (no booking can land in the past): its length
        named its reason whenever a practice's reasons differ in length."""
        ended = sa.select(a.c.id).where(a.c.end_at <= ended_before, a.c.end_at != a.c.start_at)
        await self.session.execute(
            sa.delete(cell_table).where(cell_table.c.appointment_id.in_(ended.scalar_subquery()))
        )
        result = await self.session.execute(
            sa.update(a)
            .where(a.c.end_at <= ended_before, a.c.end_at != a.c.start_at)
            .values(end_at=a.c.start_at)
        )
        return changed(result)

    async def count_kept_lengths(self, ended_before: datetime) -> int:
        """Visits that ended before the bound and still have a length or cells (C7's report)."""
        lengths = await self.session.execute(
            sa.select(sa.func.count())
            .select_from(a)
            .where(a.c.end_at <= ended_before, a.c.end_at != a.c.start_at)
        )
        cells = await self.session.execute(
            sa.select(sa.func.count())
            .select_from(cell_table.join(a, a.c.id == cell_table.c.appointment_id))
            .where(a.c.end_at <= ended_before)
        )
        return int(lengths.scalar_one()) + int(cells.scalar_one())

    async def anonymise_inactive(self, bound: datetime) -> int:
        """The past appointments of every patient whose last activity (their account's creation,
        their last booking, their last visit) is older than ``bound`` lose their patient and
        relative: the practice keeps when it saw someone, never whom (the privacy notice's
        3 years). Future appointments are never touched: a booking is activity.

        ``NOT EXISTS``, not ``NOT IN (subquery)``: PostgreSQL runs ``NOT IN`` as a hashed subplan
        only while the whole active set fits in ``work_mem``, and otherwise rescans that set for
        every old appointment (quadratic: at a national scale the job would never end, and no
        appointment would ever be anonymised). An anti-join probes the patient's index, or spills
        to disk, instead (``tests/booking/test_appointment_retention.py`` holds the plan)."""
        other = a.alias("activity")
        active = sa.exists().where(
            other.c.patient_id == a.c.patient_id,
            sa.or_(other.c.created_at > bound, other.c.end_at > bound),
        )
        recent = sa.exists().where(
            account_table.c.id == a.c.patient_id, account_table.c.created_at > bound
        )
        result = await self.session.execute(
            sa.update(a)
            .where(a.c.patient_id.is_not(None), a.c.end_at <= bound, ~active, ~recent)
            .values(patient_id=None, relative_id=None)
        )
        # someone the practice booked for without an account: nothing tells their activity, so
        # each visit's own date counts
        walk_ins = await self.session.execute(
            sa.update(a)
            .where(a.c.contact_name.is_not(None), a.c.end_at <= bound)
            .values(contact_name=None, contact_phone=None, contact_email=None)
        )
        return changed(result) + changed(walk_ins)

    async def forget_unkept_visits(self, practitioner_id: uuid.UUID) -> int:
        """A closed practice's appointments that no patient keeps in their history (anonymised
        ones; later, those a practice entered for someone without an account) are deleted."""
        unkept = sa.and_(a.c.practitioner_id == practitioner_id, a.c.patient_id.is_(None))
        await self.session.execute(
            sa.delete(cell_table).where(
                cell_table.c.appointment_id.in_(sa.select(a.c.id).where(unkept))
            )
        )
        return changed(await self.session.execute(sa.delete(a).where(unkept)))

    async def forget_idempotency_keys_of(self, account_id: uuid.UUID) -> int:
        result = await self.session.execute(
            sa.delete(idempotency_table).where(idempotency_table.c.account_id == account_id)
        )
        return changed(result)

    async def forget_idempotency_keys(self, before: datetime) -> int:
        result = await self.session.execute(
            sa.delete(idempotency_table).where(idempotency_table.c.created_at < before)
        )
        return changed(result)
