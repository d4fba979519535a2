"""The errors of the door itself (the rest are the accounts' and core's: ``app.core.errors``)."""

from __future__ import annotations

from app.core.errors import Forbidden


class InsufficientScope(Forbidden):
    code = "insufficient_scope"
    title = "Insufficient scope"

    def __init__(self, scope: str | None) -> None:
        challenge = 'Bearer error="insufficient_scope"'
        if scope:
            challenge += f', scope="{scope}"'
        detail = (
            f"This route needs a token with the scope {scope!r}."
            if scope
            else "This route does not accept OAuth access tokens."
        )
        super().__init__(detail, headers={"WWW-Authenticate": challenge})
