"""RFC 9457 problem documents: the one shape every error response takes."""

from __future__ import annotations

import json
from typing import Any

PROBLEM_MEDIA_TYPE = "application/problem+json"
#: Non-dereferenceable but stable type URIs (RFC 9457 §3.1.1); the code is the last segment.
PROBLEM_TYPE_BASE = "urn:erdv:problem:"


def problem_body(
    *, status: int, code: str, title: str, detail: str, request_id: str | None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if request_id:
        body["request_id"] = request_id
    body.update(extra)
    return body


def problem_bytes(**kwargs: Any) -> bytes:
    return json.dumps(problem_body(**kwargs), ensure_ascii=False).encode("utf-8")


def problem_responses(
    *codes: tuple[int, str], content: dict[str, Any] | None = None
) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` naming the problem codes a route may answer (``(409, "x")``, ...),
    as RFC 9457 problems unless ``content`` names another body (the FHIR API's
    OperationOutcomes)."""
    out: dict[int | str, dict[str, Any]] = {}
    for status, name in codes:
        entry = out.setdefault(
            status,
            {"description": "", "content": content or {PROBLEM_MEDIA_TYPE: {}}},
        )
        entry["description"] = ", ".join(filter(None, [entry["description"], f"`{name}`"]))
    return out


#: ``openapi_extra`` key of a route whose refused body answers its own domain's code, not
#: ``validation_error``: ``{"code", "title"}`` (API.md: ``PUT /me/availability`` answers 422
#: ``invalid_availability``, whether the engine or the schema refuses the hours). The ``errors``
#: list is the same; a refused query or path parameter stays ``validation_error``.
INVALID_BODY = "x-erdv-invalid-body"


def invalid_body(code: str, title: str) -> dict[str, Any]:
    """The route's ``openapi_extra`` for ``INVALID_BODY``."""
    return {INVALID_BODY: {"code": code, "title": title}}
