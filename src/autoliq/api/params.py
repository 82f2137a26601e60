"""Query-parameter helpers named as Tradovate names them (`id`, `ids`, `masterid`, `masterids`)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import date, datetime
from functools import cache
from typing import Annotated, Any, TypeVar

import msgspec
from litestar import Request
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter, QueryParameter
from litestar.types import Empty, Receive, Scope

from autoliq.api.errors import TEXT_BODY_REQUIRED, ErrorBody, decode_error_text, malformed
from autoliq.domain.bounds import INT64_MAX, INT64_MIN, TEXT_TIME_RANGE, date_within, time_within
from autoliq.domain.errors import BadRequest

__all__ = ["INT64_MAX", "INT64_MIN"]  # re-exported: the routes' query parameters are bounded by them
MAX_IDS = 10_000

IdParam = Annotated[int, Parameter(ge=INT64_MIN, le=INT64_MAX, description="Entity id (int64)")]
MasterIdParam = Annotated[int, Parameter(ge=INT64_MIN, le=INT64_MAX, description="Master entity id (int64)")]
MAX_SUGGESTIONS = 10_000
SuggestTextParam = Annotated[
    str, QueryParameter(name="t", max_length=200, description="Text to look for in names (case-insensitive)")
]
SuggestLimitParam = Annotated[
    int, QueryParameter(name="l", ge=0, le=MAX_SUGGESTIONS, description="At most this many answers")
]
IdListParam = Annotated[
    list[str],
    Parameter(description="Ids (int64), comma-separated (`ids=1,2`) or repeated (`ids=1&ids=2`)"),
]


def parse_ids(name: str, raw: list[str]) -> list[int]:
    """Ids from repeated and/or comma-separated values; BadRequest naming the parameter otherwise."""
    out: list[int] = []
    for chunk in raw:
        for part in chunk.split(","):
            part = part.strip()
            if not part:
                continue
            try:
                value = int(part)
            except ValueError:
                raise BadRequest(f"{name}: expected a comma-separated list of integers") from None
            if not INT64_MIN <= value <= INT64_MAX:
                raise BadRequest(f"{name}: {part} is outside the int64 range")
            out.append(value)
    if len(out) > MAX_IDS:
        raise BadRequest(f"{name}: at most {MAX_IDS} ids per request")
    return list(dict.fromkeys(out))


def _spec(description: str) -> ResponseSpec:
    return ResponseSpec(data_container=ErrorBody, description=description)


ERROR_RESPONSES: dict[int, ResponseSpec] = {
    400: _spec(
        "Malformed JSON, wrong JSON types, text holding NUL (U+0000) or bad query parameters: "
        "errorText names the field"
    ),
    401: _spec("Missing, forged or expired token, or not allowed: errorText `Access is denied`"),
    404: _spec("Unknown entity, or one of another organization"),
    413: _spec("Request body over the size limit (1 MiB)"),
}

PUBLIC_ERROR_RESPONSES: dict[int, ResponseSpec] = {
    400: ERROR_RESPONSES[400],
    413: ERROR_RESPONSES[413],
}


S = TypeVar("S", bound=msgspec.Struct)

TEXT_NUL = "NUL (U+0000) is not allowed in text"
TEXT_TOO_DEEP = malformed("nested too deeply")
_NUL_ESCAPE = b"\\u0000"  # the only way a JSON text can hold a NUL (a raw one is malformed JSON)


def _has_nul(value: object) -> bool:
    return isinstance(value, str) and "\x00" in value


def _out_of_bounds(value: object) -> bool:
    if isinstance(value, datetime):
        return not time_within(value)
    return isinstance(value, date) and not date_within(value)


def _first(value: Any, where: str, bad: Callable[[object], bool]) -> str | None:
    """Where (msgspec's spelling: `$.items[0].name`) the first value for which `bad` holds is."""
    if bad(value):
        return where
    if isinstance(value, msgspec.Struct):
        for field in msgspec.structs.fields(value):
            found = _first(getattr(value, field.name), f"{where}.{field.encode_name}", bad)
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = _first(item, f"{where}[{index}]", bad)
            if found is not None:
                return found
    elif isinstance(value, dict):
        for key, item in value.items():
            found = _first(key, f"{where}[...]", bad) or _first(item, f"{where}[...]", bad)
            if found is not None:
                return found
    return None


def _holds_time(info: msgspec.inspect.Type, seen: set[int]) -> bool:
    if id(info) in seen:
        return False
    seen.add(id(info))
    if isinstance(info, msgspec.inspect.DateTimeType | msgspec.inspect.DateType):
        return True
    if isinstance(info, msgspec.inspect.StructType | msgspec.inspect.DataclassType):
        return any(_holds_time(field.type, seen) for field in info.fields)
    if isinstance(info, msgspec.inspect.UnionType):
        return any(_holds_time(member, seen) for member in info.types)
    if isinstance(info, msgspec.inspect.ListType | msgspec.inspect.SetType | msgspec.inspect.VarTupleType):
        return _holds_time(info.item_type, seen)
    if isinstance(info, msgspec.inspect.DictType):
        return _holds_time(info.value_type, seen)
    return isinstance(info, msgspec.inspect.AnyType)


@cache
def _bounds_times(model: type[msgspec.Struct]) -> bool:
    """Whether bodies of `model` can hold a date or a time (only those are walked for the bounds)."""
    return _holds_time(msgspec.inspect.type_info(model), set())


def _where(found: str) -> str:
    return found.removeprefix("$.")


@cache
def _decoder(model: Any) -> msgspec.json.Decoder[Any]:
    """`model`'s strict decoder, built once (cheaper per body than `msgspec.json.decode(type=...)`)."""
    return msgspec.json.Decoder(model, strict=True)


def decode_strict(raw: bytes, model: type[S]) -> S:
    """`raw` decoded strictly: a string is never taken for a number, no text holds a NUL, every id is
    an int64 and every date lies within 2000-01-01..2100-01-01 (BadRequest naming the field).

    Litestar's own decoding coerces `"1"` to `1`; Tradovate's contract says a wrong JSON type is a
    400, so every body is decoded here, strictly, and only here (`StrictRequest.json`, the hot
    routes). PostgreSQL's text
    cannot hold a NUL (it refuses the statement, where SQLite stores it), so every body's text is
    refused here, on both engines, before any of it reaches a query. JSON nested deeper than the
    decoder's recursion allows (a 2 KB body can nest 1,000 deep) is malformed, not a server error.
    """
    if not raw.strip():
        raise BadRequest(TEXT_BODY_REQUIRED)
    try:
        decoded: S = _decoder(model).decode(raw)
    except msgspec.ValidationError as exc:
        raise BadRequest(decode_error_text(str(exc))) from None
    except msgspec.DecodeError as exc:
        raise BadRequest(malformed(str(exc))) from None
    except RecursionError:
        raise BadRequest(TEXT_TOO_DEEP) from None
    try:
        if _NUL_ESCAPE in raw:  # rare: only then walk what was decoded (`"\\u0000"` is no NUL)
            found = _first(decoded, "$", _has_nul)
            if found is not None:
                raise BadRequest(f"body: {TEXT_NUL}" if found == "$" else f"{_where(found)}: {TEXT_NUL}")
        if _bounds_times(model):
            found = _first(decoded, "$", _out_of_bounds)
            if found is not None:
                raise BadRequest(f"{_where(found)}: {TEXT_TIME_RANGE}")
    except RecursionError:  # a free-form field decoded nearly as deep as the decoder allows
        raise BadRequest(TEXT_TOO_DEEP) from None
    return decoded


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The request's body: the one reader of every route's body (and of the sandbox step's), with
    its size limit. `RequestEntityTooLarge` (413) when the `Content-Length` or the bytes received
    pass `limit`; BadRequest for an unreadable `Content-Length` or a client gone before the end."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                announced = int(value)
            except ValueError:
                raise BadRequest("Content-Length: is not an integer") from None
            if announced > limit:
                raise RequestEntityTooLarge
            break
    message: Any = await receive()
    if message["type"] == "http.request" and not message.get("more_body", False):
        body: bytes = message.get("body", b"")  # the usual case: the whole body in one message
        if len(body) > limit:
            raise RequestEntityTooLarge
        return body
    chunks: list[bytes] = []
    size = 0
    while True:
        if message["type"] == "http.disconnect":
            raise BadRequest("body: the client disconnected before its end")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise RequestEntityTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
        message = await receive()


def body_model(handler: Any) -> Any:
    """The type a route handler declares its `data` (its JSON body) as, or None (Litestar parses
    the handler's signature once, when the app is built)."""
    field = handler.parsed_fn_signature.parameters.get("data")
    return None if field is None else field.annotation


class StrictRequest(Request[Any, Any, Any]):
    """The app's request: its body read by `read_body` (the one reader and size limit) and decoded
    once, strictly, by `decode_strict` into the type the route declares its `data` as (Litestar then
    hands that value to the route as it is; the declaration is also the OpenAPI description)."""

    async def body(self) -> bytes:
        """The body, read once (by `read_body`, within the app's limit) and kept on the scope."""
        if self._body is Empty:
            state = self._connection_state
            if state.body is Empty:
                limit = self.route_handler.resolve_request_max_body_size() or sys.maxsize
                state.body = await read_body(self.scope, self.receive, limit)
            self._body = state.body
        return self._body

    async def json(self) -> Any:
        """The body decoded strictly into the route's `data` type (`decode_strict`); as any JSON
        document for a route without one (BadRequest when nested too deeply)."""
        if self._json is Empty:
            model = body_model(self.route_handler)
            if model is None:
                return await self._document()
            raw = await self.body()
            if not raw.strip():
                raise BadRequest(TEXT_BODY_REQUIRED)
            try:
                self._json = decode_strict(raw, model)
            except BadRequest:
                # A body both malformed (or nested too deeply) and of the wrong shape is answered as
                # malformed, whichever comes first in it (the typed decoder would name an unknown
                # field before it reaches the rest): only a refused body is read a second time.
                await self._document()
                raise
        return self._json

    async def _document(self) -> Any:
        """The body as any JSON document (Litestar's decoding), or BadRequest when nested too deeply."""
        try:
            return await super().json()
        except RecursionError:
            raise BadRequest(TEXT_TOO_DEEP) from None
