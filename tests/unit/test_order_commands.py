"""The api's wire structs become the service's typed commands field for field (each field given a
value no other field has, so a swapped or dropped field fails)."""

from __future__ import annotations

from typing import Any

import msgspec

from autoliq.api.schemas.dry_run import DryRunOrderBody, dry_run_order_command
from autoliq.api.schemas.linked import (
    PlaceOcoBody,
    PlaceOsoBody,
    StartOrderStrategyBody,
    place_oco_command,
    place_oso_command,
    start_strategy_command,
)
from autoliq.api.schemas.orders import (
    ModifyOrderBody,
    PlaceOrderBody,
    modify_order_command,
    place_order_command,
)
from autoliq.service.dry_run import ProposedOrder
from autoliq.service.linked_service import PlaceOco, PlaceOso, RestrainedOrder, StartStrategy
from autoliq.service.orders import ModifyOrder, PlaceOrder

FIRST: dict[str, Any] = {
    "accountId": 7, "symbol": "ESZ6", "action": "Buy", "orderQty": 3, "orderType": "StopLimit",
    "price": 5000.25, "stopPrice": 4999.75, "timeInForce": "GTC", "clOrdId": "c-1",
    "accountSpec": "spec", "text": "t", "isAutomated": True,
}  # fmt: skip
FIRST_COMMAND = PlaceOrder(7, "ESZ6", "Buy", 3, "StopLimit", 5000.25, 4999.75, "GTC", "c-1")
LEG: dict[str, Any] = {
    "action": "Sell", "orderType": "Limit", "price": 5010.5, "stopPrice": 4980.5,
    "timeInForce": "Day", "clOrdId": "leg", "text": "t",
}  # fmt: skip
LEG_COMMAND = RestrainedOrder("Sell", "Limit", 5010.5, 4980.5, "Day", "leg")


def test_place_order_command_when_every_field_given_then_each_lands_in_its_own_field() -> None:
    body = msgspec.convert(FIRST, PlaceOrderBody)

    assert place_order_command(body) == FIRST_COMMAND


def test_place_order_command_when_only_required_fields_then_the_rest_none() -> None:
    raw = {"symbol": "NQZ6", "action": "Sell", "orderQty": 1, "orderType": "Market"}

    command = place_order_command(msgspec.convert(raw, PlaceOrderBody))

    assert command == PlaceOrder(None, "NQZ6", "Sell", 1, "Market", None, None, None, None)


def test_modify_order_command_when_every_field_given_then_each_lands_in_its_own_field() -> None:
    raw = {
        "orderId": 11, "orderQty": 2, "orderType": "StopLimit", "price": 5001.0, "stopPrice": 5000.5,
        "timeInForce": "GTC", "clOrdId": "x", "isAutomated": False,
    }  # fmt: skip

    command = modify_order_command(msgspec.convert(raw, ModifyOrderBody))

    assert command == ModifyOrder(11, 2, "StopLimit", 5001.0, 5000.5, "GTC")


def test_place_oco_command_when_every_field_given_then_first_order_and_other_leg() -> None:
    body = msgspec.convert({**FIRST, "customTag50": "tag", "other": LEG}, PlaceOcoBody)

    assert place_oco_command(body) == PlaceOco(FIRST_COMMAND, LEG_COMMAND)


def test_place_oso_command_when_one_or_two_brackets_then_second_none_or_given() -> None:
    second = {"action": "Sell", "orderType": "Stop", "stopPrice": 4970.0}
    one = msgspec.convert({**FIRST, "bracket1": LEG}, PlaceOsoBody)
    two = msgspec.convert({**FIRST, "bracket1": LEG, "bracket2": second}, PlaceOsoBody)

    assert place_oso_command(one) == PlaceOso(FIRST_COMMAND, LEG_COMMAND, None)
    assert place_oso_command(two) == PlaceOso(
        FIRST_COMMAND, LEG_COMMAND, RestrainedOrder("Sell", "Stop", None, 4970.0, None, None)
    )


def test_start_strategy_command_when_params_a_string_then_kept_else_none() -> None:
    raw = {
        "accountId": 7, "symbol": "ESZ6", "orderStrategyTypeId": 2, "action": "Buy",
        "params": '{"entryVersion": {}}', "uuid": "u-1", "customTag50": "tag", "accountSpec": "s",
    }  # fmt: skip
    as_object = {**raw, "params": {"entryVersion": {}}}
    missing = {k: v for k, v in raw.items() if k != "params"}

    commands = [
        start_strategy_command(msgspec.convert(r, StartOrderStrategyBody)) for r in (raw, as_object, missing)
    ]

    assert commands[0] == StartStrategy(7, "ESZ6", "Buy", 2, '{"entryVersion": {}}', "u-1", "tag")
    assert commands[1] == StartStrategy(7, "ESZ6", "Buy", 2, None, "u-1", "tag")
    assert commands[2] == StartStrategy(7, "ESZ6", "Buy", 2, None, "u-1", "tag")


def test_dry_run_order_command_when_every_field_given_then_each_lands_in_its_own_field() -> None:
    raw = {
        "contractId": 4, "action": "Sell", "orderQty": 5, "orderType": "StopLimit",
        "price": 5002.0, "stopPrice": 5001.5,
    }  # fmt: skip

    command = dry_run_order_command(msgspec.convert(raw, DryRunOrderBody))

    assert command == ProposedOrder(4, "Sell", 5, "StopLimit", 5002.0, 5001.5)
