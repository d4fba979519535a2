"""Issue 20: the OpenAPI document declares who may call each operation, and its answers are true
(the schemathesis runs in tests/fuzz check the rest against a live server)."""

from __future__ import annotations

import httpx

from tests.helpers.problems import assert_problem


async def test_every_operation_declares_its_security(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["session"] == {**schemes["session"], "type": "apiKey", "in": "cookie"}
    assert schemes["csrf"]["name"] == "X-CSRF-Token"
    assert schemes["bearer"]["scheme"] == "bearer"
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            security = operation["security"]
            assert security, f"{method} {path}"
            for requirement in security:
                if "session" in requirement and method in ("post", "put", "patch", "delete"):
                    if path != "/oauth/authorize":  # the consent form's token is a form field
                        assert "csrf" in requirement, f"{method} {path}"
            for status, response in operation["responses"].items():
                content = response.get("content", {})
                assert "HTTPValidationError" not in str(content), f"{method} {path} {status}"
                if status == "422":  # FHIR's errors are OperationOutcomes (docs/api.md)
                    media = "fhir" if path.startswith("/fhir/") else "problem"
                    assert list(content) == [f"application/{media}+json"], f"{method} {path}"
    paths = document["paths"]
    assert paths["/api/v1/me/appointments"]["get"]["security"] == [
        {"session": []},
        {"bearer": ["appointments:read"]},
    ]
    assert paths["/api/v1/appointments"]["post"]["security"] == [
        {"session": [], "csrf": []},
        {"bearer": ["appointments:write"]},
    ]
    assert paths["/api/v1/me/consents"]["get"]["security"] == [{"session": []}]
    assert {} in paths["/api/v1/practitioners"]["get"]["security"]
    assert "401" in paths["/api/v1/practitioners"]["get"]["responses"]  # a bad token
    assert "429" in paths["/api/v1/me/appointments"]["get"]["responses"]  # the client's limit


async def test_405_lists_every_method_of_the_resource(client: httpx.AsyncClient) -> None:
    answer = await client.request("OPTIONS", "/api/v1/me/absences")
    assert answer.status_code == 405
    assert answer.headers["Allow"] == "GET, POST"
    assert_problem(answer, 405, "method_not_allowed")


async def test_an_undecodable_body_is_a_422(client: httpx.AsyncClient) -> None:
    answer = await client.post(
        "/api/v1/auth/login",
        content=b"\xff\xfe\x00garbage",
        headers={"Content-Type": "application/json"},
    )
    assert_problem(answer, 422, "validation_error")


async def test_a_nul_in_a_query_parameter_is_a_422_on_every_database(
    client: httpx.AsyncClient,
) -> None:
    """The document says no string holds a NUL; SQLite would have searched for one (200)."""
    answer = await client.get("/api/v1/practitioners?q=a%00b")
    assert_problem(answer, 422, "validation_error")
    document = (await client.get("/openapi.json")).json()
    q = next(
        p
        for p in document["paths"]["/api/v1/practitioners"]["get"]["parameters"]
        if p["name"] == "q"
    )
    assert q["schema"]["anyOf"][0]["pattern"] == "^[^\\x00]*$"
