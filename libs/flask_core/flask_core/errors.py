"""One exception tree; every HTTP failure of every service is one of these."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class CoreError(Exception):
    """Root of every error raised on purpose by flask_core and the services."""


class HTTPError(CoreError):
    """An error that becomes an RFC 9457 problem response.

    Every subclass only sets class attributes; the one constructor carries the detail, the
    headers the response needs (``Retry-After``...), extra problem members, and, for a refusal,
    the reason the audit trail records (never sent to the caller).
    """

    status_code = 500
    code = "internal_error"
    title = "Internal Server Error"
    default_detail = "The server could not complete the request."
    default_retry_after: int | None = None
    # "AUTH" / "AUTHZ" for refusals the audit trail records; None for everything else.
    audit_category: str | None = None

    def __init__(
        self,
        detail: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        extensions: Mapping[str, Any] | None = None,
        reason: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        self.detail = detail or self.default_detail
        self.reason = reason or self.detail
        retry = retry_after if retry_after is not None else self.default_retry_after
        self.retry_after = max(1, retry) if retry is not None else None
        waiting = {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}
        self.headers = {**waiting, **(headers or {})}
        self.extensions = dict(extensions or {})
        super().__init__(self.detail)


class ClientError(HTTPError):
    """4xx: the request cannot succeed as sent."""

    status_code = 400
    code = "invalid_input"
    title = "Invalid Input"
    default_detail = "The request is not valid."


class ServerError(HTTPError):
    """5xx: the request may succeed later or elsewhere."""


class BadRequest(ClientError):
    pass


class InvalidInput(BadRequest):
    """Input failed a check; the ``fields`` problem member maps each field to its messages."""

    def __init__(self, fields: Mapping[str, Any], detail: str | None = None) -> None:
        names = ", ".join(sorted(fields)) or "body"
        super().__init__(
            detail or f"Invalid value for: {names}.", extensions={"fields": dict(fields)}
        )
        self.fields = dict(fields)


ValidationError = InvalidInput  # the name the services raise for schema failures


class MissingCommunity(BadRequest):
    code = "missing_community"
    title = "Missing Community"
    default_detail = "The X-Community-ID header is required."


class Unauthorized(ClientError):
    status_code = 401
    code = "unauthorized"
    title = "Unauthorized"
    default_detail = "A valid API key is required."
    audit_category = "AUTH"


class Forbidden(ClientError):
    """A refusal; ``reason`` says why for the audit trail (the detail is what the caller sees)."""

    status_code = 403
    code = "forbidden"
    title = "Forbidden"
    default_detail = "This key may not perform this request."
    audit_category = "AUTHZ"


class NotFound(ClientError):
    status_code = 404
    code = "not_found"
    title = "Not Found"
    default_detail = "The resource does not exist."


class MethodNotAllowed(ClientError):
    status_code = 405
    code = "method_not_allowed"
    title = "Method Not Allowed"
    default_detail = "The method is not allowed for this resource."


class RequestTimeout(ClientError):
    """The body did not arrive within the read timeout (a slow client, SPEC §2)."""

    status_code = 408
    code = "request_timeout"
    title = "Request Timeout"
    default_detail = "The request body did not arrive in time."


class Conflict(ClientError):
    status_code = 409
    code = "conflict"
    title = "Conflict"
    default_detail = "The request conflicts with the current state."


class PayloadTooLarge(ClientError):
    status_code = 413
    code = "payload_too_large"
    title = "Payload Too Large"
    default_detail = "The request body is larger than 1 MiB."


class UnsupportedMediaType(ClientError):
    status_code = 415
    code = "unsupported_media_type"
    title = "Unsupported Media Type"
    default_detail = "The request body must be application/json."


class RateLimited(ClientError):
    status_code = 429
    code = "rate_limited"
    title = "Too Many Requests"
    default_detail = "The rate limit is exceeded."


class UpstreamClientError(ClientError):
    """A module's own 4xx, passed through with the module's status."""

    code = "upstream_error"
    title = "Module Rejected The Request"

    def __init__(self, status_code: int, detail: str | None = None) -> None:
        self.status_code = status_code
        super().__init__(detail or f"The module answered {status_code}.")


class InternalError(ServerError):
    """An unexpected failure: 500 ``internal_error``, never with internals in the body."""


class UpstreamError(ServerError):
    """A module (or a store the service depends on) failed the call."""

    status_code = 502
    code = "upstream_error"
    title = "Bad Gateway"
    default_detail = "The module answered with an error or an invalid response."


class BadGateway(UpstreamError):
    pass


class ModuleUnavailable(UpstreamError):
    status_code = 503
    code = "module_unavailable"
    title = "Service Unavailable"
    default_detail = "No healthy instance of the module can take the call."
    default_retry_after = 1


class StoreFault(ServerError):
    """Redis answered but refused the operation (CROSSSLOT, WRONGTYPE, OOM, ...): not an outage,
    so nothing falls back to per-process state; the cause is logged at ERROR."""

    status_code = 503
    code = "module_unavailable"
    title = "Service Unavailable"
    default_detail = "A shared store refused the operation; the request was not completed."
    default_retry_after = 1


class UpstreamTimeout(UpstreamError):
    status_code = 504
    code = "upstream_timeout"
    title = "Gateway Timeout"
    default_detail = "The module did not answer in time."


BY_STATUS: dict[int, type[HTTPError]] = {
    cls.status_code: cls
    for cls in (
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        RequestTimeout,
        Conflict,
        PayloadTooLarge,
        UnsupportedMediaType,
        RateLimited,
        InternalError,
        BadGateway,
        ModuleUnavailable,
        UpstreamTimeout,
    )
}
