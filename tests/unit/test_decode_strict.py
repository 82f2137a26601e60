"""`decode_strict`: the one decoding of every request body refuses text holding a NUL, naming where."""

from __future__ import annotations

import sys
from datetime import date, datetime
from typing import Any

import msgspec
import pytest

from autoliq.api.bounds import Int64
from autoliq.api.params import TEXT_NUL, TEXT_TOO_DEEP, decode_strict
from autoliq.domain.bounds import TEXT_TIME_RANGE
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


# -- bounds: nesting depth and dates --


class Timed(msgspec.Struct):
    when: datetime | None = None
    day: date | None = None
    items: list[Item] | None = None
    later: list[datetime] | None = None


class Loose(msgspec.Struct):
    anything: Any = None


DEEP = b"[" * 1000 + b"]" * 1000


@pytest.mark.parametrize(
    ("raw", "model"),
    [
        (b'{"name": "a", "zz": {"a": ' + DEEP + b"}}", Body),
        (b'{"ignored": ' + DEEP + b"}", Body),
        (b'{"items": [{"extra": {"k": ' + DEEP + b"}}]}", Body),
        (b'{"anything": ' + DEEP + b"}", Loose),
    ],
)
def test_decode_strict_when_nested_too_deeply_then_bad_request_malformed_not_recursion_error(
    raw: bytes, model: type[msgspec.Struct]
) -> None:
    with pytest.raises(BadRequest) as caught:
        decode_strict(raw, model)
    assert caught.value.message == TEXT_TOO_DEEP


def test_decode_strict_when_free_form_field_nests_deep_then_the_walk_is_no_recursion_error() -> None:
    """The decoder may build what the NUL walk (pure Python, deeper frames) cannot recurse through."""
    depth = sys.getrecursionlimit() - 50
    raw = b'{"anything": ' + b"[" * depth + b'"\\u0000"' + b"]" * depth + b"}"
    try:
        decoded = msgspec.json.decode(raw, type=Loose)
    except RecursionError:
        pytest.skip("the decoder itself refuses this depth here")
    assert decoded is not None
    with pytest.raises(BadRequest):
        decode_strict(raw, Loose)


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        (b'{"when": "9999-12-31T23:59:59Z"}', "when"),
        (b'{"when": "1999-12-31T23:59:59.999999Z"}', "when"),
        (b'{"when": "2100-01-01T00:00:00.000001Z"}', "when"),
        (b'{"when": "0001-01-01T00:00:00"}', "when"),
        (b'{"day": "2100-01-02"}', "day"),
        (b'{"later": ["2026-12-02T17:00:00Z", "9999-01-01T00:00:00+14:00"]}', "later[1]"),
    ],
)
def test_decode_strict_when_a_date_is_outside_2000_to_2100_then_bad_request_naming_it(
    raw: bytes, where: str
) -> None:
    with pytest.raises(BadRequest) as caught:
        decode_strict(raw, Timed)
    assert caught.value.message == f"{where}: {TEXT_TIME_RANGE}"


@pytest.mark.parametrize(
    "raw",
    [
        b'{"when": "2000-01-01T00:00:00Z", "day": "2100-01-01"}',
        b'{"when": "2100-01-01T00:00:00Z"}',
        b'{"when": "2100-01-01T05:00:00+06:00"}',
        b'{"later": []}',
    ],
)
def test_decode_strict_when_dates_are_on_or_within_the_bounds_then_decoded(raw: bytes) -> None:
    assert decode_strict(raw, Timed) == msgspec.json.decode(raw, type=Timed)


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 10**30])
def test_decode_strict_when_an_int64_field_is_beyond_it_then_bad_request_naming_it(value: int) -> None:
    class Ids(msgspec.Struct):
        ids: list[Int64]

    with pytest.raises(BadRequest) as caught:
        decode_strict(b'{"ids": [1, %d]}' % value, Ids)
    assert caught.value.message.startswith("ids[1]: Expected `int`")
