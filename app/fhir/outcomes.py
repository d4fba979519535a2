"""Errors under ``/fhir/r4`` as ``OperationOutcome`` resources (FHIR R4 RESTful API, "Handling
Errors"), with the status and the meaning of the JSON API's problem documents: the problem's code is
the issue's ``details`` coding (system ``urn:erdv:problem``), so a client maps both APIs' errors
with one table (docs/api.md "Errors"). Registered by ``app.main`` as the problem renderer of the
``/fhir/`` prefix (``app.core.handlers.ProblemRenderer``)."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from app.fhir.resources import FHIR_MEDIA_TYPE, PROBLEM_SYSTEM, validated

#: the R4 IssueType for each HTTP status our problems use
_ISSUE_TYPE = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    413: "too-costly",
    415: "not-supported",
    422: "invalid",
    429: "throttled",
    503: "transient",
}


#: the OpenAPI schema of an error under ``/fhir/`` (``app.openapi``): enough for a client to know
#: where the problem code sits; the resource itself is validated by ``fhir.resources``
OUTCOME_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A FHIR R4 OperationOutcome; `issue[0].details.coding[0].code` is the stable "
    f"problem code (system `{PROBLEM_SYSTEM}`, docs/api.md 'FHIR R4').",
    "required": ["resourceType", "issue"],
    "properties": {
        "resourceType": {"type": "string", "enum": ["OperationOutcome"]},
        "issue": {"type": "array", "minItems": 1, "items": {"type": "object"}},
    },
}


def render_outcome(
    status: int,
    code: str,
    title: str,
    detail: str,
    request_id: str | None,
    headers: dict[str, str] | None,
    extra: dict[str, Any],
) -> JSONResponse:
    issue_type = _ISSUE_TYPE.get(status, "exception" if status >= 500 else "processing")
    issues: list[dict[str, Any]] = [
        {
            "severity": "error" if status < 500 else "fatal",
            "code": issue_type,
            "details": {
                "coding": [{"system": PROBLEM_SYSTEM, "code": code, "display": title}],
                "text": detail,
            },
            "diagnostics": f"request id {request_id}" if request_id else None,
        }
    ]
    # a validation problem's fields, one issue each, named by FHIRPath where FHIR has one
    for error in extra.get("errors") or ():
        issues.append(
            {
                "severity": "error",
                "code": "invalid",
                "details": {"text": str(error.get("message", ""))},
                "expression": [str(error.get("field", ""))] if error.get("field") else None,
            }
        )
    outcome = validated({"resourceType": "OperationOutcome", "issue": issues})
    return JSONResponse(outcome, status_code=status, headers=headers, media_type=FHIR_MEDIA_TYPE)
