"""Exception handlers: every error answers Tradovate's way, `{"errorText": ...}`, never a bare 500."""

from __future__ import annotations

import logging
import re
from typing import Any, NamedTuple

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


TEXT_BODY_REQUIRED = "body: is required (a JSON object)"
"""A POST without a body (or with only whitespace): named as a missing field is (`id: is required`)."""

TEXT_MALFORMED = "body: is not valid JSON"
"""A body that is not JSON at all (followed by what the decoder found, in parentheses): the body as a
whole is the field, as for TEXT_BODY_REQUIRED."""


def malformed(detail: str | None) -> str:
    """`body: is not valid JSON (<detail>)`, or without the parentheses when there is no detail."""
    return f"{TEXT_MALFORMED} ({detail})" if detail else TEXT_MALFORMED


_FIELD_PROBLEM = re.compile(
    r"Object (missing required|contains unknown) field `([^`]+)`(?: - at `\$\.?([^`]*)`)?"
)
_FIELD_WORDS = {"missing required": "is required", "contains unknown": "is not a field of this body"}


def decode_error_text(message: str) -> str:
    """A strict decoder's (msgspec's) validation message as `<field>: <what is wrong>`: `accountId:
    is required` for a missing field (`items[0].id` in a nested one), `times: is not a field of this
    body` where unknown fields are refused, `accountId: Expected `int`,
    got `str`` for a wrong type, and `body: ...` when the body as a whole has the wrong shape."""
    problem = _FIELD_PROBLEM.fullmatch(message)
    if problem is not None:
        kind, field, parent = problem.groups()
        return f"{parent}.{field}: {_FIELD_WORDS[kind]}" if parent else f"{field}: {_FIELD_WORDS[kind]}"
    text, found, where = message.partition(" - at `$")
    if not found:
        return f"body: {message}"
    where = where.rstrip("`")
    if where.startswith("."):
        return f"{where[1:]}: {text}"
    return f"body{where}: {text}"  # `$[0]`: an item of a body that is an array


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
                if key == "data" and message == "'data'":
                    # Litestar found no body at all (its KeyError's text): say so, as for a field.
                    parts.append(TEXT_BODY_REQUIRED)
                    continue
                # "data" is Litestar's name for the whole body, not a field of it.
                parts.append(f"{key}: {message}" if key and key != "data" else str(message))
            else:
                parts.append(str(item))
        return "; ".join(parts)
    missing = _MISSING_QUERY.match(exc.detail or "")
    if missing is not None:
        return f"{missing.group(1)}: is required"
    return malformed(exc.detail)


def on_validation(_: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    """400 with an errorText naming the field."""
    return _response(error_answer(exc))


def on_http_exception(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """Framework errors (404 route, 405, 413) with an errorText."""
    return _response(error_answer(exc))


RETRY_AFTER_SECONDS = 1
"""A 503's `Retry-After`: the writer opens a new connection for the next batch at once, so a
transient fault (a lost PostgreSQL connection) is over by then; a full disk is not, and says so again."""


ERROR_STATUS: dict[type[AutoliqError], int] = {
    Unauthorized: 401,
    NotFound: 404,
    BadRequest: 400,
    StorageUnavailable: 503,
}
"""The one error-to-status table: a domain error's HTTP status, for every route (and so for the
WebSocket's dispatched requests). Any other error is a bug: 500 without internals."""


def error_status(error: AutoliqError) -> tuple[int, list[tuple[str, str]]]:
    """The HTTP status and extra headers of an `AutoliqError` (`ERROR_STATUS`; a 503 says when to
    retry)."""
    for kind in type(error).__mro__:
        status = ERROR_STATUS.get(kind)
        if status is not None:
            if status == 503:
                return status, [("retry-after", str(RETRY_AFTER_SECONDS))]
            return status, []
    return 500, []


class ErrorAnswer(NamedTuple):
    """What an error answers: status, extra headers and the errorText."""

    status: int
    headers: list[tuple[str, str]]
    text: str


def error_answer(exc: Exception, method: str = "", path: str = "") -> ErrorAnswer:
    """The one table from an exception to its answer, for Litestar's exception handlers and for the
    edge's direct dispatch alike: a domain error by `ERROR_STATUS` (401 Access is denied, 404 for
    unknown or invisible entities, 400 for unreadable input, 503 with Retry-After: the write was not
    acknowledged, its cause logged), the framework's 400/401/404/405/413 with an errorText, and
    anything else a bug: logged (with `method` and `path`), answered 500 without internals."""
    if isinstance(exc, AutoliqError):
        status, headers = error_status(exc)
        return ErrorAnswer(status, headers, exc.message)
    if isinstance(exc, ValidationException):
        return ErrorAnswer(400, [], _validation_text(exc))
    if isinstance(exc, HTTPException):
        status = exc.status_code
        if status == 413:
            return ErrorAnswer(413, [], "Request body too large")
        if status == 401:
            return ErrorAnswer(401, [], "Access is denied")
        if status == 400:
            # Litestar raises a plain 400 when the body is not JSON at all.
            return ErrorAnswer(400, [], malformed(exc.detail))
        return ErrorAnswer(status, [], exc.detail or "Error")
    log.exception("unhandled error on %s %s", method, path, exc_info=exc)
    return ErrorAnswer(HTTP_500_INTERNAL_SERVER_ERROR, [], "Internal server error")


def _response(answer: ErrorAnswer) -> Response[Any]:
    return Response(
        {"errorText": answer.text},
        status_code=answer.status,
        media_type=MediaType.JSON,
        headers=dict(answer.headers) if answer.headers else None,
    )


def on_autoliq_error(_: Request[Any, Any, Any], exc: AutoliqError) -> Response[Any]:
    """`{"errorText": ...}` with the error's status (`error_answer`)."""
    return _response(error_answer(exc))


def on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A bug: log it, answer 500 without internals."""
    return _response(error_answer(exc, request.method, request.url.path))


EXCEPTION_HANDLERS: dict[Any, Any] = {
    ValidationException: on_validation,
    **dict.fromkeys(ERROR_STATUS, on_autoliq_error),
    HTTPException: on_http_exception,
    Exception: on_unexpected,
}
