"""Exception handlers: every error becomes one problem document, rendered here and nowhere else."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.errors import HTTP_STATUS_CODES, DatabaseUnavailable, ErdvError, NotFound
from app.core.problems import INVALID_BODY, PROBLEM_MEDIA_TYPE, problem_body

logger = logging.getLogger("erdv.errors")


ProblemRenderer = Callable[
    [int, str, str, str, str | None, dict[str, str] | None, dict[str, Any]], JSONResponse
]
"""Writes a problem (status, code, title, detail, request id, headers, extra members) in the
shape of an API under a path prefix; ``app.state.problem_renderers`` lists ``(prefix, renderer)``
pairs, set by the composition root (core names no domain)."""


def problem_response(
    request: Request,
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    request_id = getattr(request.state, "request_id", None)
    renderers: list[tuple[str, ProblemRenderer]] = getattr(
        request.app.state, "problem_renderers", []
    )
    for prefix, render in renderers:
        if request.url.path.startswith(prefix):
            # an API with its own error shape (FHIR's OperationOutcome): the same problem,
            # written its way (``ProblemRenderer``)
            return render(status, code, title, detail, request_id, headers, extra)
    body = problem_body(
        status=status, code=code, title=title, detail=detail, request_id=request_id, **extra
    )
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


def render_error(request: Request, error: ErdvError) -> JSONResponse:
    return problem_response(
        request,
        status=error.status,
        code=error.code,
        title=error.title,
        detail=error.detail,
        headers=error.headers,
        **error.extra,
    )


async def _erdv_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ErdvError)  # noqa: S101 - registered for ErdvError only
    return render_error(request, error)


#: FastAPI's answer to a body it cannot decode (bytes that are not UTF-8, say); a JSON syntax
#: error is already a 422, and so is this: the request is not valid (docs/api.md "Errors")
_UNPARSABLE_BODY = "There was an error parsing the body"
#: where machines call: an unknown path there stays a problem document, whoever asks
MACHINE_PREFIXES = ("/api/", "/oauth/", "/.well-known/", "/fhir/", "/static/")


def _wants_a_page(request: Request) -> bool:
    """A person's browser navigating to an address (``Accept: text/html``), not a program."""
    return (
        request.method in {"GET", "HEAD"}
        and not request.url.path.startswith(MACHINE_PREFIXES)
        and "text/html" in request.headers.get("accept", "")
    )


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)  # noqa: S101
    if error.status_code == 404 and _wants_a_page(request):
        static_dir: Path | None = getattr(request.app.state, "static_dir", None)
        shell = static_dir / "index.html" if static_dir is not None else None
        if shell is not None and shell.is_file():
            # a mistyped address: the app's own "page not found" (its router knows no such
            # path), still answered 404; the API keeps its problem documents
            return FileResponse(shell, status_code=404)
    if error.status_code == 400 and error.detail == _UNPARSABLE_BODY:
        return _invalid(
            request,
            [
                {
                    "field": "body",
                    "message": "Request body is not valid JSON",
                    "type": "json_invalid",
                }
            ],
        )
    code, title = HTTP_STATUS_CODES.get(error.status_code, ("http_error", "HTTP error"))
    detail = error.detail if isinstance(error.detail, str) and error.status_code != 500 else title
    headers = dict(error.headers or {})
    if error.status_code == 405:
        allowed = _allowed_methods(request, headers.get("Allow"))
        if allowed:
            headers["Allow"] = allowed
    return problem_response(
        request, status=error.status_code, code=code, title=title, detail=detail, headers=headers
    )


def _allowed_methods(request: Request, fallback: str | None) -> str | None:
    """RFC 9110 §15.5.6: ``Allow`` lists every method of the resource, as the OpenAPI document
    declares them. Starlette names only those of the first route whose path matched, and a path
    served by several routes (``GET`` and ``POST /api/v1/me/absences``) has more."""
    path = request.url.path
    for template, operations in request.app.openapi().get("paths", {}).items():
        if _template(template).fullmatch(path):
            return ", ".join(sorted(m.upper() for m in operations if m in _HTTP_METHODS))
    return fallback


_HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


@functools.lru_cache(maxsize=512)
def _template(path: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)))


def _field_name(loc: tuple[int | str, ...]) -> str:
    # ("body", "email") -> "email"; ("query", "limit") -> "limit"; ("body",) -> "body"
    parts = [str(p) for p in loc[1:]] if len(loc) > 1 else [str(p) for p in loc]
    return ".".join(parts)


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)  # noqa: S101
    where = {str((tuple(item.get("loc", ())) or ("",))[0]) for item in error.errors()}
    if where == {"path"}:
        # an id that is not one of ours (API.md: ids are opaque strings) names nothing: 404, as
        # an unknown or someone else's object does, not a 422 that describes our id format
        return render_error(request, NotFound("No such resource."))
    errors = []
    for item in error.errors():
        message = str(item.get("msg", "invalid value"))
        if item.get("type") == "json_invalid":
            message = "Request body is not valid JSON"
        elif item.get("type") == "extra_forbidden":
            message = "Unknown field"
        errors.append(
            {
                "field": _field_name(tuple(item.get("loc", ()))),
                "message": message,
                # stable and machine-readable (pydantic's error type, or our own), so a client
                # can say it in the reader's language; the message is English
                "type": str(item.get("type", "value_error")),
            }
        )
    route = request.scope.get("route")
    own = (getattr(route, "openapi_extra", None) or {}).get(INVALID_BODY)
    if own is not None and where == {"body"}:
        return _invalid(request, errors, code=own["code"], title=own["title"])
    return _invalid(request, errors)


def _invalid(
    request: Request,
    errors: list[dict[str, str]],
    *,
    code: str = "validation_error",
    title: str = "Validation error",
) -> JSONResponse:
    return problem_response(
        request,
        status=422,
        code=code,
        title=title,
        detail="The request is not valid; see errors.",
        errors=errors,
    )


async def _database_error(request: Request, error: Exception) -> JSONResponse:
    if isinstance(error, sa_exc.DBAPIError) and not _is_availability_error(error):
        raise error  # a real bug (constraint, SQL): let the 500 path log it
    logger.warning("database unavailable: %s", type(error).__name__)
    return render_error(request, DatabaseUnavailable("The database is not answering; retry soon."))


#: SQLSTATEs (PostgreSQL, Appendix A) that say the server cannot serve now, not that the request
#: or the code is wrong: whole classes (two characters) and single codes. Each is answered 503
#: ``database_unavailable`` with ``Retry-After``; the client may retry, nothing was changed.
_UNAVAILABLE_SQLSTATES = frozenset(
    {
        "08",  # connection exception: lost, refused, closed in the middle of an operation
        "53",  # insufficient resources: 53300 too many clients, 53100 disk full, out of memory
        "57",  # operator intervention: 57P01 admin shutdown, 57P03 starting up / shutting
        # down, 57014 statement timeout or cancelled
        "58",  # system error: I/O error
        "55P03",  # lock_not_available: lock_timeout expired
        "25006",  # read_only_sql_transaction: a standby, or the database set read-only
    }
)


def _sqlstate(error: BaseException) -> str | None:
    """The SQLSTATE of a driver error (SQLAlchemy's asyncpg adapter copies it onto ``orig``)."""
    seen: BaseException | None = error
    while seen is not None:
        code = getattr(seen, "sqlstate", None) or getattr(seen, "pgcode", None)
        if isinstance(code, str):
            return code
        seen = seen.__cause__
    return None


def _is_availability_error(error: sa_exc.DBAPIError) -> bool:
    if error.connection_invalidated or isinstance(error, sa_exc.InterfaceError):
        return True
    if isinstance(error, sa_exc.OperationalError):
        return True  # connection refused, server gone, SQLite locked past busy_timeout, disk full
    orig = error.orig
    if isinstance(orig, ConnectionError | TimeoutError | OSError):
        return True
    code = _sqlstate(orig) if orig is not None else None
    return code is not None and (
        code in _UNAVAILABLE_SQLSTATES or code[:2] in _UNAVAILABLE_SQLSTATES
    )


async def _data_error(request: Request, error: Exception) -> JSONResponse:
    """The database refused a value (a NUL in a query parameter, a number out of range): the
    input was bad, whatever path it took past validation."""
    logger.warning("database refused a value: %s", type(error).__name__)
    return problem_response(
        request,
        status=422,
        code="validation_error",
        title="Validation error",
        detail="A value in the request cannot be stored or searched.",
        errors=[],
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ErdvError, _erdv_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(sa_exc.DataError, _data_error)
    for exc_type in (sa_exc.DBAPIError, sa_exc.TimeoutError, ConnectionError, TimeoutError):
        # TimeoutError: the driver gave up on a server that does not answer (frozen, cut off);
        # sa_exc.TimeoutError: no pooled connection came free within the pool timeout
        app.add_exception_handler(exc_type, _database_error)
