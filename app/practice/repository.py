"""SQL for practices, visit reasons and absences."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Account, Role
from app.core.repository import changed, table_of
from app.practice.models import (
    Absence,
    Practice,
    Site,
    VisitReason,
    absence_table,
    listed_clause,
    practice_table,
    site_table,
    visit_reason_table,
)

account_table = table_of(Account)
_with_account = practice_table.join(account_table, account_table.c.id == practice_table.c.id)


class PracticeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _insert(self) -> Any:
        dialect = self.session.get_bind().dialect.name
        return postgresql.insert if dialect == "postgresql" else sqlite.insert

    async def listed_directory_entries(self) -> Sequence[Any]:
        """(profession, specialty, rpps, closed_at) of every listed practice (the compliance
        report)."""
        query = (
            sa.select(
                practice_table.c.profession,
                practice_table.c.specialty,
                account_table.c.rpps,
                practice_table.c.closed_at,
            )
            .select_from(_with_account)
            .where(listed_clause())
        )
        return (await self.session.execute(query)).all()

    async def asking_and_generic(self) -> int:
        """Practices that offer their generic reason beside other active reasons (C6: a
        practice asks a reason, or asks none with one generic reason alone)."""
        v, other = visit_reason_table, visit_reason_table.alias("other_reason")
        query = sa.select(sa.func.count(sa.distinct(v.c.practitioner_id))).where(
            v.c.generic.is_(True),
            v.c.active.is_(True),
            sa.exists().where(
                other.c.practitioner_id == v.c.practitioner_id,
                other.c.active.is_(True),
                other.c.id != v.c.id,
            ),
        )
        return int((await self.session.execute(query)).scalar_one())

    async def add_missing(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert practice rows, leaving alone any created meanwhile (ON CONFLICT DO NOTHING)."""
        if rows:
            statement = self._insert()(practice_table).values(list(rows))
            await self.session.execute(statement.on_conflict_do_nothing(index_elements=["id"]))

    async def practitioners_without_practice(
        self, account_id: uuid.UUID | None = None
    ) -> Sequence[Any]:
        """Verified practitioner accounts that have no practice row yet."""
        a = account_table
        query = sa.select(a.c.id, a.c.full_name).where(
            a.c.role == Role.PRACTITIONER.value,
            a.c.email_verified_at.is_not(None),
            ~sa.exists().where(practice_table.c.id == a.c.id),
        )
        if account_id is not None:
            query = query.where(a.c.id == account_id)
        return (await self.session.execute(query)).all()

    async def get(self, practice_id: uuid.UUID, *, lock: bool = False) -> Practice | None:
        # populate_existing: Core UPDATEs below bypass the identity map; always read the row afresh
        query = (
            sa.select(Practice)
            .where(practice_table.c.id == practice_id)
            .execution_options(populate_existing=True)
        )
        if lock:
            # serialises absences and hour changes against bookings (which take FOR SHARE)
            query = query.with_for_update()
        return (await self.session.execute(query)).scalar_one_or_none()

    async def with_listing(
        self, practice_id: uuid.UUID
    ) -> tuple[Practice, bool, str | None] | None:
        """The practice, whether it is listed, and the account's RPPS number."""
        query = (
            sa.select(Practice, listed_clause().label("listed"), account_table.c.rpps)
            .select_from(_with_account)
            .where(practice_table.c.id == practice_id)
            .execution_options(populate_existing=True)
        )
        row = (await self.session.execute(query)).one_or_none()
        return None if row is None else (row[0], bool(row[1]), row[2])

    async def admin_list(self, status: str | None) -> Sequence[Any]:
        query = (
            sa.select(Practice, listed_clause().label("listed"), account_table.c.rpps)
            .select_from(_with_account)
            .execution_options(populate_existing=True)
            .order_by(practice_table.c.created_at, practice_table.c.id)
        )
        if status is not None:
            query = query.where(practice_table.c.status == status)
        return (await self.session.execute(query)).all()

    async def update(self, practice_id: uuid.UUID, **values: Any) -> None:
        await self.session.execute(
            sa.update(practice_table).where(practice_table.c.id == practice_id).values(**values)
        )

    # closing (C12)

    async def closed_before(self, bound: datetime) -> Sequence[uuid.UUID]:
        """Practices closed before ``bound`` whose kept data has not been deleted yet."""
        query = sa.select(practice_table.c.id).where(
            practice_table.c.closed_at <= bound, practice_table.c.purged_at.is_(None)
        )
        return (await self.session.execute(query)).scalars().all()

    async def purged(self) -> Sequence[uuid.UUID]:
        """Closed practices whose kept data already went (their visits anonymised since go too)."""
        query = sa.select(practice_table.c.id).where(practice_table.c.purged_at.is_not(None))
        return (await self.session.execute(query)).scalars().all()

    async def strip_closed(self, practice_id: uuid.UUID, at: datetime) -> None:
        """What the platform kept for a closed practice goes: its absences, opening hours, visit
        reason list, place, fees and titles. Its name, profession and specialty stay: they are
        what each patient's own history of their visits there shows."""
        await self.session.execute(
            sa.delete(absence_table).where(absence_table.c.practitioner_id == practice_id)
        )
        # the visits kept for patients let go of their sites first (``app.booking.closing``)
        await self.session.execute(
            sa.delete(site_table).where(site_table.c.practitioner_id == practice_id)
        )
        # nothing points at a visit reason (appointments keep theirs encrypted, C7)
        await self.session.execute(
            sa.delete(visit_reason_table).where(visit_reason_table.c.practitioner_id == practice_id)
        )
        await self.update(
            practice_id,
            address="",
            city="",
            city_key="",
            fees="",
            titles="[]",
            practice_mode=None,
            convention_sector=None,
            weekly="[]",
            overrides="{}",
            site_zones="{}",
            purged_at=at,
            updated_at=at,
        )

    # visit reasons

    async def visit_reasons(self, practice_id: uuid.UUID) -> Sequence[VisitReason]:
        query = (
            sa.select(VisitReason)
            .where(
                visit_reason_table.c.practitioner_id == practice_id,
                visit_reason_table.c.active.is_(True),
            )
            .order_by(visit_reason_table.c.created_at, visit_reason_table.c.id)
        )
        return (await self.session.execute(query)).scalars().all()

    async def add_visit_reason(self, reason: VisitReason) -> None:
        self.session.add(reason)
        await self.session.flush()

    async def retire_visit_reason(self, practice_id: uuid.UUID, reason_id: uuid.UUID) -> bool:
        result = await self.session.execute(
            sa.update(visit_reason_table)
            .where(
                visit_reason_table.c.id == reason_id,
                visit_reason_table.c.practitioner_id == practice_id,
                visit_reason_table.c.active.is_(True),
            )
            .values(active=False)
        )
        return changed(result) > 0

    # absences

    async def absences(self, practice_id: uuid.UUID, ending_after: datetime) -> Sequence[Absence]:
        query = (
            sa.select(Absence)
            .where(
                absence_table.c.practitioner_id == practice_id,
                absence_table.c.end_at > ending_after,
            )
            .order_by(absence_table.c.start_at, absence_table.c.id)
            .limit(500)
        )
        return (await self.session.execute(query)).scalars().all()

    async def add_absence(self, absence: Absence) -> None:
        self.session.add(absence)
        await self.session.flush()

    async def delete_absence(
        self, practice_id: uuid.UUID, absence_id: uuid.UUID
    ) -> tuple[datetime, datetime] | None:
        """Delete the absence; the time it held, or None if the practice has no such absence."""
        found = (
            await self.session.execute(
                sa.delete(absence_table)
                .where(
                    absence_table.c.id == absence_id,
                    absence_table.c.practitioner_id == practice_id,
                )
                .returning(absence_table.c.start_at, absence_table.c.end_at)
            )
        ).first()
        return (found.start_at, found.end_at) if found else None

    # sites

    async def sites(self, practice_id: uuid.UUID) -> Sequence[Site]:
        """The practice's sites, the main (oldest) one first."""
        query = (
            sa.select(Site)
            .where(site_table.c.practitioner_id == practice_id)
            .order_by(site_table.c.created_at, site_table.c.id)
        )
        return (await self.session.execute(query)).scalars().all()

    async def add_site(self, site: Site) -> None:
        self.session.add(site)
        await self.session.flush()

    async def update_site(self, site_id: uuid.UUID, **values: Any) -> None:
        await self.session.execute(
            sa.update(site_table).where(site_table.c.id == site_id).values(**values)
        )

    async def delete_site(self, site_id: uuid.UUID) -> None:
        await self.session.execute(sa.delete(site_table).where(site_table.c.id == site_id))
