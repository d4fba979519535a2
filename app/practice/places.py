"""Where and when a practice receives beyond its weekly pattern: its sites and its date overrides
(API "Sites, date overrides and waiting list", issue #26).

**Sites.** A practice has sites (label, address, city, postcode, time zone). Each opening block
names one, and so does each slot and each visit booked in it: the patient is told the right
address, in that site's local time. The oldest site is the *main* one, and the practice row's
``address``, ``city`` and ``timezone`` (the v1 profile, ``PUT /me/practice``) are its copy: editing
either edits both, so a v1 client and a sites-aware one see one practice. ``practice.site_zones``
is the engine's copy of every site's zone, written here with the sites, so that a slot list still
reads the practice in one row. A site is removed only when no opening hours and no booked visit
ahead name it (409 ``site_in_use``), and never the last one (409 ``last_site``).

**Date overrides.** ``POST /me/overrides {date, blocks}`` replaces the weekly hours on that local
date, an empty list closing it; the weekly pattern is untouched. Stored on the practice row
(``overrides``, read with the hours in the same statement) and validated by the engine like the
weekly blocks, DST days included. Dates past are dropped at the next change.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from app.accounts.principal import Principal
from app.audit.models import AuditAction
from app.core import clock
from app.practice.errors import (
    InvalidAvailability,
    InvalidSite,
    LastSite,
    OverrideNotFound,
    SiteInUse,
    SiteNotFound,
)
from app.practice.hooks import HoursWidened, SiteRemoving, hours_widened, site_removing
from app.practice.models import Practice, Site, zones_of
from app.practice.profile import search_key, zone
from app.practice.schemas import OverrideIn, SiteIn
from app.practice.service import PracticeService, check_hours
from app.schedule.hours import (
    dump_overrides,
    load_overrides,
    load_weekly,
    overrides_of,
)

MAX_SITES = 10
#: how far ahead an override may be set: the longest booking horizon (``BookingRules``)
OVERRIDE_HORIZON = timedelta(days=366)
#: at most this many dates overridden ahead (the row stays small; a year of daily overrides fits)
MAX_OVERRIDES = 400


def place_line(address: str | None, city: str | None) -> str:
    """A place on one line, as mails, calendar files and offers write it: the address, then the
    city, unless the address already ends with it (people type "7 rue des Lilas, 75020 Paris" in
    the address and "Paris" as the city; "3 rue de Paris" still gets its city)."""
    address, city = (address or "").strip(), (city or "").strip()
    if city and re.search(rf"(?:,|\d{{5}})\s*{re.escape(city)}\s*$", address, re.IGNORECASE):
        return address
    return ", ".join(part for part in (address, city) if part)


class PlacesService(PracticeService):
    """Sites and date overrides of the practitioner's own practice."""

    # sites

    async def sites(self, principal: Principal) -> list[Site]:
        practice = await self._own(principal)
        return list(await self.repository.sites(practice.id))

    async def add_site(self, principal: Principal, body: SiteIn) -> Site:
        """A new site; the first one becomes the main site, and the profile's address with it."""
        practice = await self._own(principal, lock=True)
        existing = list(await self.repository.sites(practice.id))
        if len(existing) >= MAX_SITES:
            raise InvalidSite(f"A practice has at most {MAX_SITES} sites.")
        self._check_zone(body.timezone)
        site = Site(
            practitioner_id=practice.id,
            label=body.label,
            address=body.address,
            city=body.city,
            city_key=search_key(body.city),
            postcode=body.postcode,
            timezone=body.timezone,
            created_at=clock.now(),
        )
        await self.repository.add_site(site)
        await self._after_sites_changed(practice, [*existing, site])
        await self._audit_site(principal, AuditAction.PRACTICE_SITE_CREATED, site.id)
        return site

    async def update_site(self, principal: Principal, site_id: uuid.UUID, body: SiteIn) -> Site:
        practice = await self._own(principal, lock=True)
        sites = list(await self.repository.sites(practice.id))
        site = next((s for s in sites if s.id == site_id), None)
        if site is None:
            raise SiteNotFound()
        self._check_zone(body.timezone)
        values = {
            "label": body.label,
            "address": body.address,
            "city": body.city,
            "city_key": search_key(body.city),
            "postcode": body.postcode,
            "timezone": body.timezone,
        }
        await self.repository.update_site(site.id, **values)
        for name, value in values.items():
            setattr(site, name, value)
        reasons = await self.repository.visit_reasons(practice.id)
        check_hours(
            practice.timezone,
            load_weekly(practice.weekly),
            load_overrides(practice.overrides),
            sites,
            {str(r.id): r.duration_minutes for r in reasons},
        )
        await self._after_sites_changed(practice, sites)
        await self._audit_site(principal, AuditAction.PRACTICE_SITE_UPDATED, site.id)
        return site

    async def remove_site(self, principal: Principal, site_id: uuid.UUID) -> None:
        practice = await self._own(principal, lock=True)
        sites = list(await self.repository.sites(practice.id))
        if not any(s.id == site_id for s in sites):
            raise SiteNotFound()
        if len(sites) == 1:
            raise LastSite("A practice keeps at least one site; edit this one instead.")
        named = str(site_id)
        # dates past hold no visit and no slot: only those from yesterday on (any zone's today)
        since = (clock.now() - timedelta(days=1)).date().isoformat()
        blocks = [
            *load_weekly(practice.weekly),
            *(
                b
                for day, held in load_overrides(practice.overrides).items()
                if day >= since
                for b in held
            ),
        ]
        if any(b.get("site_id") == named for b in blocks):
            raise SiteInUse(
                "Opening hours or date overrides are held at this site; move them first."
            )
        booked = sum(await site_removing.fire(self.session, SiteRemoving(practice.id, site_id)))
        if booked:
            raise SiteInUse(
                f"{booked} booked visit(s) ahead are at this site; move or cancel them first.",
                appointments=booked,
            )
        await self.repository.delete_site(site_id)
        await self._after_sites_changed(practice, [s for s in sites if s.id != site_id])
        await self._audit_site(principal, AuditAction.PRACTICE_SITE_DELETED, site_id)

    def _check_zone(self, name: str) -> None:
        if zone(name) is None:
            message = f"unknown IANA time zone {name!r}"
            raise InvalidSite(message, errors=[{"field": "timezone", "message": message}])

    async def _after_sites_changed(self, practice: Practice, sites: Sequence[Site]) -> None:
        """The practice row follows its sites: the main one's place and zone (the v1 profile),
        and every site's zone for the engine."""
        main = sites[0]
        await self.repository.update(
            practice.id,
            address=main.address,
            city=main.city,
            city_key=main.city_key,
            timezone=main.timezone,
            site_zones=json.dumps(zones_of(sites)),
            updated_at=clock.now(),
        )

    async def _audit_site(
        self, principal: Principal, action: AuditAction, site_id: uuid.UUID
    ) -> None:
        await self.audit.record(
            action, actor=principal.actor, object_type="practice_site", object_id=site_id
        )

    # date overrides

    async def overrides(self, principal: Principal) -> dict[str, list[dict[str, Any]]]:
        """The overrides from today on (in the practice's zone)."""
        practice = await self._own(principal)
        today = clock.now().astimezone(zone(practice.timezone) or UTC).date()
        return {
            day: blocks
            for day, blocks in load_overrides(practice.overrides).items()
            if date.fromisoformat(day) >= today
        }

    async def set_override(self, principal: Principal, body: OverrideIn) -> list[dict[str, Any]]:
        """Replace the hours of one local date (an empty list closes it). Time it opens may be
        what someone on the waiting list wants (``hours_widened``)."""
        practice = await self._own(principal, lock=True)
        tz = zone(practice.timezone) or UTC
        now = clock.now()
        today = now.astimezone(tz).date()
        if body.date < today or body.date > (now + OVERRIDE_HORIZON).astimezone(tz).date():
            raise InvalidAvailability("an override is for a date from today to a year ahead")
        sites = list(await self.repository.sites(practice.id))
        main = str(sites[0].id) if sites else ""
        blocks = [
            {
                "weekday": body.date.weekday(),
                "start": b.start,
                "end": b.end,
                "visit_reason_ids": [str(i) for i in b.visit_reason_ids],
                "site_id": str(b.site_id) if b.site_id else main,
            }
            for b in body.blocks
        ]
        stored = {
            day: held
            for day, held in load_overrides(practice.overrides).items()
            if date.fromisoformat(day) >= today - timedelta(days=1)  # yesterday: any zone's today
        }
        stored[body.date.isoformat()] = blocks
        if len(stored) > MAX_OVERRIDES:
            raise InvalidAvailability(f"at most {MAX_OVERRIDES} dates can be overridden ahead")
        reasons = await self.repository.visit_reasons(practice.id)
        durations = {str(r.id): r.duration_minutes for r in reasons}
        check_hours(practice.timezone, load_weekly(practice.weekly), stored, sites, durations)
        text = dump_overrides(overrides_of(stored))
        await self.repository.update(practice.id, overrides=text, updated_at=now)
        await self.audit.record(
            AuditAction.PRACTICE_OVERRIDE_SET,
            actor=principal.actor,
            object_type="practice",
            object_id=practice.id,
            details={"date": body.date.isoformat(), "blocks": len(blocks)},
        )
        if blocks:
            await self._widened(practice.id, body.date, tz)
        return load_overrides(text)[body.date.isoformat()]

    async def _widened(self, practice_id: uuid.UUID, day: date, tz: tzinfo) -> None:
        """Hours may have opened on ``day``: the waiting list may want them (``hours_widened``)."""
        day_start = datetime.combine(day, time(0), tz)
        await hours_widened.fire(
            self.session,
            HoursWidened(
                practice_id,
                day_start - timedelta(hours=14),  # the day in any site's zone
                day_start + timedelta(days=1, hours=14),
                self.audit,
                self.settings,
                self.mail,
            ),
        )

    async def remove_override(self, principal: Principal, day: date) -> None:
        """Back to the weekly hours on that date."""
        practice = await self._own(principal, lock=True)
        stored = load_overrides(practice.overrides)
        if stored.pop(day.isoformat(), None) is None:
            raise OverrideNotFound()
        await self.repository.update(
            practice.id, overrides=dump_overrides(overrides_of(stored)), updated_at=clock.now()
        )
        await self.audit.record(
            AuditAction.PRACTICE_OVERRIDE_REMOVED,
            actor=principal.actor,
            object_type="practice",
            object_id=practice.id,
            details={"date": day.isoformat()},
        )
        # the weekly hours back on that day may open what the override had closed
        await self._widened(practice.id, day, zone(practice.timezone) or UTC)
