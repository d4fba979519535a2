"""The practitioner's practice: profile, visit reasons, opening hours, absences, admin approval.

**When a practice row exists.** A practitioner account gets its practice row lazily: at its first
``/me/practice`` call, and for every verified practitioner when an admin lists or approves
practitioners (``ensure_all``), so pending practitioners always show up for review. A new practice is
``pending`` and unlisted; nothing of it is public until an admin approves it *and* the practitioner
grants the listing purposes (charter C2, C11, C1; ``listed_clause``).

Profile changes are live at once and audited (C2). Visit reasons are the practitioner's own list
(C6); retiring one removes it from the opening hours. Opening hours are validated by the pure slot
core (``app.schedule.slots.Schedule``): what is stored can always be laid out as slots.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.principal import Principal
from app.audit.models import AuditAction
from app.audit.service import Actor, AuditTrail
from app.charter.model import Gate
from app.consent.service import missing_purposes
from app.core import clock
from app.core.mail import MailQueue
from app.core.settings import Settings
from app.practice import professions
from app.practice.errors import (
    AbsenceNotFound,
    InvalidAvailability,
    InvalidProfile,
    PractitionerNotFound,
    TooManyVisitReasons,
    VisitReasonNotFound,
)
from app.practice.hooks import AbsenceAdded, HoursWidened, absence_added, hours_widened
from app.practice.models import (
    Absence,
    Practice,
    PracticeStatus,
    Site,
    VisitReason,
    zones_of,
)
from app.practice.profile import (
    directory_url,
    postcode_in,
    search_key,
    zone,
)
from app.practice.repository import PracticeRepository
from app.practice.schemas import GENERIC_LABEL, Availability, PracticeUpdate, VisitReasonIn
from app.schedule.hours import (
    blocks_of,
    dump_weekly,
    load_overrides,
    load_weekly,
    schedules,
    without_reason,
)
from app.schedule.timegrid import ScheduleError, in_zone

MAX_VISIT_REASONS = 50
#: what the site a practice's address becomes is called, until the practitioner renames it
MAIN_SITE_LABEL = "Cabinet"
MAX_ABSENCE = timedelta(days=366)


def check_hours(
    timezone: str,
    weekly: Sequence[Mapping[str, Any]],
    overrides: Mapping[str, Sequence[Mapping[str, Any]]],
    sites: Sequence[Site],
    durations: Mapping[str, int],
) -> None:
    """Refuse hours the engine could not lay (422 ``invalid_availability``): a block at no site of
    this practice, a visit reason it does not offer, overlapping blocks, an odd zone. The weekly
    hours and the date overrides (``app.practice.places``) are checked together, as stored."""
    known = {str(s.id) for s in sites}
    for item in [*weekly, *(b for held in overrides.values() for b in held)]:
        if item.get("site_id") and item["site_id"] not in known:
            raise InvalidAvailability(f"no site {item['site_id']} in this practice")
    zones = zones_of(sites)
    try:
        schedules(timezone, weekly, overrides, zones, durations, strict=True)
    except ScheduleError as error:
        raise InvalidAvailability(str(error)) from error
    except (ValueError, KeyError) as error:  # "24:00" and the like
        raise InvalidAvailability(str(error)) from error


@dataclass(frozen=True)
class AbsenceView:
    """An absence as its practitioner reads it: its times in the practice's time zone, as every
    time the API gives (API.md "Conventions"), whether just added or listed later."""

    id: uuid.UUID
    start: datetime
    end: datetime

    @classmethod
    def of(cls, absence: Absence, timezone: str) -> AbsenceView:
        zone = ZoneInfo(timezone)
        return cls(absence.id, in_zone(absence.start_at, zone), in_zone(absence.end_at, zone))


@dataclass(frozen=True)
class PracticeView:
    practice: Practice
    listed: bool
    rpps: str | None
    missing: list[str]


def _new_row(account_id: uuid.UUID, full_name: str) -> dict[str, Any]:
    now = clock.now()
    return {
        "id": account_id,
        "display_name": full_name,
        "search_name": search_key(full_name),
        "city": "",
        "city_key": "",
        "address": "",
        "fees": "",
        "timezone": "Europe/Paris",
        "min_notice_minutes": 120,
        "max_horizon_days": 90,
        "cancel_deadline_minutes": 1440,
        "status": PracticeStatus.PENDING.value,
        "weekly": "[]",
        "created_at": now,
        "updated_at": now,
    }


async def ensure_all(session: AsyncSession, account_id: uuid.UUID | None = None) -> None:
    """Create the missing practice rows of verified practitioners (idempotent, race-safe)."""
    repository = PracticeRepository(session)
    missing = await repository.practitioners_without_practice(account_id)
    await repository.add_missing([_new_row(row.id, row.full_name) for row in missing])


class PracticeService:
    def __init__(
        self,
        session: AsyncSession,
        settings: Settings,
        audit: AuditTrail,
        mail: MailQueue | None = None,
    ) -> None:
        self.session = session
        self.settings = settings
        self.audit = audit
        self.mail = mail
        self.repository = PracticeRepository(session)

    async def _own(self, principal: Principal, *, lock: bool = False) -> Practice:
        practice = await self.repository.get(principal.account_id, lock=lock)
        if practice is None:
            await ensure_all(self.session, principal.account_id)
            practice = await self.repository.get(principal.account_id, lock=lock)
        if practice is None:  # pragma: no cover - a practitioner principal is verified
            raise PractitionerNotFound()
        return practice

    async def view(self, practice_id: uuid.UUID) -> PracticeView:
        found = await self.repository.with_listing(practice_id)
        if found is None:
            raise PractitionerNotFound()
        practice, listed, rpps = found
        missing = list(await missing_purposes(self.session, practice_id, Gate.LISTING))
        if practice.status != PracticeStatus.APPROVED.value:
            missing.append("admin-approval")
        if practice.profession is None:
            missing.append("profession")
        if not practice.city:
            missing.append("city")
        if not await self.repository.visit_reasons(practice_id):
            missing.append("visit-reasons")
        return PracticeView(practice, listed, rpps, missing)

    async def my_practice(self, principal: Principal) -> PracticeView:
        await self._own(principal)
        return await self.view(principal.account_id)

    async def update_practice(self, principal: Principal, body: PracticeUpdate) -> PracticeView:
        """C2: the practitioner alone edits the profile; the change is live and audited."""
        practice = await self._own(principal)
        given = body.model_fields_set
        values: dict[str, Any] = {}
        if "display_name" in given and body.display_name is not None:
            values["display_name"] = body.display_name
            values["search_name"] = search_key(body.display_name)
        profession = body.profession if "profession" in given else practice.profession
        specialty = body.specialty if "specialty" in given else practice.specialty
        if "profession" in given and "specialty" not in given and profession != practice.profession:
            specialty = None
        problem = professions.check_pair(profession, specialty)
        if problem:
            raise InvalidProfile(problem, errors=[{"field": "specialty", "message": problem}])
        values["profession"], values["specialty"] = profession, specialty
        for name in ("address", "fees"):
            if name in given and getattr(body, name) is not None:
                values[name] = getattr(body, name)
        if "city" in given and body.city is not None:
            values["city"], values["city_key"] = body.city, search_key(body.city)
        if "convention_sector" in given:
            values["convention_sector"] = body.convention_sector
        if "practice_mode" in given:
            values["practice_mode"] = body.practice_mode
        if "titles" in given:  # null clears them, as it clears the mode
            values["titles"] = json.dumps(
                list(dict.fromkeys(body.titles or [])), ensure_ascii=False
            )
        if "timezone" in given and body.timezone is not None:
            if zone(body.timezone) is None:
                message = f"unknown IANA time zone {body.timezone!r}"
                raise InvalidProfile(message, errors=[{"field": "timezone", "message": message}])
            values["timezone"] = body.timezone
        if body.booking_rules is not None:
            values.update(body.booking_rules.model_dump())
        values["updated_at"] = clock.now()
        await self.repository.update(practice.id, **values)
        await self._mirror_main_site(practice, values)
        await self.audit.record(
            AuditAction.PRACTICE_PROFILE_UPDATED,
            actor=principal.actor,
            object_type="practice",
            object_id=practice.id,
        )
        return await self.view(practice.id)

    async def _mirror_main_site(self, practice: Practice, values: dict[str, Any]) -> None:
        """The v1 profile's address, city and zone are the main site's (``app.practice.places``):
        edit it with them, or create it when the practice first says where it is."""
        place: dict[str, Any] = {
            k: values[k] for k in ("address", "city", "city_key", "timezone") if k in values
        }
        if not place:
            return
        if postcode_in(place.get("address", "")):  # an address that says its postcode
            place["postcode"] = postcode_in(place["address"])
        sites = await self.repository.sites(practice.id)
        if sites:
            await self.repository.update_site(sites[0].id, **place)
            zones = zones_of(sites) | {str(sites[0].id): place.get("timezone", sites[0].timezone)}
            await self.repository.update(practice.id, site_zones=json.dumps(zones))
            return
        merged: dict[str, str] = {
            "address": practice.address,
            "city": practice.city,
            "city_key": practice.city_key,
            "timezone": practice.timezone,
        } | place
        if not (merged["address"] or merged["city"]):
            return
        site = Site(
            practitioner_id=practice.id,
            label=MAIN_SITE_LABEL,
            address=merged["address"],
            city=merged["city"],
            city_key=merged["city_key"],
            postcode=postcode_in(merged["address"]),
            timezone=merged["timezone"],
            created_at=clock.now(),
        )
        await self.repository.add_site(site)
        # the hours set before the practice had a site are held at it from now on
        weekly = [{**b, "site_id": str(site.id)} for b in load_weekly(practice.weekly)]
        await self.repository.update(
            practice.id,
            weekly=dump_weekly(blocks_of(weekly)),
            site_zones=json.dumps({str(site.id): site.timezone}),
        )

    async def close(self, principal: Principal) -> None:
        """C12: the practitioner ends the contract. The listing ends with the account (the caller
        erases it next; ``listed_clause`` wants an active account); the date starts the delay after
        which what was kept on the practice's behalf goes (``app.booking.closing``)."""
        practice = await self._own(principal, lock=True)
        await self.repository.update(practice.id, closed_at=clock.now(), updated_at=clock.now())
        await self.audit.record(
            AuditAction.PRACTICE_CLOSED,
            actor=principal.actor,
            object_type="practice",
            object_id=practice.id,
            details={"kept_days": self.settings.practice_closing_days},
        )

    # visit reasons

    async def visit_reasons(self, principal: Principal) -> list[VisitReason]:
        practice = await self._own(principal)
        return list(await self.repository.visit_reasons(practice.id))

    async def add_visit_reason(self, principal: Principal, body: VisitReasonIn) -> VisitReason:
        """A new reason of the practitioner's list (C6). A practice either asks a reason (its
        named reasons) or asks none (one ``generic`` reason alone): adding the generic reason
        retires every other one, and adding a named reason retires the generic one, the new
        reason taking the retired ones' place in the opening hours. So a practitioner switches
        in one step and no opening block is left empty."""
        replacing = body.offer_in_all_hours or body.generic
        practice = await self._own(principal, lock=True)
        active = await self.repository.visit_reasons(practice.id)
        retired = [r.id for r in active if body.generic or r.generic]
        if len(active) - len(retired) >= MAX_VISIT_REASONS:
            raise TooManyVisitReasons(f"A practice has at most {MAX_VISIT_REASONS} visit reasons.")
        reason = VisitReason(
            practitioner_id=practice.id,
            label=body.label or GENERIC_LABEL,
            duration_minutes=body.duration_minutes,
            new_patients=True if body.generic else body.new_patients,
            generic=body.generic,
            created_at=clock.now(),
        )
        await self.repository.add_visit_reason(reason)
        for old in retired:
            await self.repository.retire_visit_reason(practice.id, old)
        gone = {str(i) for i in retired}
        if replacing or gone:
            weekly = []
            for item in load_weekly(practice.weekly):
                ids = [i for i in item["visit_reason_ids"] if i not in gone]
                if replacing or len(ids) < len(item["visit_reason_ids"]):
                    ids.append(str(reason.id))
                weekly.append({**item, "visit_reason_ids": ids})
            await self.repository.update(
                practice.id, weekly=dump_weekly(blocks_of(weekly)), updated_at=clock.now()
            )
        await self.audit.record(
            AuditAction.PRACTICE_VISIT_REASON_CREATED,
            actor=principal.actor,
            object_type="visit_reason",
            object_id=reason.id,
            details={"generic": True, "retired": len(retired)} if body.generic else None,
        )
        return reason

    async def retire_visit_reason(self, principal: Principal, reason_id: uuid.UUID) -> None:
        """Retire the reason and take it out of the opening hours; booked visits keep it."""
        practice = await self._own(principal, lock=True)
        if not await self.repository.retire_visit_reason(practice.id, reason_id):
            raise VisitReasonNotFound()
        remaining = []
        for item in load_weekly(practice.weekly):
            ids = [i for i in item["visit_reason_ids"] if i != str(reason_id)]
            if ids:
                remaining.append({**item, "visit_reason_ids": ids})
        await self.repository.update(
            practice.id,
            weekly=dump_weekly(blocks_of(remaining)),
            overrides=without_reason(practice.overrides, str(reason_id)),
            updated_at=clock.now(),
        )
        await self.audit.record(
            AuditAction.PRACTICE_VISIT_REASON_DELETED,
            actor=principal.actor,
            object_type="visit_reason",
            object_id=reason_id,
        )

    # availability

    async def availability(self, principal: Principal) -> tuple[str, list[dict[str, Any]]]:
        practice = await self._own(principal)
        return practice.timezone, load_weekly(practice.weekly)

    async def set_availability(
        self, principal: Principal, body: Availability
    ) -> tuple[str, list[dict[str, Any]]]:
        """Replace the weekly hours. Each block is held at one of the practice's sites, its main
        one unless it names another; ``timezone`` is the main site's (``app.practice.places``)."""
        practice = await self._own(principal, lock=True)
        if zone(body.timezone) is None:
            raise InvalidAvailability(f"unknown IANA time zone {body.timezone!r}")
        sites = list(await self.repository.sites(practice.id))
        if sites and sites[0].timezone != body.timezone:
            sites[0].timezone = body.timezone
            await self.repository.update_site(sites[0].id, timezone=body.timezone)
        zones = zones_of(sites)
        main = str(sites[0].id) if sites else ""
        reasons = await self.repository.visit_reasons(practice.id)
        durations = {str(r.id): r.duration_minutes for r in reasons}
        items: list[dict[str, Any]] = [
            {
                "weekday": b.weekday,
                "start": b.start,
                "end": b.end,
                "visit_reason_ids": [str(i) for i in b.visit_reason_ids],
                "site_id": str(b.site_id) if b.site_id else main,
            }
            for b in body.weekly
        ]
        check_hours(body.timezone, items, load_overrides(practice.overrides), sites, durations)
        blocks = blocks_of(items)
        weekly = dump_weekly(blocks)
        await self.repository.update(
            practice.id,
            timezone=body.timezone,
            weekly=weekly,
            site_zones=json.dumps(zones),
            updated_at=clock.now(),
        )
        await self.audit.record(
            AuditAction.PRACTICE_AVAILABILITY_UPDATED,
            actor=principal.actor,
            object_type="practice",
            object_id=practice.id,
        )
        return body.timezone, load_weekly(weekly)

    # absences

    async def absences(self, principal: Principal) -> list[AbsenceView]:
        practice = await self._own(principal)
        absences = await self.repository.absences(practice.id, clock.now())
        return [AbsenceView.of(a, practice.timezone) for a in absences]

    async def add_absence(
        self, principal: Principal, start: Any, end: Any, cancel_appointments: bool
    ) -> tuple[AbsenceView, int]:
        """An absence blocks its time; appointments inside it are cancelled (and the patients
        told by mail) only when asked, else 409 ``absence_conflicts``.

        The practice row is locked first (FOR UPDATE; bookings hold FOR SHARE on it), so no
        booking can slip into the absence between the check and the insert on PostgreSQL; SQLite
        serialises writers anyway.
        """
        if end <= start:
            raise InvalidProfile(
                "an absence must end after it starts",
                errors=[{"field": "end", "message": "must be after start"}],
            )
        if end - start > MAX_ABSENCE:
            raise InvalidProfile(
                "an absence lasts at most 366 days",
                errors=[{"field": "end", "message": "at most 366 days after start"}],
            )
        practice = await self._own(principal, lock=True)
        event = AbsenceAdded(
            practice=practice,
            start=start,
            end=end,
            cancel=cancel_appointments,
            actor=principal.actor,
            audit=self.audit,
            mail=self.mail,
            settings=self.settings,
        )
        cancelled = sum(await absence_added.fire(self.session, event))
        absence = Absence(
            practitioner_id=practice.id, start_at=start, end_at=end, created_at=clock.now()
        )
        await self.repository.add_absence(absence)
        await self.audit.record(
            AuditAction.PRACTICE_ABSENCE_CREATED,
            actor=principal.actor,
            object_type="absence",
            object_id=absence.id,
            details={"cancelled_appointments": cancelled},
        )
        return AbsenceView.of(absence, practice.timezone), cancelled

    async def delete_absence(self, principal: Principal, absence_id: uuid.UUID) -> None:
        practice = await self._own(principal)
        held = await self.repository.delete_absence(practice.id, absence_id)
        if held is None:
            raise AbsenceNotFound()
        await self.audit.record(
            AuditAction.PRACTICE_ABSENCE_DELETED,
            actor=principal.actor,
            object_type="absence",
            object_id=absence_id,
        )
        # its time is free again: someone on the waiting list may want it
        await hours_widened.fire(
            self.session, HoursWidened(practice.id, *held, self.audit, self.settings, self.mail)
        )

    # admin

    async def admin_list(self, status: str | None) -> list[PracticeView]:
        await ensure_all(self.session)
        rows = await self.repository.admin_list(status)
        return [PracticeView(row[0], bool(row[1]), row[2], []) for row in rows]

    async def set_status(
        self, actor: Actor, practice_id: uuid.UUID, status: PracticeStatus
    ) -> PracticeView:
        """Admin approval (after checking the RPPS in the directory) or suspension; audited."""
        await ensure_all(self.session, practice_id)
        practice = await self.repository.get(practice_id, lock=True)
        if practice is None:
            raise PractitionerNotFound()
        await self.repository.update(practice_id, status=status.value, updated_at=clock.now())
        await self.audit.record(
            AuditAction.PRACTICE_APPROVED
            if status is PracticeStatus.APPROVED
            else AuditAction.PRACTICE_SUSPENDED,
            actor=actor,
            object_type="practice",
            object_id=practice_id,
        )
        return await self.view(practice_id)


@dataclass(frozen=True)
class DirectoryCheck:
    listed: int
    without_directory_link: int
    off_the_list: int
    #: listed although their practitioner closed the account (C12)
    closed: int
    #: ask no reason yet offer more than their generic one (C6)
    asking_and_generic: int


async def directory_check(session: AsyncSession) -> DirectoryCheck:
    """Charter C3, C6, C12 and C13 on live data: every listed practitioner has an RPPS (hence a
    directory link), a profession and specialty from the fixed list, and an open account; no
    practice offers its generic reason beside others."""
    repository = PracticeRepository(session)
    rows = await repository.listed_directory_entries()
    return DirectoryCheck(
        closed=sum(1 for r in rows if r.closed_at is not None),
        asking_and_generic=await repository.asking_and_generic(),
        listed=len(rows),
        without_directory_link=sum(1 for r in rows if directory_url(r.rpps) is None),
        off_the_list=sum(
            1 for r in rows if professions.check_pair(r.profession, r.specialty) is not None
        ),
    )
