"""Exception handlers: every error answers Tradovate's way, `{"errorText": ...}`, never a bare 500."""

from __future__ import annotations

import logging
import re
from typing import Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from autoliq.domain.errors import AutoliqError, BadRequest, NotFound, StorageUnavailable, Unauthorized

log = logging.getLogger(__name__)


class ErrorBody(msgspec.Struct):
    """An error answer: `{"errorText": "..."}`."""

    errorText: str


ACCESS_DENIED_BODY = {"errorText": "Access is denied"}


def _answer(status: int, text: str) -> Response[Any]:
    return Response({"errorText": text}, status_code=status, media_type=MediaType.JSON)


_MISSING_QUERY = re.compile(r"Missing required (?:query|header|cookie) parameter '([^']+)'")
"""Litestar's text for an absent required parameter: answered `<name>: is required`, not as a body."""


def _validation_text(exc: ValidationException) -> str:
    extra = exc.extra
    if isinstance(extra, list) and extra:
        parts = []
        for item in extra:
            if isinstance(item, dict):
                key = item.get("key")
                message = item.get("message", "")
                # "data" is Litestar's name for the whole body, not a field of it.
                parts.append(f"{key}: {message}" if key and key != "data" else str(message))
            else:
                parts.append(str(item))
        return "; ".join(parts)
    missing = _MISSING_QUERY.match(exc.detail or "")
    if missing is not None:
        return f"{missing.group(1)}: is required"
    return f"Malformed JSON body: {exc.detail}" if exc.detail else "Malformed JSON body"


def on_validation(_: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    """400 with an errorText naming the field."""
    return _answer(400, _validation_text(exc))


def on_http_exception(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """Framework errors (404 route, 405, 413) with an errorText."""
    status = exc.status_code
    if status == 413:
        return _answer(413, "Request body too large")
    if status == 401:
        return _answer(401, "Access is denied")
    if status == 400:
        # Litestar raises a plain 400 when the body is not JSON at all.
        return _answer(400, f"Malformed JSON body: {exc.detail}" if exc.detail else "Malformed JSON body")
    return _answer(status, exc.detail or "Error")


def on_unauthorized(_: Request[Any, Any, Any], exc: Unauthorized) -> Response[Any]:
    """401 Access is denied."""
    return _answer(401, exc.message)


def on_not_found(_: Request[Any, Any, Any], exc: NotFound) -> Response[Any]:
    """404 for unknown or invisible entities."""
    return _answer(404, exc.message)


def on_bad_request(_: Request[Any, Any, Any], exc: BadRequest) -> Response[Any]:
    """400 for unreadable input."""
    return _answer(400, exc.message)


RETRY_AFTER_SECONDS = 1
"""A 503's `Retry-After`: the writer opens a new connection for the next batch at once, so a
transient fault (a lost PostgreSQL connection) is over by then; a full disk is not, and says so again."""


def error_status(error: AutoliqError) -> tuple[int, list[tuple[str, str]]]:
    """The HTTP status and extra headers of an `AutoliqError`: the one mapping, used by the app's
    exception handlers for every route (and so for the WebSocket's dispatched requests)."""
    if isinstance(error, StorageUnavailable):
        return 503, [("retry-after", str(RETRY_AFTER_SECONDS))]
    if isinstance(error, Unauthorized):
        return 401, []
    if isinstance(error, NotFound):
        return 404, []
    if isinstance(error, BadRequest):
        return 400, []
    return 500, []


def on_storage_unavailable(_: Request[Any, Any, Any], exc: StorageUnavailable) -> Response[Any]:
    """503 Storage unavailable with Retry-After: the write was not acknowledged (the cause is logged)."""
    status, headers = error_status(exc)
    return Response(
        {"errorText": exc.message}, status_code=status, media_type=MediaType.JSON, headers=dict(headers)
    )


def on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A bug: log it, answer 500 without internals."""
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _answer(HTTP_500_INTERNAL_SERVER_ERROR, "Internal server error")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    ValidationException: on_validation,
    Unauthorized: on_unauthorized,
    NotFound: on_not_found,
    BadRequest: on_bad_request,
    StorageUnavailable: on_storage_unavailable,
    HTTPException: on_http_exception,
    Exception: on_unexpected,
}
