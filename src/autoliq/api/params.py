"""Query-parameter helpers named as Tradovate names them (`id`, `ids`, `masterid`, `masterids`)."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import msgspec
from litestar import Request
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter

from autoliq.api.schemas import ErrorBody
from autoliq.domain.errors import BadRequest

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_IDS = 10_000

IdParam = Annotated[int, Parameter(ge=INT64_MIN, le=INT64_MAX, description="Entity id (int64)")]
MasterIdParam = Annotated[int, Parameter(ge=INT64_MIN, le=INT64_MAX, description="Master entity id (int64)")]
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
_NUL_ESCAPE = b"\\u0000"  # the only way a JSON text can hold a NUL (a raw one is malformed JSON)


def _nul_at(value: Any, where: str) -> str | None:
    """Where (msgspec's spelling: `$.items[0].name`) the first text in `value` holding a NUL is."""
    if isinstance(value, str):
        return where if "\x00" in value else None
    if isinstance(value, msgspec.Struct):
        for field in msgspec.structs.fields(value):
            found = _nul_at(getattr(value, field.name), f"{where}.{field.encode_name}")
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = _nul_at(item, f"{where}[{index}]")
            if found is not None:
                return found
    elif isinstance(value, dict):
        for key, item in value.items():
            found = _nul_at(key, f"{where}[...]") or _nul_at(item, f"{where}[...]")
            if found is not None:
                return found
    return None


def decode_strict(raw: bytes, model: type[S]) -> S:
    """`raw` decoded strictly: a string is never taken for a number, and no text holds a NUL
    (BadRequest naming the field).

    Litestar's own decoding (kept for the OpenAPI description) coerces `"1"` to `1`; Tradovate's
    contract says a wrong JSON type is a 400, so bodies are decoded here, strictly. PostgreSQL's text
    cannot hold a NUL (it refuses the statement, where SQLite stores it), so every body's text is
    refused here, on both engines, before any of it reaches a query.
    """
    try:
        decoded = msgspec.json.decode(raw, type=model, strict=True)
    except msgspec.ValidationError as exc:
        message = str(exc)
        if " - at `$." in message:
            text, _, where = message.partition(" - at `$.")
            raise BadRequest(f"{where.rstrip('`')}: {text}") from None
        raise BadRequest(message) from None
    except msgspec.DecodeError as exc:
        raise BadRequest(f"Malformed JSON body: {exc}") from None
    if _NUL_ESCAPE in raw:  # rare: only then walk what was decoded (`"\\u0000"` is no NUL)
        found = _nul_at(decoded, "$")
        if found is not None:
            raise BadRequest(TEXT_NUL if found == "$" else f"{found.removeprefix('$.')}: {TEXT_NUL}")
    return decoded


async def strict_body(request: Request[Any, Any, Any], model: type[S]) -> S:
    """The request's body decoded strictly (see `decode_strict`)."""
    return decode_strict(await request.body(), model)
