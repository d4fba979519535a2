"""Base classes for request and response bodies."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    model_validator,
)
from pydantic_core import PydanticCustomError

#: The instants a request may name: far wider than any appointment, absence or audit query needs,
#: narrow enough that adding a window or a week to one, or converting it to UTC or to a
#: practitioner's zone, never overflows (year 1 and year 9999 once answered 500; docs/api.md "Time").
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2999, 12, 31, tzinfo=UTC)


def _in_range(value: datetime) -> datetime:
    if not EARLIEST <= value <= LATEST:
        raise ValueError("instants must lie between the years 1900 and 2999")
    return value


#: An RFC 3339 instant with an offset, within ``EARLIEST`` and ``LATEST`` (else 422).
Instant = Annotated[AwareDatetime, AfterValidator(_in_range)]


def _iso_date_text(value: Any) -> Any:
    """A calendar date comes as ``YYYY-MM-DD`` text, as the schema says: pydantic would also
    take a number (seconds since 1970) and make it a date nobody meant."""
    if not isinstance(value, str):
        raise PydanticCustomError("date_type", "a date is written YYYY-MM-DD")
    return value


#: A calendar date written ``YYYY-MM-DD`` (a birth date): nothing else becomes one.
CalendarDate = Annotated[date, BeforeValidator(_iso_date_text)]


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


class Schema(BaseModel):
    """Request bodies reject unknown fields (no mass assignment, docs/api.md "Conventions") and NUL
    characters, which no text field needs and PostgreSQL cannot store (a 422, never a 500)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    @model_validator(mode="before")
    @classmethod
    def _refuse_nul(cls, data: Any) -> Any:
        if _has_nul(data):
            raise ValueError("text must not contain NUL characters")
        return data


class Status(Schema):
    status: str


#: ``?lang=``: the language of texts a route returns (French, the default of the pages, or English)
LangQuery = Annotated[Literal["fr", "en"], Query(description="Language of the texts.")]
