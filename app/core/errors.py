"""Domain errors and their single rendering as RFC 9457 problem details.

Services raise these; they never raise ``HTTPException``. One handler in ``app.main`` turns any of
them into ``application/problem+json`` with a stable ``code`` (``docs/api.md`` "Errors"), so a
status and a code are decided in exactly one place: the class.

    ErdvError                       500 internal_error
    ├── BadRequest                  400 bad_request
    ├── NotAuthenticated            401 not_authenticated
    ├── Forbidden                   403 forbidden
    ├── NotFound                    404 not_found
    ├── MethodNotAllowed            405 method_not_allowed
    ├── Conflict                    409 conflict
    ├── PayloadTooLarge             413 payload_too_large
    ├── Unprocessable               422 validation_error
    ├── RateLimited                 429 rate_limited        (Retry-After)
    └── ServiceUnavailable          503 service_unavailable (Retry-After)
        └── DatabaseUnavailable     503 database_unavailable

Each domain subclasses the branch that fits and sets ``code`` and ``title`` (``errors.py`` in the
domain). Extra members of the problem document (``missing`` for ``consent_required``, ``errors`` for
validation) are passed as keyword arguments and must never carry secrets or health data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar


class ErdvError(Exception):
    """Base of every error erdv renders to a client."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    title: ClassVar[str] = "Internal error"

    def __init__(
        self,
        detail: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        self.detail = detail or self.title
        self.headers = dict(headers or {})
        self.extra = extra
        super().__init__(self.detail)


class BadRequest(ErdvError):
    status = 400
    code = "bad_request"
    title = "Bad request"


class NotAuthenticated(ErdvError):
    status = 401
    code = "not_authenticated"
    title = "Authentication required"


class Forbidden(ErdvError):
    status = 403
    code = "forbidden"
    title = "Forbidden"


class NotFound(ErdvError):
    """Also what a caller gets for an object that exists but is not theirs (no existence oracle)."""

    status = 404
    code = "not_found"
    title = "Not found"


class MethodNotAllowed(ErdvError):
    status = 405
    code = "method_not_allowed"
    title = "Method not allowed"


class Conflict(ErdvError):
    status = 409
    code = "conflict"
    title = "Conflict"


class PayloadTooLarge(ErdvError):
    status = 413
    code = "payload_too_large"
    title = "Payload too large"


class Unprocessable(ErdvError):
    status = 422
    code = "validation_error"
    title = "Validation error"


class RateLimited(ErdvError):
    status = 429
    code = "rate_limited"
    title = "Too many requests"

    def __init__(self, retry_after: int, detail: str | None = None) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after))})
        self.retry_after = max(1, retry_after)


class ServiceUnavailable(ErdvError):
    status = 503
    code = "service_unavailable"
    title = "Service unavailable"

    def __init__(self, detail: str | None = None, *, retry_after: int = 5) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class DatabaseUnavailable(ServiceUnavailable):
    code = "database_unavailable"
    title = "Database unavailable"


class RecordedFailure:
    """Mixin for errors whose own bookkeeping must outlive the failed request.

    A failed login answers 401, and a request's transaction rolls back on any error: left at that,
    the failure counter and the audit entry of the attempt would roll back too, and an attacker
    could guess forever unrecorded (the classic bug). An error marked ``RecordedFailure`` is raised
    only after the code that raises it has written *nothing but* that bookkeeping (a throttle
    counter, an audit entry of the failure or denial); the request's session (``app.core.db``)
    then commits instead of rolling back, and the error is answered as usual.
    """


#: status -> (code, title) for errors raised by the framework itself (routing, parsing).
HTTP_STATUS_CODES: dict[int, tuple[str, str]] = {
    cls.status: (cls.code, cls.title)
    for cls in (
        BadRequest,
        NotAuthenticated,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        Conflict,
        PayloadTooLarge,
        Unprocessable,
        RateLimited,
        ServiceUnavailable,
    )
}
