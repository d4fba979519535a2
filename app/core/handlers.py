"""Exception handlers: every error becomes one problem document, rendered here and nowhere else."""

from __future__ import annotations

import functools
import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.errors import HTTP_STATUS_CODES, DatabaseUnavailable, ErdvError
from app.core.problems import PROBLEM_MEDIA_TYPE, problem_body

logger = logging.getLogger("erdv.errors")


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
    body = problem_body(
        status=status,
        code=code,
        title=title,
        detail=detail,
        request_id=getattr(request.state, "request_id", None),
        **extra,
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
#: error is already a 422, and so is this: the request is not valid (API.md)
_UNPARSABLE_BODY = "There was an error parsing the body"


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)  # noqa: S101
    if error.status_code == 400 and error.detail == _UNPARSABLE_BODY:
        return _invalid(request, [{"field": "body", "message": "Request body is not valid JSON"}])
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
    errors = []
    for item in error.errors():
        message = str(item.get("msg", "invalid value"))
        if item.get("type") == "json_invalid":
            message = "Request body is not valid JSON"
        elif item.get("type") == "extra_forbidden":
            message = "Unknown field"
        errors.append({"field": _field_name(tuple(item.get("loc", ()))), "message": message})
    return _invalid(request, errors)


def _invalid(request: Request, errors: list[dict[str, str]]) -> JSONResponse:
    return problem_response(
        request,
        status=422,
        code="validation_error",
        title="Validation error",
        detail="The request is not valid; see errors.",
        errors=errors,
    )


async def _database_error(request: Request, error: Exception) -> JSONResponse:
    if isinstance(error, sa_exc.DBAPIError) and not _is_availability_error(error):
        raise error  # a real bug (constraint, SQL): let the 500 path log it
    logger.warning("database unavailable: %s", type(error).__name__)
    return render_error(request, DatabaseUnavailable("The database is not answering; retry soon."))


def _is_availability_error(error: sa_exc.DBAPIError) -> bool:
    if error.connection_invalidated or isinstance(error, sa_exc.InterfaceError):
        return True
    if isinstance(error, sa_exc.OperationalError):
        return True  # connection refused, server gone, SQLite locked past busy_timeout
    orig = error.orig
    return isinstance(orig, ConnectionError | TimeoutError | OSError) or (
        type(orig).__module__.startswith("asyncpg") and "Connection" in type(orig).__name__
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
        app.add_exception_handler(exc_type, _database_error)
