"""Route access declarations (docs/security.md "Access control": deny by default).

A route is protected unless it says otherwise: the typed caller dependencies (``CurrentPatient``,
``RecentlyAuthenticatedAdmin``, ...) answer 401/403 for everyone else. A route that anyone may call
declares it with ``openapi_extra=PUBLIC``, which also documents it in the OpenAPI document
(``x-erdv-access: public``); the access tests walk that document and hold every route to its word.
"""

from __future__ import annotations

from typing import Any

ACCESS_KEY = "x-erdv-access"
PUBLIC: dict[str, Any] = {ACCESS_KEY: "public"}
