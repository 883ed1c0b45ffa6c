"""The server's log: one line per request (and per event), as JSON for a log collector or as text.

Each request gets an id — the proxy's ``X-Request-ID`` when it sends a sane one, else a new one —
which is returned in the response's ``X-Request-ID`` header and written on every log line of the
request, so a person's report of a failed page can be found in the logs. Lines name a route's
template (``/victims/{victim_id}``), never the path itself, so no victim id reaches the log.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime

#: The id of the request being served (None outside a request).
REQUEST_ID: ContextVar[str | None] = ContextVar("vcop_request_id", default=None)

_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{8,64}")


def request_id(header: str | None) -> str:
    """The proxy's request id when it looks like one, else a new random id."""
    if header and _SANE_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


class JsonLines(logging.Formatter):
    """A log record as one JSON object: time, level, logger, message, request id and any
    ``extra`` fields given to the call."""

    FIELDS = ("method", "route", "status", "ms", "client")

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", None) or REQUEST_ID.get()
        if rid:
            entry["request_id"] = rid
        for name in self.FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class Text(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        rid = getattr(record, "request_id", None) or REQUEST_ID.get()
        return f"{line} [{rid[:8]}]" if rid else line


def configure_logging(*, json_lines: bool, stream: object = None) -> logging.Handler:
    """Send vcop's server log (and uvicorn's errors) to standard output in the chosen form."""
    handler = logging.StreamHandler(stream or sys.stdout)  # type: ignore[arg-type]
    handler.setFormatter(JsonLines() if json_lines else Text())
    for name in ("vcop.web", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return handler
