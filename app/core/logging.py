"""Structured logs that never contain personal data.

Log records carry the request id, method, route template and status, never bodies, query strings,
emails, names, tokens or codes (docs/security.md "Data protection"). Modules log *events* with
identifiers that mean nothing outside the database (UUIDs), and the access log records the route
template (``/api/v1/appointments/{appointment_id}``) rather than the raw path.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

request_id_var: ContextVar[str | None] = ContextVar("erdv_request_id", default=None)
#: The client address as resolved by the server (proxy headers only from trusted proxies).
client_ip_var: ContextVar[str | None] = ContextVar("erdv_client_ip", default=None)

#: what every record has, plus what ``Formatter.format`` adds to it (the message, the time)
_STANDARD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
}


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line, with the extra fields a call passed (``extra={...}``)."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and value is not None:
                payload[key] = value
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


class TextFormatter(logging.Formatter):
    """Human-readable lines for development, with the same extra fields as the JSON logs."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = " ".join(
            f"{key}={value}"
            for key, value in record.__dict__.items()
            if key not in _STANDARD_ATTRS and key != "request_id" and value is not None
        )
        return f"{line} {extras}" if extras else line


def configure_logging(level: str = "INFO", *, json_logs: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_logs else TextFormatter())
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's access log prints raw paths with query strings: ours prints route templates.
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    quiet_libraries()


#: libraries whose records below these levels carry secrets: httpx logs each request's full URL
#: at INFO (a webhook URL's query may hold the receiver's own token, app.webhooks.delivery);
#: Authlib's grants log each token they issue, whole, at DEBUG ("Issue token {...}")
QUIET_LIBRARIES = {"httpx": logging.WARNING, "authlib": logging.INFO}


def quiet_libraries() -> None:
    """Hold ``QUIET_LIBRARIES`` at their levels whatever the root's: ``ERDV_LOG_LEVEL=DEBUG``
    is for erdv's own records, and must not put live tokens in the logs. Every app sets it
    (``create_app``), a test's included, whose logs the suite inspects."""
    for name, level in QUIET_LIBRARIES.items():
        logging.getLogger(name).setLevel(level)
