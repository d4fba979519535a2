"""The outermost ASGI layer: request ids, security headers, access log, last-resort 500s.

Written as plain ASGI rather than ``BaseHTTPMiddleware`` so that streamed exports pass through without
buffering and context variables (the request id) reach the handlers.

Headers follow ``docs/api.md`` "Headers and caching" and ``docs/security.md`` "Headers" (ASVS V3.4):
a CSP that allows only ``'self'`` (no inline script, no third-party origin: charter C4 and the 2021
ad-tracker case), ``no-store`` on every API and OAuth answer, HSTS in production.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import MutableMapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.logging import client_ip_var, request_id_var
from app.core.problems import problem_bytes

logger = logging.getLogger("erdv.access")

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
#: what an origin in a CSP source list may be made of (scheme://host[:port], RFC 6454 §6.2)
_ORIGIN = re.compile(
    r"^(https?)://([a-z0-9.-]+|\[[0-9a-f:.]+\])(:[0-9]{1,5})?$",
    re.IGNORECASE,
)


def policy_with_form_target(origin: str) -> str:
    """The site's policy, with one more origin a form of this page may submit to.

    ``form-action`` also governs the redirects that follow a form's submission (CSP 3, §6.4.2): the
    OAuth consent page's form posts to erdv, whose 303 sends the browser on to the client's
    redirect URI, on another origin. That page, and only it, names that one origin (the registered,
    validated redirect URI's); every other page keeps ``form-action 'self'``. A value that is not a
    plain origin is refused rather than pasted into the header.
    """
    if not _ORIGIN.match(origin):
        raise ValueError("not an origin")
    return CONTENT_SECURITY_POLICY.replace("form-action 'self'", f"form-action 'self' {origin}")


_BASE_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
)
_HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
_NO_STORE = (b"cache-control", b"no-store")
#: every answer that may carry personal data or a token: the JSON API, OAuth, and the FHIR facade
#: (a patient's appointments through a Bearer token), as the contract's conventions want
_NO_STORE_PREFIXES = ("/api/", "/oauth/", "/.well-known/", "/fhir/")
DEFAULT_MAX_BODY_BYTES = 1024 * 1024


class _BodyTooLarge(HTTPException):
    """An HTTPException so that the framework's body parsing lets it through as a 413 (it turns
    any other error raised while reading the body into a 400)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"Request bodies are limited to {limit} bytes.")


class RequestContextMiddleware:
    """Also bounds request bodies (``max_body_bytes``): nothing erdv accepts is large, and an
    unbounded body read into memory is a cheap denial of service."""

    def __init__(
        self, app: ASGIApp, *, production: bool, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    ) -> None:
        self.app = app
        self.extra_headers = _BASE_HEADERS + ((_HSTS,) if production else ())
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        request_id = self._request_id(scope)
        token = request_id_var.set(request_id)
        client = scope.get("client")
        ip_token = client_ip_var.set(client[0] if client else None)
        scope.setdefault("state", {})["request_id"] = request_id
        path: str = scope["path"]
        no_store = path.startswith(_NO_STORE_PREFIXES)
        started = time.perf_counter()
        status_holder: dict[str, int] = {}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                headers: list[tuple[bytes, bytes]] = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"
                ]
                present = {k.lower() for k, _ in headers}
                headers.extend(h for h in self.extra_headers if h[0] not in present)
                if no_store:
                    headers = [h for h in headers if h[0].lower() != b"cache-control"]
                    headers.append(_NO_STORE)
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        declared = _content_length(scope)
        received = 0

        async def bounded_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise _BodyTooLarge(self.max_body_bytes)
            return message

        try:
            if declared is not None and declared > self.max_body_bytes:
                raise _BodyTooLarge(self.max_body_bytes)
            await self.app(scope, bounded_receive, send_with_headers)
        except _BodyTooLarge:
            if "status" in status_holder:
                raise
            await self._send_problem(
                send_with_headers,
                status=413,
                code="payload_too_large",
                title="Payload too large",
                detail=f"Request bodies are limited to {self.max_body_bytes} bytes.",
                request_id=request_id,
            )
        except Exception:
            logger.exception("unhandled error", extra={"route": _route(scope)})
            if "status" in status_holder:
                raise  # the response already started: nothing sane can be sent any more
            await self._send_problem(
                send_with_headers,
                status=500,
                code="internal_error",
                title="Internal error",
                detail=f"An unexpected error occurred. Quote request id {request_id} to support.",
                request_id=request_id,
            )
        finally:
            logger.info(
                "request",
                extra={
                    "method": scope.get("method"),
                    "route": _route(scope),
                    "status": status_holder.get("status", 500),
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            request_id_var.reset(token)
            client_ip_var.reset(ip_token)

    @staticmethod
    async def _send_problem(send: Send, **problem: object) -> None:
        body = problem_bytes(**problem)
        await send(
            {
                "type": "http.response.start",
                "status": problem["status"],
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    def _request_id(scope: Scope) -> str:
        """Always our own: a client-chosen id would end up in audit entries, where a caller could
        make unrelated entries look related."""
        return uuid.uuid4().hex


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", []):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _route(scope: MutableMapping[str, Any]) -> str:
    """The matched route template, or a placeholder: raw paths may carry identifiers."""
    route = scope.get("route")
    template: object = getattr(route, "path_format", None) or getattr(route, "path", None)
    return str(template) if template else "<unmatched>"
