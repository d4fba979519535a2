"""Problem documents as ``shared/API.md`` words them (RFC 9457), and the allowance's 429."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is a complete problem document with this status and stable ``code``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert isinstance(body, dict), body
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"].endswith(code)
    assert body["title"]
    assert body["detail"]
    assert body["request_id"] == response.headers["x-request-id"]
    return body


def assert_refused(response: httpx.Response, status: int, code: str) -> None:
    """A refusal in the shape of the API that answered: a problem document, or under ``/fhir/``
    the OperationOutcome carrying the same code (docs/api.md "FHIR R4"); tests/fhir checks the
    OperationOutcome in full against the R4 models."""
    if not response.request.url.path.startswith("/fhir/"):
        assert_problem(response, status, code)
        return
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/fhir+json"
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["details"]["coding"][0]["code"] == code, body


async def successes_before_429(
    call: Callable[[int], Awaitable[httpx.Response]], *, ok: int = 200, tries: int = 20
) -> int:
    """Calls ``call(0)``, ``call(1)``... answered ``ok`` before the first one refused as the
    contract words it: 429 ``rate_limited`` with a positive ``Retry-After``."""
    for n in range(tries):
        response = await call(n)
        if response.status_code == 429:
            assert_problem(response, 429, "rate_limited")
            assert int(response.headers["Retry-After"]) > 0
            return n
        assert response.status_code == ok, response.text
    raise AssertionError(f"never refused in {tries} calls")
