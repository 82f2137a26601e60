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
    400: _spec("Malformed JSON, wrong JSON types or bad query parameters: errorText names the field"),
    401: _spec("Missing, forged or expired token, or not allowed: errorText `Access is denied`"),
    404: _spec("Unknown entity, or one of another organization"),
    413: _spec("Request body over the size limit (1 MiB)"),
}

PUBLIC_ERROR_RESPONSES: dict[int, ResponseSpec] = {
    400: ERROR_RESPONSES[400],
    413: ERROR_RESPONSES[413],
}


S = TypeVar("S", bound=msgspec.Struct)


def decode_strict(raw: bytes, model: type[S]) -> S:
    """`raw` decoded strictly: a string is never taken for a number (BadRequest naming the field).

    Litestar's own decoding (kept for the OpenAPI description) coerces `"1"` to `1`; Tradovate's
    contract says a wrong JSON type is a 400, so bodies are decoded here, strictly.
    """
    try:
        return msgspec.json.decode(raw, type=model, strict=True)
    except msgspec.ValidationError as exc:
        message = str(exc)
        if " - at `$." in message:
            text, _, where = message.partition(" - at `$.")
            raise BadRequest(f"{where.rstrip('`')}: {text}") from None
        raise BadRequest(message) from None
    except msgspec.DecodeError as exc:
        raise BadRequest(f"Malformed JSON body: {exc}") from None


async def strict_body(request: Request[Any, Any, Any], model: type[S]) -> S:
    """The request's body decoded strictly (see `decode_strict`)."""
    return decode_strict(await request.body(), model)
