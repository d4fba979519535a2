"""The directory (public): search, profiles and free slots (charter C13: neutral order, never paid)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from app.booking.availability import free_in
from app.booking.base import BookingBase
from app.booking.errors import (
    InvalidQuery,
    PractitionerNotFound,
    query_window,
)
from app.booking.rows import Profile
from app.booking.statements import LONGEST_VISIT, ReasonRow
from app.booking.views import (
    NEXT_SLOT_FIRST_SPAN,
    Page,
    ProfileView,
    SiteView,
    VisitReasonView,
    decode_cursor,
    encode_cursor,
)
from app.core import clock
from app.practice import professions
from app.practice.profile import directory_url, search_key, titles_of
from app.schedule.model import MAX_WINDOW, Window
from app.schedule.slots import FreeSlots


class DirectoryService(BookingBase):
    """Search, profiles and free slots: the public reads (no personal data)."""

    async def search(
        self,
        *,
        profession: str | None,
        specialty: str | None,
        city: str | None,
        q: str | None,
        limit: int,
        cursor: str | None,
        slots_days: int | None = None,
        postcode: str | None = None,
    ) -> Page:
        """C13: profession and specialty filter by exact id; the order is alphabetical by name
        (accents and case ignored), then id: neutral, the same for everyone, never paid for.

        With ``slots_days``, each result carries its free slots from now on for that many days: the
        result page a patient scans, in one request and one more statement (every practitioner's
        busy time at once) rather than one slot request per result."""
        if profession is not None and professions.profession(profession) is None:
            raise InvalidQuery(
                f"Unknown profession {profession!r}; see GET /api/v1/professions.",
                errors=[{"field": "profession", "message": "unknown profession"}],
            )
        if specialty is not None:
            owner = professions.SPECIALTY_PROFESSION.get(specialty)
            if owner is None or (profession is not None and owner != profession):
                raise InvalidQuery(
                    f"{specialty!r} is not a specialty of the chosen profession.",
                    errors=[{"field": "specialty", "message": "unknown specialty"}],
                )
        rows = await self.repository.search(
            profession=profession,
            specialty=specialty,
            city_key=search_key(city) if city else None,
            name=search_key(q) if q else None,
            after=decode_cursor(cursor) if cursor else None,
            limit=limit + 1,
            postcode=_postcode_prefix(postcode) if postcode else None,
        )
        more = len(rows) > limit
        rows = rows[:limit]
        ids = [r.id for r in rows]
        reasons = await self.repository.visit_reasons(ids) if rows else []
        sites = await self.repository.sites_of(ids) if rows else []
        items = self._profiles(rows, reasons, sites)
        now = clock.now()
        durations: dict[uuid.UUID, dict[str, int]] = {}
        for reason in reasons:
            durations.setdefault(reason.practitioner_id, {})[str(reason.id)] = (
                reason.duration_minutes
            )
        laid: dict[uuid.UUID, FreeSlots] = {}
        laid_until = now
        if slots_days is not None and rows:
            window = Window(now, now + timedelta(days=slots_days))
            busy = await self.repository.busy_of_many(
                [r.id for r in rows], window.start, window.end + LONGEST_VISIT
            )
            laid = {
                row.id: free_in(row, durations.get(row.id, {}), busy[row.id], window, now, None)
                for row in rows
            }
            laid_until = window.end
        first = await self._next_slots(rows, durations, now, laid, laid_until)
        items = [
            dataclasses.replace(item, slots=laid.get(item.id), next_slot=first[item.id])
            for item in items
        ]
        last = rows[-1] if more and rows else None
        return Page(items, encode_cursor(last.search_name, last.id) if last else None)

    async def _next_slots(
        self,
        rows: Sequence[Profile],
        durations: dict[uuid.UUID, dict[str, int]],
        now: datetime,
        laid: dict[uuid.UUID, FreeSlots],
        laid_until: datetime,
    ) -> dict[uuid.UUID, FreeSlots]:
        """Each result's earliest bookable slot, in a few statements for the whole page.

        Slots already ``laid`` from now until ``laid_until`` (a search that asked for them) give
        it at no cost. Otherwise the first week is searched for every result at once (one
        statement for all their busy time); only results with nothing free so far are searched
        further, a window at a time, until their booking horizon: a full agenda costs more
        statements, never one per result. Days are laid only up to the first free one
        (``earliest_only``).
        """
        found = {row.id: FreeSlots([]) for row in rows}
        pending = []
        for row in rows:
            known = laid.get(row.id)
            if known:
                found[row.id] = FreeSlots(known.rows[:1])
            elif durations.get(row.id) and laid_until < now + timedelta(days=row.max_horizon_days):
                pending.append(row)
        start = laid_until
        span = NEXT_SLOT_FIRST_SPAN if start == now else MAX_WINDOW
        while pending:
            window = Window(start, start + span)
            busy = await self.repository.busy_of_many(
                [row.id for row in pending], window.start, window.end + LONGEST_VISIT
            )
            later = []
            for row in pending:
                free = free_in(
                    row, durations[row.id], busy[row.id], window, now, None, earliest_only=True
                )
                if free.rows:
                    found[row.id] = FreeSlots(free.rows[:1])
                elif window.end < now + timedelta(days=row.max_horizon_days):
                    later.append(row)
            pending, start, span = later, window.end, MAX_WINDOW
        return found

    def _profiles(
        self, rows: Sequence[Profile], reasons: Sequence[ReasonRow], sites: Sequence[Any]
    ) -> list[ProfileView]:
        places: dict[uuid.UUID, list[SiteView]] = {}
        for s in sites:
            places.setdefault(s.practitioner_id, []).append(
                SiteView(s.id, s.label, s.address, s.city, s.postcode, s.timezone)
            )
        by_practice: dict[uuid.UUID, list[VisitReasonView]] = {}
        for r in reasons:
            by_practice.setdefault(r.practitioner_id, []).append(
                VisitReasonView(r.id, r.label, r.duration_minutes, r.new_patients, r.generic)
            )
        return [
            ProfileView(
                id=row.id,
                display_name=row.display_name,
                profession=row.profession,
                specialty=row.specialty,
                city=row.city,
                address=row.address,
                timezone=row.timezone,
                convention_sector=row.convention_sector,
                fees=row.fees,
                titles=titles_of(row.titles),
                practice_mode=row.practice_mode,
                directory_url=directory_url(row.rpps),
                visit_reasons=by_practice.get(row.id, []),
                sites=places.get(row.id, []),
                booking_rules={
                    "min_notice_minutes": row.min_notice_minutes,
                    "max_horizon_days": row.max_horizon_days,
                    "cancel_deadline_minutes": row.cancel_deadline_minutes,
                },
            )
            for row in rows
        ]

    async def profile(self, practitioner_id: uuid.UUID) -> ProfileView:
        row, reasons = await self.repository.profile_and_reasons(practitioner_id)
        if row is None:
            raise PractitionerNotFound()
        return self._profiles([row], reasons, await self.repository.sites_of([row.id]))[0]

    async def zone_and_reasons(self, practitioner_id: uuid.UUID) -> tuple[str, dict[str, str]]:
        """A listed practice's time zone and its active visit reasons' labels by id, in one
        statement (a FHIR Slot search needs no more of the profile: ``app.fhir.service``); 404
        otherwise."""
        row, reasons = await self.repository.profile_and_reasons(practitioner_id)
        if row is None:
            raise PractitionerNotFound()
        return str(row.timezone), {str(r.id): r.label for r in reasons}

    async def site(self, site_id: uuid.UUID) -> tuple[SiteView, ProfileView]:
        """A listed practice's site, and that practice's profile; 404 otherwise (a site of a
        practice that is not listed is as unknown as its profile)."""
        owner = await self.repository.practice_of_site(site_id)
        if owner is None:
            raise PractitionerNotFound()
        profile = await self.profile(owner)
        return next(s for s in profile.sites if s.id == site_id), profile

    async def slots(
        self,
        practitioner_id: uuid.UUID,
        start: datetime | None,
        end: datetime | None,
        visit_reason_id: uuid.UUID | None,
    ) -> FreeSlots:
        """Free, bookable-now slots starting in ``[start, end)`` (at most 31 days; default a week
        from now): one statement, whatever the agenda holds."""
        now = clock.now()
        start = start or now
        end = end or start + timedelta(days=7)
        window = query_window(start, end)
        inputs = await self.repository.slot_inputs(practitioner_id, start, end + LONGEST_VISIT)
        if inputs is None:
            raise PractitionerNotFound()
        return free_in(
            inputs.practice,
            inputs.durations,
            inputs.busy,
            window,
            now,
            str(visit_reason_id) if visit_reason_id else None,
        )


def _postcode_prefix(postcode: str) -> str:
    """A French postcode (five digits: exact) or a department (two digits, three overseas:
    a prefix); Corsica's 2A and 2B are postcodes 20xxx. 422 ``validation_error`` otherwise."""
    code = postcode.strip().upper()
    if code in ("2A", "2B"):
        return "20"
    if code.isdigit() and len(code) in (2, 3, 5) and code.isascii():
        return code
    raise InvalidQuery(
        "postcode is a five-digit postcode or a department number (75, 2A, 974).",
        errors=[{"field": "postcode", "message": "not a postcode or department"}],
    )
