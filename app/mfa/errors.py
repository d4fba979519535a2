"""Errors of the second factor (docs/api.md "Accounts, sessions and MFA")."""

from __future__ import annotations

from app.core.errors import BadRequest, RecordedFailure


class InvalidCode(RecordedFailure, BadRequest):
    """Wrong code, or one already used in its time step. Its failure count and audit entry persist."""

    code = "invalid_code"
    title = "Invalid code"
