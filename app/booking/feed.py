"""A practice's calendar feed (issue #26, docs/api.md "Sites, date overrides and waiting list"): a
secret, read-only iCalendar URL of the agenda that a practitioner subscribes to in their own
calendar application.

The URL holds a 256-bit token; the database keeps its SHA-256 (hashed secrets), so a copy of the
table opens no feed. Creating a feed replaces the one before, deleting it revokes it at once; a
closed practice's feed answers 404. The feed is built on each fetch and never cached
(``Cache-Control: no-store``, as every API answer), so it shows a change as soon as the calendar
application asks again. Fetches are counted per practice (an hourly allowance,
``ERDV_CALENDAR_FEED_READS_PER_HOUR``, then 429 ``rate_limited``): each copies the agenda and
writes an audit entry, so a leaked URL in a loop is slowed down, not served at machine speed.

What it holds: each appointment's time, status (a cancelled one stays, ``STATUS:CANCELLED``, so a
subscribed calendar removes it) and the patient's name, or the relative's, since the agenda is the
practitioner's to read. Never the visit reason, the phone, an address or anything of health (C7,
docs/api.md "Notifications"). Each fetch is audited (``calendar.read``): the feed goes to a
calendar provider the practitioner chose, and the trail says when and how much.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from app.accounts.principal import Principal
from app.audit.models import AuditAction
from app.audit.service import Actor
from app.booking.base import BookingBase
from app.booking.errors import PractitionerNotFound
from app.booking.ics import CalendarEntry, calendar_ics, summary_of
from app.core import clock
from app.core.crypto import new_token

#: what the feed spans: a month back (a visit just past is still looked up), half a year ahead
PAST, AHEAD = timedelta(days=31), timedelta(days=183)
FEED_PREFIX = "erdv_cal_"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class FeedService(BookingBase):
    async def create(self, principal: Principal) -> str:
        """A new secret URL for the practitioner's own agenda; the previous one stops."""
        token = new_token(FEED_PREFIX)
        await self.repository.set_feed(principal.account_id, token_hash(token), clock.now())
        await self._record(
            AuditAction.CALENDAR_FEED_CREATED,
            actor=principal.actor,
            object_type="practice",
            object_id=principal.account_id,
        )
        return f"{self.settings.public_url.rstrip('/')}/api/v1/calendar/{token}.ics"

    async def since(self, principal: Principal) -> datetime | None:
        """When the practitioner's live feed was made (its URL is not kept: only its hash), or
        None: the page then offers no "revoke" and says a first link replaces nothing."""
        return await self.repository.feed_created_at(principal.account_id)

    async def revoke(self, principal: Principal) -> None:
        if await self.repository.drop_feed(principal.account_id):
            await self._record(
                AuditAction.CALENDAR_FEED_REVOKED,
                actor=principal.actor,
                object_type="practice",
                object_id=principal.account_id,
            )

    async def calendar(self, token: str) -> str:
        """The feed a token opens, or 404 (unknown, replaced, revoked, or the practice closed)."""
        feed = await self.repository.feed_practice(token_hash(token))
        if feed is None:
            raise PractitionerNotFound()
        practice_id = feed.practice_id
        if self.throttle is not None:
            await self.throttle.hit(
                f"calendar-feed:practice:{practice_id}", self.throttle.policies.calendar_feed
            )
        now = clock.now()
        rows = await self.repository.agenda(
            practice_id, now - PAST, now + AHEAD, limit=5000, count_no_shows=False
        )
        entries = [
            CalendarEntry(
                appointment_id=row.id,
                start=row.start_at,
                end=row.end_at,
                sequence=row.sequence,
                cancelled=row.status == "cancelled",
                summary=summary_of(row.full_name, feed.language),
                address="",
                city="",
            )
            for row in rows
        ]
        await self._record(
            AuditAction.CALENDAR_READ,
            actor=Actor.anonymous(),  # whoever holds the URL: the calendar application
            object_type="practice",
            object_id=practice_id,
            details={"appointments": len(entries)},
        )
        return calendar_ics(entries, now)
