"""The multibracket strategy's `params` and bracket prices (domain/linked.py), and how the gate counts
OCO pairs among working orders (`service/execution.working_qty`): pure, no database."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from autoliq.domain.linked import (
    MAX_BRACKETS,
    Bracket,
    bracket_price,
    parse_params,
    stop_label,
    target_label,
)
from autoliq.domain.orders import Order, OrderType, OrdStatus, TimeInForce
from autoliq.domain.states import Side
from autoliq.service.execution import working_qty


def params(entry: dict[str, Any] | None = None, *brackets: dict[str, Any]) -> str:
    found = brackets or ({"qty": 1, "profitTarget": 75, "stopLoss": -33, "trailingStop": False},)
    return json.dumps(
        {"entryVersion": entry or {"orderQty": 1, "orderType": "Market"}, "brackets": list(found)}
    )


def test_parse_params_when_faq_example_then_entry_and_one_bracket() -> None:
    entry = {"orderId": 0, "orderQty": 1, "orderType": "Limit", "price": 4150.25, "timeInForce": "Day"}

    parsed = parse_params(params(entry), Side.BUY)

    assert (parsed.entry.order_qty, parsed.entry.order_type, parsed.entry.price) == (
        1,
        "Limit",
        Decimal("4150.25"),
    )
    assert parsed.entry.time_in_force == "Day"
    assert parsed.brackets == (Bracket(1, Decimal(75), Decimal(-33), False),)


def test_parse_params_when_sell_then_signs_mirror() -> None:
    bracket = {"qty": 1, "profitTarget": -30, "stopLoss": 15, "trailingStop": False}

    parsed = parse_params(params(None, bracket), Side.SELL)

    assert parsed.brackets[0].profit_target == Decimal(-30) and parsed.brackets[0].stop_loss == Decimal(15)
    with pytest.raises(ValueError, match=r"profitTarget: should be positive for a Buy"):
        parse_params(params(None, bracket), Side.BUY)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "params: should be a JSON object encoded as a string"),
        ("[1]", "params: should be a JSON object encoded as a string"),
        ("[" * 5000, "params: should be a JSON object encoded as a string"),
        (json.dumps({"brackets": []}), "params.entryVersion: required object"),
        (
            params({"orderQty": 0, "orderType": "Market"}),
            "params.entryVersion.orderQty: should be a positive",
        ),
        (
            params({"orderQty": True, "orderType": "Market"}),
            "params.entryVersion.orderQty: should be a positive",
        ),
        (params({"orderQty": 1}), "params.entryVersion.orderType: required text"),
        (
            params({"orderQty": 1, "orderType": "Limit", "price": "x"}),
            "params.entryVersion.price: should be a number",
        ),
        (
            params({"orderQty": 1, "orderType": "Limit", "price": 1e999}),
            "params.entryVersion.price: should be a finite",
        ),
        (
            json.dumps({"entryVersion": {"orderQty": 1, "orderType": "Market"}, "brackets": []}),
            "at least one bracket",
        ),
        (params(None, {"qty": 1}), r"params.brackets\[0\]: needs a profitTarget or a stopLoss"),
        (
            params(None, {"qty": 1, "stopLoss": 5}),
            r"params.brackets\[0\].stopLoss: should be negative for a Buy",
        ),
        (
            params(None, {"qty": 1, "stopLoss": -5, "trailingStop": "no"}),
            r"trailingStop: should be true or false",
        ),
        (params(None, {"qty": 2, "stopLoss": -5}), "add up to more than entryVersion.orderQty"),
        (
            params(None, *([{"qty": 1, "stopLoss": -5}] * (MAX_BRACKETS + 1))),
            f"at most {MAX_BRACKETS} brackets",
        ),
        (params(None, "x"), r"params.brackets\[0\]: should be an object"),  # type: ignore[arg-type]
    ],
)
def test_parse_params_when_malformed_then_value_error_names_the_field(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_params(text, Side.BUY)


def test_bracket_price_and_labels_when_computed_then_offset_from_fill_and_numbered_from_one() -> None:
    assert bracket_price(Decimal("5000.25"), Decimal("-5.5")) == Decimal("4994.75")
    assert (target_label(0), stop_label(1)) == ("Target1", "Stop2")


def _order(order_id: int, side: Side, qty: int, oco_id: int | None = None) -> Order:
    return Order(
        order_id, 1, 1, side, OrderType.LIMIT, qty, TimeInForce.GTC, OrdStatus.WORKING, False,
        datetime(2026, 11, 24, tzinfo=UTC), oco_id=oco_id,
    )  # fmt: skip


def test_working_qty_when_oco_pairs_then_each_pair_counts_once_and_opposite_legs_on_their_side() -> None:
    working = [
        _order(1, Side.SELL, 1, oco_id=2), _order(2, Side.SELL, 1, oco_id=1),  # a pair: counts 1
        _order(3, Side.SELL, 2),  # alone: counts 2
        _order(4, Side.SELL, 3, oco_id=5), _order(5, Side.BUY, 3, oco_id=4),  # opposite sides
    ]  # fmt: skip

    assert working_qty(working, Side.SELL) == 1 + 2 + 3
    assert working_qty(working, Side.BUY) == 3
    assert working_qty(working[1:], Side.SELL) == 1 + 2 + 3  # the sibling excluded: the leg counts alone
