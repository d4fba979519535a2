"""Consent errors (codes in docs/api.md "Errors")."""

from __future__ import annotations

from app.core.errors import Conflict, NotFound, Unprocessable


class UnknownPurpose(NotFound):
    code = "unknown_purpose"
    title = "Unknown purpose"


class StaleVersion(Conflict):
    code = "stale_version"
    title = "This is not the current version of the text"


class GrantedPerApplication(Unprocessable):
    code = "granted_per_application"
    title = "Third-party sharing is granted per application, on its consent screen"


class ConsentRequired(Conflict):
    """Raised by gates; ``missing`` lists the purposes to accept (docs/api.md "Errors")."""

    code = "consent_required"
    title = "A required acknowledgement or agreement is missing"

    def __init__(self, missing: list[str]) -> None:
        super().__init__(
            "Accept the current version of: " + ", ".join(missing) + ".", missing=missing
        )
        self.missing = missing
