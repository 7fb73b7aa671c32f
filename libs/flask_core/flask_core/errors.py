"""One exception tree; every HTTP failure of every service is one of these."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class CoreError(Exception):
    """Root of every error raised on purpose by flask_core and the services."""


class HTTPError(CoreError):
    """An error that becomes an RFC 9457 problem response."""

    status_code = 500
    code = "internal_error"
    title = "Internal Server Error"
    default_detail = "The server could not complete the request."

    def __init__(
        self,
        detail: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        extensions: Mapping[str, Any] | None = None,
    ) -> None:
        self.detail = detail or self.default_detail
        self.headers = dict(headers or {})
        self.extensions = dict(extensions or {})
        super().__init__(self.detail)


class BadRequest(HTTPError):
    status_code = 400
    code = "invalid_input"
    title = "Invalid Input"
    default_detail = "The request is not valid."


class ValidationError(BadRequest):
    """Input failed a schema; ``fields`` maps each failing field to its messages."""

    def __init__(self, fields: Mapping[str, Any], detail: str | None = None) -> None:
        names = ", ".join(sorted(fields)) or "body"
        super().__init__(
            detail or f"Invalid value for: {names}.", extensions={"fields": dict(fields)}
        )
        self.fields = dict(fields)


class MissingCommunity(HTTPError):
    status_code = 400
    code = "missing_community"
    title = "Missing Community"
    default_detail = "The X-Community-ID header is required."


class Unauthorized(HTTPError):
    status_code = 401
    code = "unauthorized"
    title = "Unauthorized"
    default_detail = "A valid API key is required."


class Forbidden(HTTPError):
    status_code = 403
    code = "forbidden"
    title = "Forbidden"
    default_detail = "This key may not perform this request."


class NotFound(HTTPError):
    status_code = 404
    code = "not_found"
    title = "Not Found"
    default_detail = "The resource does not exist."


class MethodNotAllowed(HTTPError):
    status_code = 405
    code = "method_not_allowed"
    title = "Method Not Allowed"
    default_detail = "The method is not allowed for this resource."


class Conflict(HTTPError):
    status_code = 409
    code = "conflict"
    title = "Conflict"
    default_detail = "The request conflicts with the current state."


class PayloadTooLarge(HTTPError):
    status_code = 413
    code = "payload_too_large"
    title = "Payload Too Large"
    default_detail = "The request body is larger than 1 MiB."


class UnsupportedMediaType(HTTPError):
    status_code = 415
    code = "unsupported_media_type"
    title = "Unsupported Media Type"
    default_detail = "The request body must be application/json."


class RateLimited(HTTPError):
    status_code = 429
    code = "rate_limited"
    title = "Too Many Requests"
    default_detail = "The rate limit is exceeded."


class InternalError(HTTPError):
    """An unexpected failure: 500 ``internal_error``, never with internals in the body."""


class UpstreamError(HTTPError):
    status_code = 502
    code = "upstream_error"
    title = "Bad Gateway"
    default_detail = "The module answered with an error or an invalid response."


class ModuleUnavailable(HTTPError):
    status_code = 503
    code = "module_unavailable"
    title = "Service Unavailable"
    default_detail = "No healthy instance of the module can take the call."

    def __init__(self, detail: str | None = None, *, retry_after: int = 1) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after))})
        self.retry_after = max(1, retry_after)


class UpstreamTimeout(HTTPError):
    status_code = 504
    code = "upstream_timeout"
    title = "Gateway Timeout"
    default_detail = "The module did not answer in time."


class UpstreamClientError(HTTPError):
    """A module's own 4xx, passed through with the module's status."""

    code = "upstream_error"
    title = "Module Rejected The Request"

    def __init__(self, status_code: int, detail: str | None = None) -> None:
        self.status_code = status_code
        super().__init__(detail or f"The module answered {status_code}.")


BY_STATUS: dict[int, type[HTTPError]] = {
    cls.status_code: cls
    for cls in (
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        Conflict,
        PayloadTooLarge,
        UnsupportedMediaType,
        RateLimited,
        InternalError,
        UpstreamError,
        ModuleUnavailable,
        UpstreamTimeout,
    )
}
