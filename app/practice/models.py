"""Practice tables: the practitioner's profile, sites, visit reasons and absences.

``practice.id`` is the practitioner's account id: one practice per practitioner account, and the id
every route uses (``docs/api.md`` "Practitioners and agenda"). Opening hours are a small JSON
document on the practice row (``weekly``): the slot search reads them with the profile in one
statement.

Listing is computed in SQL, never stored (``listed_clause``): approved by an admin, the account
active, a profession and a city set, at least one visit reason offered, and every purpose the
charter requires for listing granted at its *current* version. Granting, withdrawing, an admin
decision or a version bump at start-up then take effect on the next query, with no flag to keep in
step.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.accounts.models import Account, AccountStatus
from app.charter.model import Charter, Gate
from app.charter.registry import default_charter
from app.consent.models import ConsentState
from app.core.db import UTCDateTime, new_id
from app.core.repository import table_of


class PracticeStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    SUSPENDED = "suspended"


class PracticeMode(StrEnum):
    """How the practitioner practises (charter C2, *mode d'exercice*): in private practice
    (*libéral*), salaried (a health centre, a hospital), or both."""

    LIBERAL = "liberal"
    SALARIED = "salaried"
    MIXED = "mixed"


class Practice(SQLModel, table=True):
    __tablename__ = "practice"
    __table_args__ = (
        sa.Index("ix_practice_search", "profession", "specialty", "search_name", "id"),
        sa.Index("ix_practice_city", "city_key", "search_name", "id"),
        # a name search walks this index in the directory's order and stops at the page's end:
        # without it, a name matching the whole directory read and sorted every match
        # (bench/README.md "Performance rules in the code", B6b)
        sa.Index("ix_practice_name", "search_name", "id"),
        sa.Index("ix_practice_status", "status"),
    )

    id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("account.id", ondelete="CASCADE"), primary_key=True
        )
    )
    display_name: str = Field(max_length=200)
    #: display_name without accents, case-folded: search and the neutral (alphabetical) order
    search_name: str = Field(max_length=200)
    profession: str | None = Field(default=None, max_length=40)
    specialty: str | None = Field(default=None, max_length=40)
    address: str = Field(default="", max_length=300)
    city: str = Field(default="", max_length=100)
    city_key: str = Field(default="", max_length=100)
    timezone: str = Field(default="Europe/Paris", max_length=64)
    convention_sector: str | None = Field(default=None, max_length=24)
    fees: str = Field(default="", max_length=200)
    #: the titles the practitioner states (C2), a JSON list of short texts, shown on the profile
    titles: str = Field(default="[]", sa_type=sa.Text, sa_column_kwargs={"server_default": "[]"})
    #: ``PracticeMode`` (C2), or None until the practitioner says
    practice_mode: str | None = Field(default=None, max_length=16)
    min_notice_minutes: int = Field(default=120)
    max_horizon_days: int = Field(default=90)
    cancel_deadline_minutes: int = Field(default=1440)
    status: str = Field(default=PracticeStatus.PENDING.value, max_length=16)
    #: weekly opening blocks in local wall time: [{weekday, start, end, visit_reason_ids,
    #: site_id}] (``app.schedule.hours``)
    weekly: str = Field(default="[]", sa_type=sa.Text)
    #: date overrides, {"YYYY-MM-DD": [{start, end, visit_reason_ids, site_id}]} in local wall time,
    #: an empty list closing the day; dates past are dropped at the next change
    overrides: str = Field(default="{}", sa_type=sa.Text, sa_column_kwargs={"server_default": "{}"})
    #: each site's time zone, {site_id: zone}: the engine's copy of ``practice_site.timezone``,
    #: written with it, so that a slot list reads the practice in one row as before
    site_zones: str = Field(
        default="{}", sa_type=sa.Text, sa_column_kwargs={"server_default": "{}"}
    )
    #: a mail to the practitioner for each booking and cancellation a patient or an application
    #: makes (PUT /api/v1/me/notifications); the practice's own changes never mail it
    new_booking_mail: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    #: when the practitioner closed the account (C12): the listing ends at once with the
    #: account; what the platform kept on the practice's behalf goes after
    #: ``ERDV_PRACTICE_CLOSING_DAYS`` (``app.booking.closing``)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: when that deletion ran
    purged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class VisitReason(SQLModel, table=True):
    """A visit reason from the practitioner's own list (charter C6): never free text from a patient.

    Deleting one only retires it (``active``): appointments keep pointing at it.

    A practitioner who asks no reason (C6: "if a reason is asked") offers one ``generic`` reason
    instead, and nothing else: the patient picks nothing, and the appointment keeps only that
    reason, which says nothing of why.
    """

    __tablename__ = "visit_reason"

    id: uuid.UUID = Field(default_factory=new_id, sa_type=sa.Uuid, primary_key=True)
    #: in the key: the practitioner is the distribution column (app/distribution.py)
    practitioner_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("practice.id", ondelete="CASCADE"), primary_key=True, index=True
        )
    )
    label: str = Field(max_length=80)
    duration_minutes: int
    new_patients: bool = Field(default=True)
    active: bool = Field(default=True)
    generic: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    created_at: datetime = Field(sa_type=UTCDateTime)


class Site(SQLModel, table=True):
    """A place the practitioner receives patients at (API "Sites"): opening blocks and slots name
    it, the profile lists it, search finds it by city or postcode.

    The oldest site is the practice's *main* one: the practice row's ``address``, ``city`` and
    ``timezone`` (the v1 profile) are its copy, kept in step by ``app.practice.places``.
    """

    __tablename__ = "practice_site"
    __table_args__ = (
        sa.Index("ix_site_city", "city_key", "practitioner_id"),
        sa.Index("ix_site_postcode", "postcode", "practitioner_id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, sa_type=sa.Uuid, primary_key=True)
    #: in the key: the practitioner is the distribution column (app/distribution.py)
    practitioner_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("practice.id", ondelete="CASCADE"), primary_key=True, index=True
        )
    )
    label: str = Field(max_length=80)
    address: str = Field(default="", max_length=300)
    city: str = Field(default="", max_length=100)
    city_key: str = Field(default="", max_length=100)
    postcode: str = Field(default="", max_length=10)
    timezone: str = Field(default="Europe/Paris", max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)


def zones_of(sites: Sequence[Site]) -> dict[str, str]:
    """Each site's time zone by site id: what ``practice.site_zones`` stores for the engine."""
    return {str(site.id): site.timezone for site in sites}


class Absence(SQLModel, table=True):
    __tablename__ = "absence"
    __table_args__ = (sa.Index("ix_absence_practitioner_start", "practitioner_id", "start_at"),)

    id: uuid.UUID = Field(default_factory=new_id, sa_type=sa.Uuid, primary_key=True)
    #: in the key: the practitioner is the distribution column (app/distribution.py)
    practitioner_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("practice.id", ondelete="CASCADE"), primary_key=True
        )
    )
    start_at: datetime = Field(sa_type=UTCDateTime)
    end_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)


practice_table = table_of(Practice)
visit_reason_table = table_of(VisitReason)
absence_table = table_of(Absence)
site_table = table_of(Site)
_account = table_of(Account)
_consent_state = table_of(ConsentState)


_listed_cache: dict[int, tuple[Charter, sa.ColumnElement[bool]]] = {}


def listed_clause(charter: Charter | None = None) -> sa.ColumnElement[bool]:
    """SQL truth of "this practice is listed" (searchable and bookable), see the module docstring.

    Built once per charter and reused: SQL expressions are immutable, and building this one on every
    search, slot list and booking was a measurable share of their time
    (bench/README.md "Performance rules in the code").
    """
    charter = charter or default_charter()
    cached = _listed_cache.get(id(charter))
    if cached is None or cached[0] is not charter:
        cached = (charter, _build_listed_clause(charter))
        _listed_cache[id(charter)] = cached
    return cached[1]


def _build_listed_clause(charter: Charter) -> sa.ColumnElement[bool]:
    purposes = charter.purposes_required_for(Gate.LISTING)
    p = practice_table
    # aliases: never correlated with an outer query's join of the same tables
    account = _account.alias("listed_account")
    reason = visit_reason_table.alias("listed_reason")
    conditions: list[Any] = [
        p.c.status == PracticeStatus.APPROVED.value,
        p.c.profession.is_not(None),
        p.c.city != "",
        sa.exists().where(account.c.id == p.c.id, account.c.status == AccountStatus.ACTIVE.value),
        # nothing to book without one (a listed profile with no visit reason is a dead end)
        sa.exists().where(reason.c.practitioner_id == p.c.id, reason.c.active.is_(True)),
    ]
    if purposes:
        s = _consent_state
        granted = (
            sa.select(sa.func.count())
            .where(
                s.c.account_id == p.c.id,
                s.c.scope == "",
                s.c.status == "granted",
                sa.or_(
                    *(
                        sa.and_(s.c.purpose_id == x.id.value, s.c.purpose_version == x.version)
                        for x in purposes
                    )
                ),
            )
            .scalar_subquery()
        )
        conditions.append(granted == len(purposes))
    return sa.and_(*conditions)
