"""Request plumbing shared by every service: request ids, JSON in and out, problem+json errors,
and the one AAA line each request leaves."""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
from quart import Quart, Response, g, request
from redis.exceptions import RedisClusterException, RedisError
from werkzeug.exceptions import HTTPException

from . import errors, jsonio
from .logging import aaa_result, bind, correlation_id, get_logger
from .redis_client import is_outage, store_fault
from .serving import apply_body_timeout
from .timestamps import now_rfc3339

MAX_BODY_BYTES = 1024 * 1024
REQUEST_ID_HEADER = "X-Request-ID"
JSON = "application/json"
PROBLEM_JSON = "application/problem+json"

ErrorObserver = Callable[[errors.HTTPError], Awaitable[None]]

_log = get_logger("flask_core.request")
_ERROR_OBSERVERS = "flask_core.error_observers"
_PROBE_PATHS = frozenset({"/health", "/ready", "/metrics"})


def dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=str)


# Datetimes and dataclasses go through ``default=str``, as with json.dumps, not orjson's forms.
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def encode_json(data: Any) -> bytes:
    """UTF-8 JSON; a lone surrogate echoed from the input becomes its ``\\uXXXX`` escape.

    orjson writes what ``dumps`` writes (about twenty times faster, and every response body
    passes here), except that NaN and infinities, which ``dumps`` wrote as the non-JSON
    ``NaN``/``Infinity``, become ``null``. What orjson refuses (an integer wider than 64 bits, a
    key that is not a string, a lone surrogate) takes the ``dumps`` path.
    """
    try:
        return orjson.dumps(data, default=str, option=_ORJSON_OPTIONS)
    except orjson.JSONEncodeError:
        return dumps(data).encode("utf-8", "backslashreplace")


def create_response(
    data: Any = None, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON response; ``None`` with 204 gives an empty body."""
    body = b"" if data is None and status == 204 else encode_json(data)
    response = Response(body, status=status, content_type=JSON)
    if headers:
        response.headers.update(headers)
    return response


def error_response(error: errors.HTTPError) -> Response:
    """The RFC 9457 problem response of ``error`` (with the WaddleBot members)."""
    body: dict[str, Any] = {
        "type": f"urn:router-hub:problem:{error.code}",
        "title": error.title,
        "status": error.status_code,
        "detail": error.detail,
        "error": error.code,
        "message": error.detail,
        "correlation_id": correlation_id(),
        "timestamp": now_rfc3339(),
    }
    body.update(error.extensions)
    response = Response(encode_json(body), status=error.status_code, content_type=PROBLEM_JSON)
    response.headers.update(error.headers)
    return response


_VISIBLE_ASCII = re.compile(r"[!-~]{1,128}")  # 1 to 128 characters from 33 to 126


def new_request_id() -> str:
    """A random UUID (version 4) in hex, exactly as ``uuid.uuid4().hex``, without building a
    ``UUID`` object, which cost several times the random bytes themselves on every request."""
    value = int.from_bytes(os.urandom(16))
    version_4 = value & ~(0xF000 << 64) | (4 << 76)
    return f"{version_4 & ~(0xC000 << 48) | (0x8000 << 48):032x}"  # RFC 4122 variant


def valid_request_id(value: str | None) -> bool:
    return value is not None and _VISIBLE_ASCII.fullmatch(value) is not None


async def raw_body() -> bytes:
    """The request body as bytes (within the 1 MiB limit), for signature checks."""
    data = await request.get_data(as_text=False)
    return data if isinstance(data, bytes) else data.encode()


async def read_json(*, required: bool = True) -> Any:
    """Parse the body as strict JSON (``jsonio``), raising 415, 413 or 400 as appropriate.

    The Quart side of ``jsonio``: every service reads request bodies through here.
    """
    mimetype = (request.mimetype or "").lower()
    data = await request.get_data(as_text=False)
    if not data:
        if required:
            raise errors.BadRequest("A JSON body is required.")
        return None
    if mimetype != JSON and not mimetype.endswith("+json"):
        raise errors.UnsupportedMediaType()
    return jsonio.loads(data)


def _from_werkzeug(exc: HTTPException) -> errors.HTTPError:
    error = errors.BY_STATUS.get(exc.code or 500, errors.InternalError)()
    if exc.code == 405:
        allowed = getattr(exc, "valid_methods", None)
        if allowed:
            error.headers["Allow"] = ", ".join(sorted(allowed))
    if exc.code == 404:
        error.detail = "No route matches this URL."
    return error


def _aaa_category(status: int, path: str) -> str:
    if status == 401:
        return "AUTH"
    if status == 403:
        return "AUTHZ"
    if status >= 500:
        return "ERROR"
    return "SYSTEM" if path in _PROBE_PATHS else "AUDIT"


def _request_line_level(status: int, path: str) -> int:
    """WARNING for a server error; DEBUG for a successful probe or routine call; else INFO."""
    if status >= 500:
        return logging.WARNING
    if status < 400 and (path in _PROBE_PATHS or _declared_routine()):
        return logging.DEBUG
    return logging.INFO


def _declared_routine() -> bool:
    from .routes import current_meta  # routes imports this module: read it at call time

    return current_meta().routine


def route_label() -> str:
    rule = request.url_rule
    return rule.rule if rule is not None else "<unmatched>"


def _log_request_line(status: int, duration_ms: float) -> None:
    """The request's AAA line; its fields are only gathered when the line is written (a
    probe's DEBUG line usually is not)."""
    path = request.path
    level = _request_line_level(status, path)
    if not _log.isEnabledFor(level):
        return
    _log.log(
        level,
        "",
        extra={
            "event_type": _aaa_category(status, path),
            "action": f"{request.method} {route_label()}",
            "result": aaa_result(status),
            "status": status,
            "duration_ms": duration_ms,
            "reason": g.get("deny_reason"),
        },
    )


def observe_errors(app: Quart, observer: ErrorObserver) -> None:
    """Let ``observer`` see every problem the app answers with (e.g. to audit refusals).

    Observers run in the one error handler, in the order they were added, before the response
    is built; they never change the response.
    """
    app.extensions.setdefault(_ERROR_OBSERVERS, []).append(observer)


def install_request_plumbing(app: Quart) -> None:
    """Wire request ids, the body limit, problem+json errors and AAA request lines."""
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    apply_body_timeout(app)

    @app.before_request
    async def _start_request() -> None:
        g.started = time.perf_counter()
        incoming = request.headers.get(REQUEST_ID_HEADER)
        bind(correlation_id=incoming if valid_request_id(incoming) else new_request_id())

    @app.after_request
    async def _finish_request(response: Response) -> Response:
        response.headers[REQUEST_ID_HEADER] = correlation_id() or ""
        duration_ms = round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 3)
        g.duration_ms = duration_ms
        _log_request_line(response.status_code, duration_ms)
        return response

    @app.errorhandler(errors.HTTPError)
    async def _handle_http_error(error: errors.HTTPError) -> Response:
        for observe in app.extensions.get(_ERROR_OBSERVERS, ()):
            await observe(error)
        return error_response(error)

    @app.errorhandler(HTTPException)
    async def _handle_werkzeug(exc: HTTPException) -> Response:
        return await _handle_http_error(_from_werkzeug(exc))

    @app.errorhandler(RedisError)
    @app.errorhandler(RedisClusterException)
    async def _handle_store(exc: Exception) -> Response:
        # Never a 500: an outage nobody caught is a 503 like a fault, which is logged at ERROR.
        if is_outage(exc):
            _log.warning("Redis unreachable: %s", type(exc).__name__, extra={"event_type": "ERROR"})
            return await _handle_http_error(errors.StoreFault("Redis is unreachable."))
        return await _handle_http_error(store_fault(exc, route_label()))

    @app.errorhandler(Exception)
    async def _handle_unexpected(exc: Exception) -> Response:
        _log.error("unhandled error", exc_info=exc, extra={"event_type": "ERROR"})
        return error_response(errors.InternalError())
