"""Response body of the compliance report (docs/api.md "Charter and consent":
``/api/v1/charter/compliance``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel


class ClauseComplianceOut(BaseModel):
    id: str
    status: Literal["met", "not_met", "manual"]
    evidence: str


class RetentionJobOut(BaseModel):
    """One retention job and its last run (never run yet: both null)."""

    name: str
    finished_at: datetime | None
    result: str | None


class ComplianceOut(BaseModel):
    clauses: list[ClauseComplianceOut]
    #: the retention work the privacy notice promises, each job with its last run
    retention: list[RetentionJobOut] = []
    #: the e-RDV badge may be shown (C14): every automated check is met
    badge: bool
    checked_at: datetime
