"""Response bodies of the charter endpoint (docs/api.md "Charter and consent")."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class ClauseOut(BaseModel):
    id: str
    version: int
    title: str
    summary: str
    text_sha256: str


class PurposeOut(BaseModel):
    id: str
    version: int
    title: str
    kind: Literal["acknowledgement", "consent", "agreement"]
    audience: Literal["patient", "practitioner"]
    clause_ids: list[str]
    required_for: Literal["booking", "listing"] | None
    text: str
    text_sha256: str


class CharterOut(BaseModel):
    version: int
    clauses: list[ClauseOut]
    purposes: list[PurposeOut]
