"""`decode_strict`: the one decoding of every request body refuses text holding a NUL, naming where."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from autoliq.api.params import TEXT_NUL, decode_strict
from autoliq.domain.errors import BadRequest


class Item(msgspec.Struct, rename={"tag": "customTag"}):
    tag: str | None = None
    extra: dict[str, Any] | None = None


class Body(msgspec.Struct):
    name: str | None = None
    items: list[Item] | None = None


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        (b'{"name": "a\\u0000"}', "name"),
        (b'{"items": [{}, {"customTag": "\\u0000"}]}', "items[1].customTag"),
        (b'{"items": [{"extra": {"k": ["x", "y\\u0000z"]}}]}', "items[0].extra[...][1]"),
        (b'{"items": [{"extra": {"k\\u0000": 1}}]}', "items[0].extra[...]"),
    ],
)
def test_decode_strict_when_text_holds_a_nul_then_bad_request_naming_where(raw: bytes, where: str) -> None:
    with pytest.raises(BadRequest) as caught:
        decode_strict(raw, Body)
    assert caught.value.message == f"{where}: {TEXT_NUL}"


@pytest.mark.parametrize(
    "raw",
    [b'{"name": "a\\\\u0000"}', b'{"name": "ok", "ignored": "\\u0000"}', b'{"items": [{"customTag": "x"}]}'],
)
def test_decode_strict_when_no_decoded_text_holds_a_nul_then_decoded(raw: bytes) -> None:
    assert decode_strict(raw, Body) == msgspec.json.decode(raw, type=Body)
