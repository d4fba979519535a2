"""Base classes for request and response bodies."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Schema(BaseModel):
    """Request bodies reject unknown fields (no mass assignment, API.md conventions)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class Status(Schema):
    status: str
