"""The OpenAPI document, made true (docs/api.md "The OpenAPI document").

FastAPI describes each route from its signature; three things it cannot know are added here, once,
when the document is first asked for:

- **Who may call, per operation** (OpenAPI ``security``): the session cookie, with the
  ``X-CSRF-Token`` header on unsafe methods; a Bearer token with the OAuth scope the route names
  (``app.auth.authenticator``); nobody at all on public routes (an empty requirement). They are read
  from the same dependencies that enforce them, so the document cannot drift from the code.
- **Errors are problem documents**: every problem answer is ``application/problem+json`` with the
  ``Problem`` schema, 422 included (FastAPI documents its own ``HTTPValidationError`` as
  ``application/json``, which erdv never sends); under ``/fhir/`` the same problems are
  ``application/fhir+json`` OperationOutcomes (``app.fhir.outcomes``).
- The session cookie's name over HTTPS (``__Host-erdv_session``) is named in its scheme's text.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from app.accounts.principal import SECURE_SESSION_COOKIE, SESSION_COOKIE
from app.auth.authenticator import Authenticator, PublicCaller
from app.auth.sessions import any_session, full_session
from app.core.access import ACCESS_KEY
from app.core.problems import PROBLEM_MEDIA_TYPE
from app.fhir.outcomes import OUTCOME_SCHEMA
from app.fhir.resources import FHIR_MEDIA_TYPE

SESSION = "session"
CSRF = "csrf"
BEARER = "bearer"
CLIENT = "oauthClient"
_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_OUTCOME_REF = {"$ref": "#/components/schemas/OperationOutcome"}


def _error_shape(path: str) -> tuple[str, dict[str, Any]]:
    """The media type and schema of a route's problem answers (``app.core.handlers``)."""
    if path.startswith("/fhir/"):
        return FHIR_MEDIA_TYPE, _OUTCOME_REF
    return PROBLEM_MEDIA_TYPE, _PROBLEM_REF


SECURITY_SCHEMES: dict[str, Any] = {
    SESSION: {
        "type": "apiKey",
        "in": "cookie",
        "name": SESSION_COOKIE,
        "description": (
            f"The browser session (`{SESSION_COOKIE}`; `{SECURE_SESSION_COOKIE}` over HTTPS), "
            "set by the login steps. HttpOnly: a browser sends it by itself."
        ),
    },
    CSRF: {
        "type": "apiKey",
        "in": "header",
        "name": "X-CSRF-Token",
        "description": "The synchronizer token from the login steps or `GET /api/v1/auth/session`; "
        "required with the session cookie on every unsafe method.",
    },
    BEARER: {
        "type": "http",
        "scheme": "bearer",
        "description": "An access token from `/oauth/token` (RFC 6750), acting for the patient who "
        "consented, or for the client alone (`client_credentials`). Each operation names the "
        "OAuth scope it needs (`/.well-known/oauth-authorization-server`).",
    },
    CLIENT: {
        "type": "http",
        "scheme": "basic",
        "description": "OAuth client authentication (`client_secret_basic`); "
        "`client_secret_post` sends the same in the form instead.",
    },
}

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details; `code` is stable (docs/api.md, 'Errors').",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "request_id": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string"},
                    "message": {"type": "string", "description": "English"},
                    "type": {
                        "type": "string",
                        "description": "Stable kind of error (invalid_rpps, missing, ...), to "
                        "say it in the reader's language",
                    },
                },
            },
        },
    },
}


def _calls(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def _door(route: APIRoute) -> Authenticator | PublicCaller | None:
    """The ``Authenticator`` or ``PublicCaller`` a route declares, if any (``app.auth``)."""
    for call in _calls(route.dependant):
        if isinstance(call, Authenticator | PublicCaller):
            return call
    return None


def _token_scope(route: APIRoute) -> tuple[str, bool] | None:
    """The scope a route asks of a Bearer token, if it takes tokens at all, and whether it takes a
    session too (an ``Authenticator`` does, a ``PublicCaller`` needs none)."""
    door = _door(route)
    if door is None or door.scope is None:
        return None
    return door.scope, isinstance(door, Authenticator)


def security_of(route: APIRoute, method: str, public: bool) -> list[dict[str, list[str]]]:
    """The OpenAPI security requirements of one operation (alternatives, any one suffices)."""
    if route.path == "/oauth/authorize":
        # the consent form carries its CSRF token in a hidden field, not in the header
        return [{}, {SESSION: []}] if method == "GET" else [{SESSION: []}]
    if route.path.startswith("/oauth/") and method == "POST":
        return [{CLIENT: []}, {}]  # client_secret_basic, or client_secret_post in the form
    calls = set(_calls(route.dependant))
    token = _token_scope(route)
    session: dict[str, list[str]] = {SESSION: []}
    if method in _UNSAFE:
        session[CSRF] = []
    requirements: list[dict[str, list[str]]] = []
    if public:
        requirements.append({})
    if calls & {any_session, full_session} or isinstance(_door(route), Authenticator):
        requirements.append(session)
    elif public and token is not None:
        requirements.append({SESSION: []})  # a signed-in person's reads count against them
    if token is not None:
        requirements.append({BEARER: [token[0]]})
    if not requirements:  # logout: a session if there is one, else nothing to end
        requirements = [{}, session]
    return requirements


#: RFC 6749 §4.1.2.1: an unknown client or redirect URI gets an error page, never a redirect
_AUTHORIZE_ERROR_PAGE: dict[str, Any] = {
    "description": "An error page: the client or its redirect URI is unknown or invalid",
    "content": {"text/html": {"schema": {"type": "string"}}},
}


def _answers_of(security: list[dict[str, list[str]]]) -> list[tuple[int, str]]:
    """The problems a way in can answer, whatever the route: a session that is missing or half
    done, a CSRF token that does not match; a token that is invalid, lacks the scope, or whose
    client spent its allowance (``app.oauth.service``)."""
    answers: list[tuple[int, str]] = []
    if {} not in security:
        answers.append((401, "not_authenticated"))
    if any(SESSION in requirement for requirement in security) and {} not in security:
        answers.append((401, "mfa_required"))
    if any(CSRF in requirement for requirement in security):
        answers.append((403, "csrf_failed"))
    if any(BEARER in requirement for requirement in security):
        answers += [(401, "invalid_token"), (403, "insufficient_scope"), (429, "rate_limited")]
    return answers


def _complete(operation: dict[str, Any], answers: list[tuple[int, str]], media: str) -> None:
    responses = operation.setdefault("responses", {})
    for status, code in answers:
        response = responses.setdefault(str(status), {"description": "", "content": {media: {}}})
        if f"`{code}`" not in response["description"]:
            response["description"] = ", ".join(
                filter(None, [response["description"], f"`{code}`"])
            )
        response.setdefault("content", {}).setdefault(media, {})


def _problems(operation: dict[str, Any], media: str, schema: dict[str, Any]) -> None:
    for status, response in operation.get("responses", {}).items():
        content = response.get("content", {})
        if status == "422":
            response["description"] = response.get("description") or "`validation_error`"
            if response["description"] == "Validation Error":
                response["description"] = "`validation_error`"
            content.pop("application/json", None)
            content[media] = {}
            response["content"] = content
        if media in content and (status.startswith(("4", "5")) or media == PROBLEM_MEDIA_TYPE):
            content[media] = {"schema": schema}


def _api_routes(app: FastAPI) -> Iterator[APIRoute]:
    """Every API route with its router's prefix and dependencies applied. FastAPI 0.16x keeps
    included routers nested (``iter_route_contexts`` flattens them, as its own ``get_openapi``
    does); earlier releases copied their routes into the app's list."""
    contexts = getattr(routing, "iter_route_contexts", None)
    routes: Iterator[Any] = iter(contexts(app.routes) if contexts else app.routes)
    for route in routes:
        original = getattr(route, "original_route", route)
        if isinstance(original, APIRoute):
            yield route


#: ``app.core.schemas.Schema`` refuses NUL characters in request bodies, and the database refuses
#: them in query parameters (422 either way): the document says so, on every free-text string
_NO_NUL = "^[^\\x00]*$"


def _without_nul(schema: Any) -> None:
    if isinstance(schema, list):
        for item in schema:
            _without_nul(item)
        return
    if not isinstance(schema, dict):
        return
    if schema.get("type") == "string" and not {"pattern", "format", "enum", "const"} & set(schema):
        schema["pattern"] = _NO_NUL
    for key in ("properties", "items", "anyOf", "oneOf", "allOf", "additionalProperties"):
        value = schema.get(key)
        if isinstance(value, dict) and key == "properties":
            for item in value.values():
                _without_nul(item)
        else:
            _without_nul(value)


def build(app: FastAPI) -> dict[str, Any]:
    document = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        routes=app.routes,
    )
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    for schema in schemas.values():
        _without_nul(schema)
    schemas["Problem"] = PROBLEM_SCHEMA
    schemas["OperationOutcome"] = OUTCOME_SCHEMA
    components["securitySchemes"] = SECURITY_SCHEMES
    for route in _api_routes(app):
        if not route.include_in_schema:
            continue
        for method in route.methods or ():
            operation = document["paths"].get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            for parameter in operation.get("parameters", []):
                _without_nul(parameter.get("schema"))
            public = operation.get(ACCESS_KEY) == "public"
            security = security_of(route, method, public)
            operation["security"] = security
            media, schema = _error_shape(route.path)
            if not route.path.startswith("/oauth/"):  # OAuth answers RFC 6749 JSON errors
                _complete(operation, _answers_of(security), media)
            elif route.path == "/oauth/authorize":
                operation["responses"].setdefault("400", _AUTHORIZE_ERROR_PAGE)
            _problems(operation, media, schema)
    return document


def install(app: FastAPI) -> None:
    """``app.openapi()`` builds the document once, then serves it from memory."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
