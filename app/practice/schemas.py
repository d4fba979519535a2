"""Request and response bodies of the practice routes (docs/api.md "Practitioners and agenda")."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, model_validator

from app.core.schemas import CalendarDate, Instant, Schema

Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]
HHMM = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
Sector = Literal["1", "2", "3", "non-conventionne"]
#: C2's *mode d'exercice* (``app.practice.models.PracticeMode``)
Mode = Literal["liberal", "salaried", "mixed"]
#: a title as the practitioner states it ("Ancien chef de clinique", "DU d'échographie")
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=120)]
MAX_TITLES = 8


class BookingRules(BaseModel):
    min_notice_minutes: int = Field(ge=0, le=60 * 24 * 30)
    max_horizon_days: int = Field(ge=1, le=366)
    cancel_deadline_minutes: int = Field(ge=0, le=60 * 24 * 30)


class BookingRulesIn(BookingRules, Schema):
    pass


class PracticeRead(BaseModel):
    id: uuid.UUID
    display_name: str
    profession: str | None
    specialty: str | None
    address: str
    city: str
    timezone: str
    convention_sector: str | None
    fees: str
    titles: list[str]
    practice_mode: Mode | None
    directory_url: str | None
    booking_rules: BookingRules
    status: Literal["pending", "approved", "suspended"]
    listed: bool
    #: what still keeps the profile out of search (missing purposes, approval, fields)
    listing_missing: list[str]


class PracticeUpdate(Schema):
    """The editable fields; a field left out keeps its value."""

    display_name: Name | None = None
    profession: str | None = Field(default=None, max_length=40)
    specialty: str | None = Field(default=None, max_length=40)
    address: Text | None = None
    city: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None
    timezone: str | None = Field(default=None, max_length=64)
    convention_sector: Sector | None = None
    fees: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    titles: list[Title] | None = Field(default=None, max_length=MAX_TITLES)
    practice_mode: Mode | None = None
    booking_rules: BookingRulesIn | None = None


#: what a practice that asks no reason calls its one generic reason, unless it names it
GENERIC_LABEL = "Consultation"


class VisitReasonIn(Schema):
    label: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=80)] | None
    ) = Field(default=None, description="Required unless generic")
    duration_minutes: int = Field(ge=5, le=480, multiple_of=5)
    new_patients: bool = True
    generic: bool = Field(
        default=False,
        description="Ask patients no visit reason (charter C6: a reason is asked only if the "
        "practitioner wants one): this reason replaces every other one, in every opening block; "
        "adding a named reason later replaces it in turn",
    )

    @model_validator(mode="after")
    def _named_unless_generic(self) -> VisitReasonIn:
        if self.label is None and not self.generic:
            raise ValueError("a visit reason needs a label, unless it is the generic one")
        return self

    offer_in_all_hours: bool = Field(
        default=False,
        description="Also offer it in every weekly opening block (else only where the opening "
        "hours name it: a new reason has no slot until then)",
    )


class VisitReasonRead(BaseModel):
    id: uuid.UUID
    label: str
    duration_minutes: int
    new_patients: bool
    generic: bool


class WeeklyBlock(Schema):
    weekday: int = Field(ge=0, le=6, description="Monday = 0")
    start: HHMM
    end: HHMM
    visit_reason_ids: list[uuid.UUID] = Field(min_length=1, max_length=50)
    site_id: uuid.UUID | None = Field(
        default=None, description="One of the practice's sites; its main site when left out"
    )


class Availability(Schema):
    timezone: str = Field(max_length=64)
    weekly: list[WeeklyBlock] = Field(max_length=100)


class SiteIn(Schema):
    label: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
    address: Text = ""
    city: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    postcode: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\d{5}$")] = Field(
        description="The French postcode, five digits"
    )
    timezone: str = Field(default="Europe/Paris", max_length=64)


class SiteRead(BaseModel):
    id: uuid.UUID
    label: str
    address: str
    city: str
    postcode: str
    timezone: str


class OverrideBlock(Schema):
    start: HHMM
    end: HHMM
    visit_reason_ids: list[uuid.UUID] = Field(min_length=1, max_length=50)
    site_id: uuid.UUID | None = Field(
        default=None, description="One of the practice's sites; its main site when left out"
    )


class OverrideIn(Schema):
    date: CalendarDate = Field(description="The local date whose hours this replaces")
    blocks: list[OverrideBlock] = Field(
        max_length=20, description="That day's hours; an empty list closes the day"
    )


class OverrideRead(BaseModel):
    date: str
    blocks: list[OverrideBlock]


class AbsenceIn(Schema):
    start: Instant
    end: Instant
    cancel_appointments: bool = False


class AbsenceRead(BaseModel):
    id: uuid.UUID
    start: datetime
    end: datetime
    cancelled_appointments: int = 0


class SpecialtyRead(BaseModel):
    id: str
    label: str


class ProfessionRead(BaseModel):
    id: str
    label: str
    specialties: list[SpecialtyRead]


class PractitionerAdminRead(BaseModel):
    id: uuid.UUID
    display_name: str
    rpps: str | None
    directory_url: str | None
    profession: str | None
    specialty: str | None
    city: str
    status: Literal["pending", "approved", "suspended"]
    listed: bool
    created_at: datetime
    #: closed by its practitioner (C12): its kept data go ``ERDV_PRACTICE_CLOSING_DAYS`` later
    closed_at: datetime | None = None
    #: when they went; the closed practice's export is no longer possible
    purged_at: datetime | None = None
