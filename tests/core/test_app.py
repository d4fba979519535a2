"""The application shell: probes, problem documents, security headers, request ids."""

from __future__ import annotations

import gc
import logging
import weakref
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from app.core.middleware import CONTENT_SECURITY_POLICY
from app.core.schemas import Schema
from app.core.settings import Settings
from app.main import create_app
from tests.factories import People
from tests.helpers.lifespan import lifespan
from tests.helpers.problems import assert_problem

SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}


def assert_security_headers(response: httpx.Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, name
    assert "strict-transport-security" not in response.headers  # not in development/test


class Echo(Schema):
    name: str
    count: int


@pytest.fixture
def probe_routes(app: FastAPI) -> FastAPI:
    """Routes that exist only in tests, to exercise validation and crash handling."""

    @app.post("/api/v1/_test/echo")
    async def echo(body: Echo) -> Echo:
        return body

    @app.get("/api/v1/_test/crash")
    async def crash() -> None:
        raise RuntimeError("secret internals: password=hunter2 SELECT * FROM account")

    return app


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert_security_headers(response)


async def test_start_up_objects_stay_out_of_garbage_collections(settings: Settings) -> None:
    """The objects start-up made are frozen while the app serves (no collection scans them: the
    pauses bench/README.md measured), later garbage is collected as before, and everything goes
    back to the collector when the app stops."""
    application = create_app(settings)
    assert gc.get_freeze_count() == 0
    async with lifespan(application):
        assert gc.get_freeze_count() > 50_000  # modules, models, statements: all of start-up

        class Node:
            other: object = None

        collected: list[bool] = []
        first, second = Node(), Node()
        first.other, second.other = second, first  # a cycle: only the collector frees it
        weakref.finalize(first, collected.append, True)
        del first, second
        gc.collect()
        assert collected == [True]
    assert gc.get_freeze_count() == 0


async def test_helper_threads_get_the_gil_back_within_half_a_millisecond(
    settings: Settings,
) -> None:
    """While the app serves, a thread that finished its wait (a SQLite commit's fsync, an argon2
    hash) gets the GIL within 0.5 ms instead of CPython's 5 ms slice of the event loop's work;
    the process's own setting is back when the app stops."""
    import sys

    before = sys.getswitchinterval()
    application = create_app(settings)
    async with lifespan(application):
        assert sys.getswitchinterval() == pytest.approx(0.0005)
    assert sys.getswitchinterval() == before


async def test_readyz_when_database_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


async def test_unknown_path_is_a_404_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/does-not-exist")
    assert_problem(response, 404, "not_found")
    assert_security_headers(response)
    assert response.headers["cache-control"] == "no-store"


async def test_an_id_that_is_not_one_of_ours_is_a_404_like_an_unknown_one(
    client: httpx.AsyncClient, people: People
) -> None:
    """API.md: ids are opaque strings, and an object a caller cannot see is a 404 as if it did
    not exist; a string that is not a UUID names no object either (it was a 422 describing our id
    format). A bad query parameter stays a 422."""
    alice = await people.signed_in()
    for path in (
        "/api/v1/appointments/not-a-uuid",
        "/api/v1/appointments/00000000-0000-4000-8000-000000000000",
    ):
        assert_problem(await alice.get(path), 404, "not_found")
    assert_problem(await alice.delete("/api/v1/me/relatives/42"), 404, "not_found")
    assert_problem(await client.get("/api/v1/practitioners/dr-house"), 404, "not_found")
    assert_problem(await client.get("/api/v1/practitioners/dr-house/slots"), 404, "not_found")
    refused = await client.get("/api/v1/practitioners", params={"limit": "lots"})
    assert_problem(refused, 422, "validation_error")


async def test_a_browser_gets_the_app_page_for_an_unknown_address(
    client: httpx.AsyncClient,
) -> None:
    """A mistyped address in a browser shows the app's own "page not found" (its router knows no
    such path), answered 404; programs, and every API path, keep the problem document."""
    html = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
    page = await client.get("/this-page-does-not-exist", headers=html)
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/static/js/app.js">' in page.text
    assert_security_headers(page)
    for path in ("/api/v1/nothing", "/oauth/nothing", "/.well-known/nothing", "/static/nothing.js"):
        assert_problem(await client.get(path, headers=html), 404, "not_found")
    assert_problem(await client.get("/this-page-does-not-exist"), 404, "not_found")
    assert_problem(await client.post("/this-page-does-not-exist", headers=html), 404, "not_found")


async def test_wrong_method_is_a_405_problem(client: httpx.AsyncClient) -> None:
    response = await client.delete("/healthz")
    assert_problem(response, 405, "method_not_allowed")


@pytest.mark.usefixtures("probe_routes")
async def test_malformed_json_is_a_422_problem(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/_test/echo", content=b'{"name": "x",', headers={"content-type": "application/json"}
    )
    body = assert_problem(response, 422, "validation_error")
    assert body["errors"], body
    assert all(set(e) == {"field", "message", "type"} for e in body["errors"])


@pytest.mark.usefixtures("probe_routes")
async def test_unknown_and_wrong_fields_are_listed(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/_test/echo", json={"name": "x", "count": "many", "admin": True}
    )
    body = assert_problem(response, 422, "validation_error")
    fields = {e["field"]: e["message"] for e in body["errors"]}
    assert fields["admin"] == "Unknown field"
    assert "count" in fields


@pytest.mark.usefixtures("probe_routes")
async def test_valid_request_passes(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/_test/echo", json={"name": "x", "count": 2})
    assert response.status_code == 200
    assert response.json() == {"name": "x", "count": 2}
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.usefixtures("probe_routes")
async def test_crash_is_a_500_problem_with_nothing_internal(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="erdv.access"):
        response = await client.get("/api/v1/_test/crash")
    body = assert_problem(response, 500, "internal_error")
    assert_security_headers(response)
    for leak in ("hunter2", "SELECT", "Traceback", "RuntimeError", "password"):
        assert leak not in response.text
    assert str(body["request_id"]) in str(body["detail"])
    # The traceback goes to the server log, tied to the same request id.
    assert any(r.exc_info for r in caplog.records)


async def test_request_ids_are_always_our_own(client: httpx.AsyncClient) -> None:
    """A client-chosen id would land in audit entries (SECURITY.md: audit integrity)."""
    response = await client.get("/healthz", headers={"x-request-id": "abc-123-def-456"})
    assert response.headers["x-request-id"] != "abc-123-def-456"
    assert len(response.headers["x-request-id"]) == 32


@pytest.mark.usefixtures("probe_routes")
async def test_large_bodies_are_refused_with_413(client: httpx.AsyncClient) -> None:
    big = b'{"name": "' + b"x" * (2 * 1024 * 1024) + b'", "count": 1}'
    declared = await client.post(
        "/api/v1/_test/echo", content=big, headers={"content-type": "application/json"}
    )
    assert_problem(declared, 413, "payload_too_large")

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
        for _ in range(40):
            yield b"x" * 65536

    streamed = await client.post("/api/v1/_test/echo", content=chunks())
    assert_problem(streamed, 413, "payload_too_large")


@pytest.mark.usefixtures("probe_routes")
async def test_nul_characters_are_a_422_not_a_500(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/_test/echo", json={"name": "a\u0000b", "count": 1})
    assert_problem(response, 422, "validation_error")


async def test_static_home_has_no_inline_script(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert "<script>" not in response.text
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "no-store" not in response.headers.get("cache-control", "")


async def test_openapi_document_is_public(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "erdv"


async def test_access_log_has_route_template_not_query(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="erdv.access"):
        await client.get("/healthz?email=alice@example.org")
    records = [r for r in caplog.records if r.name == "erdv.access"]
    assert records
    rendered = " ".join(str(r.__dict__) for r in records)
    assert "alice" not in rendered
    assert records[-1].__dict__["route"] == "/healthz"


def test_text_logs_carry_the_extra_fields() -> None:
    from app.core.logging import TextFormatter

    record = logging.LogRecord("erdv.access", logging.INFO, __file__, 1, "request", None, None)
    record.request_id = "abc"
    record.route = "/healthz"
    record.status = 200
    line = TextFormatter().format(record)
    assert "[abc] request" in line
    assert "route=/healthz" in line
    assert "status=200" in line
    # the time leads the line, once: the formatter's own asctime is not an extra field
    assert "asctime=" not in line


async def test_no_request_reaches_an_opentelemetry_provider(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FastAPI traces every request into a configured OpenTelemetry provider on its own: spans
    with client addresses, user agents and paths would leave erdv for whatever collector the host
    points at. erdv's own logs are the reviewed channel (app.core.logging); native telemetry is
    off, whatever the environment configures."""
    from opentelemetry import trace
    from opentelemetry.util.types import Attributes

    asked: list[str] = []

    class Provider(trace.TracerProvider):  # a configured one, as an SDK's would be
        def get_tracer(
            self,
            instrumenting_module_name: str,
            instrumenting_library_version: str | None = None,
            schema_url: str | None = None,
            attributes: Attributes = None,
        ) -> trace.Tracer:
            asked.append(instrumenting_module_name)
            return trace.NoOpTracer()

    monkeypatch.setattr(trace, "get_tracer_provider", Provider)
    app = create_app(settings)
    async with lifespan(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            assert (await client.get("/healthz")).status_code == 200
    assert asked == []
