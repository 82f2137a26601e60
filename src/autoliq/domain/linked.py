"""Linked orders: OCO pairs, OSO brackets and the multibracket order strategy (Tradovate's
`placeOCO`, `placeOSO`, `startOrderStrategy`). Pure: the strategy's `params` parsed and checked,
its statuses and link labels, and a bracket's price from its entry's fill."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from autoliq.domain.states import Side

MULTIBRACKET_TYPE_ID = 2
MULTIBRACKET = "multibracket"
"""The one order strategy type Tradovate offers (`orderStrategyTypeId` 2)."""
MAX_BRACKETS = 10
"""Brackets per strategy (ours: Tradovate documents no number)."""
MAX_PARAMS_CHARS = 8192
"""`params` length (Tradovate's limit on `StartOrderStrategy.params`)."""

TEXT_INVALID_PARAMS = "Invalid or missed parameters"
TEXT_TOO_MANY_STRATEGIES = "Limit of running order strategies reached"
TEXT_NOT_RUNNING = "Order strategy is not running"
TEXT_UNKNOWN_TYPE = "Unknown order strategy type"


class StrategyStatus(StrEnum):
    """Tradovate's `OrderStrategy.status` values autoliq uses."""

    ACTIVE = "ActiveStrategy"
    """Running: its entry or brackets are working or suspended."""
    FINISHED = "ExecutionFinished"
    """Every order of it filled, was cancelled or expired."""
    INTERRUPTED = "ExecutionInterrupted"
    """Stopped by `interruptOrderStrategy` or by a liquidation; its live orders were cancelled."""


ENTRY_LABEL = "Entry"


def target_label(index: int) -> str:
    """The link label of bracket `index`'s (0-based) profit target: `Target1`, `Target2`, ..."""
    return f"Target{index + 1}"


def stop_label(index: int) -> str:
    """The link label of bracket `index`'s (0-based) stop loss: `Stop1`, `Stop2`, ..."""
    return f"Stop{index + 1}"


@dataclass(frozen=True, slots=True)
class EntryVersion:
    """`params.entryVersion`: the entry order's terms (prices absolute, as placeorder's)."""

    order_qty: int
    order_type: str
    price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: str | None = None


@dataclass(frozen=True, slots=True)
class Bracket:
    """One of `params.brackets`: a quantity and signed distances from the entry's fill price."""

    qty: int
    profit_target: Decimal | None
    stop_loss: Decimal | None
    trailing_stop: bool = False


@dataclass(frozen=True, slots=True)
class StrategyParams:
    """The parsed `params` of a multibracket strategy."""

    entry: EntryVersion
    brackets: tuple[Bracket, ...]


def _number(value: Any, field: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{field}: should be a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{field}: should be a number") from None
    if not number.is_finite():
        raise ValueError(f"{field}: should be a finite number")
    return number


def _count(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{field}: should be a positive integer")
    return value


def _optional_number(raw: dict[str, Any], key: str, field: str) -> Decimal | None:
    value = raw.get(key)
    return None if value is None else _number(value, field)


def parse_params(text: str, side: Side) -> StrategyParams:
    """`params` of a multibracket strategy on `side`; ValueError names what is wrong.

    Offsets are signed price distances from the entry's fill price: for a Buy a profit target above
    (+) and a stop loss below (-), mirrored for a Sell. Bracket quantities must not add up to more
    than the entry's (they close what it opened, never reverse it).
    """
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError):
        raise ValueError("params: should be a JSON object encoded as a string") from None
    if not isinstance(raw, dict):
        raise ValueError("params: should be a JSON object encoded as a string")
    entry_raw = raw.get("entryVersion")
    if not isinstance(entry_raw, dict):
        raise ValueError("params.entryVersion: required object")
    order_type = entry_raw.get("orderType")
    if not isinstance(order_type, str) or not 0 < len(order_type) <= 32:
        raise ValueError("params.entryVersion.orderType: required text")
    tif = entry_raw.get("timeInForce")
    if tif is not None and (not isinstance(tif, str) or len(tif) > 8):
        raise ValueError("params.entryVersion.timeInForce: should be Day, GTC, IOC or FOK")
    entry = EntryVersion(
        _count(entry_raw.get("orderQty"), "params.entryVersion.orderQty"),
        order_type,
        _optional_number(entry_raw, "price", "params.entryVersion.price"),
        _optional_number(entry_raw, "stopPrice", "params.entryVersion.stopPrice"),
        tif,
    )
    brackets_raw = raw.get("brackets")
    if not isinstance(brackets_raw, list) or not brackets_raw:
        raise ValueError("params.brackets: at least one bracket is required")
    if len(brackets_raw) > MAX_BRACKETS:
        raise ValueError(f"params.brackets: at most {MAX_BRACKETS} brackets")
    brackets = []
    for index, item in enumerate(brackets_raw):
        field = f"params.brackets[{index}]"
        if not isinstance(item, dict):
            raise ValueError(f"{field}: should be an object")
        target = _optional_number(item, "profitTarget", f"{field}.profitTarget")
        stop = _optional_number(item, "stopLoss", f"{field}.stopLoss")
        if target is None and stop is None:
            raise ValueError(f"{field}: needs a profitTarget or a stopLoss")
        sign = side.sign
        if target is not None and target * sign <= 0:
            raise ValueError(
                f"{field}.profitTarget: should be {'positive' if sign > 0 else 'negative'} for a {side.value}"
            )
        if stop is not None and stop * sign >= 0:
            raise ValueError(
                f"{field}.stopLoss: should be {'negative' if sign > 0 else 'positive'} for a {side.value}"
            )
        trailing = item.get("trailingStop", False)
        if not isinstance(trailing, bool):
            raise ValueError(f"{field}.trailingStop: should be true or false")
        brackets.append(Bracket(_count(item.get("qty"), f"{field}.qty"), target, stop, trailing))
    if sum(b.qty for b in brackets) > entry.order_qty:
        raise ValueError("params.brackets: their qty add up to more than entryVersion.orderQty")
    return StrategyParams(entry, tuple(brackets))


def bracket_price(fill_price: Decimal, offset: Decimal) -> Decimal:
    """A strategy bracket's price once its entry filled at `fill_price`."""
    return fill_price + offset


@dataclass(frozen=True, slots=True)
class OrderStrategy:
    """A started order strategy (Tradovate's `OrderStrategy`)."""

    id: int
    account_id: int
    contract_id: int
    type_id: int
    side: Side
    params: str
    status: StrategyStatus
    timestamp: datetime
    initiator_id: int | None = None
    uuid: str | None = None
    failure_message: str | None = None
    custom_tag50: str | None = None


@dataclass(frozen=True, slots=True)
class StrategyLink:
    """One order of a strategy (Tradovate's `OrderStrategyLink`; its id is the order's)."""

    order_id: int
    strategy_id: int
    label: str
