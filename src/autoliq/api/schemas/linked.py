"""Wire shapes of linked orders: Tradovate's `PlaceOCO`, `PlaceOSO`, `RestrainedOrderVersion`,
`PlaceOcoResult`, `PlaceOsoResult`, `StartOrderStrategy`, `InterruptOrderStrategy`,
`ModifyOrderStrategy`, `OrderStrategyStatusResponse`, `OrderStrategy`, `OrderStrategyLink` and
`OrderStrategyType` (field names are Tradovate's)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec

from autoliq.api.bounds import Int64
from autoliq.domain.linked import MULTIBRACKET, MULTIBRACKET_TYPE_ID, OrderStrategy, StrategyLink
from autoliq.service.linked_orders import LinkedOutcome, StrategyOutcome
from autoliq.service.linked_service import PlaceOco, PlaceOso, RestrainedOrder, StartStrategy
from autoliq.service.orders import PlaceOrder

Text64 = Annotated[str, msgspec.Meta(max_length=64)]


class RestrainedOrderVersionBody(msgspec.Struct, forbid_unknown_fields=False):
    """Tradovate's `RestrainedOrderVersion`: an OCO's other leg or an OSO bracket (contract and
    quantity are the first order's)."""

    action: Text64
    orderType: Text64
    clOrdId: Text64 | None = None
    price: float | None = None
    stopPrice: float | None = None
    timeInForce: Text64 | None = None
    text: Text64 | None = None


class _PlaceOrderFields(msgspec.Struct, forbid_unknown_fields=False, kw_only=True):
    """The `PlaceOrder` fields that `PlaceOCO` and `PlaceOSO` carry for their first order."""

    action: Text64
    symbol: Text64
    orderQty: int
    orderType: Text64
    accountId: Int64 | None = None
    accountSpec: Text64 | None = None
    clOrdId: Text64 | None = None
    price: float | None = None
    stopPrice: float | None = None
    timeInForce: Text64 | None = None
    text: Text64 | None = None
    customTag50: Text64 | None = None
    isAutomated: bool | None = None


class PlaceOcoBody(_PlaceOrderFields, kw_only=True):
    """Tradovate's `PlaceOCO`: a `PlaceOrder` and the `other` leg."""

    other: RestrainedOrderVersionBody


class PlaceOsoBody(_PlaceOrderFields, kw_only=True):
    """Tradovate's `PlaceOSO`: an entry `PlaceOrder`, `bracket1` and optionally `bracket2`."""

    bracket1: RestrainedOrderVersionBody
    bracket2: RestrainedOrderVersionBody | None = None


def _restrained(body: RestrainedOrderVersionBody) -> RestrainedOrder:
    return RestrainedOrder(
        body.action, body.orderType, body.price, body.stopPrice, body.timeInForce, body.clOrdId
    )


def _first_order(body: _PlaceOrderFields) -> PlaceOrder:
    return PlaceOrder(
        body.accountId, body.symbol, body.action, body.orderQty, body.orderType,
        body.price, body.stopPrice, body.timeInForce, body.clOrdId,
    )  # fmt: skip


def place_oco_command(body: PlaceOcoBody) -> PlaceOco:
    """The service's placeOCO request from the decoded body."""
    return PlaceOco(_first_order(body), _restrained(body.other))


def place_oso_command(body: PlaceOsoBody) -> PlaceOso:
    """The service's placeOSO request from the decoded body."""
    bracket2 = None if body.bracket2 is None else _restrained(body.bracket2)
    return PlaceOso(_first_order(body), _restrained(body.bracket1), bracket2)


class PlaceOcoResultOut(msgspec.Struct, omit_defaults=True):
    """Tradovate's `PlaceOcoResult`."""

    failureReason: str | None = None
    failureText: str | None = None
    orderId: int | None = None
    ocoId: int | None = None


class PlaceOsoResultOut(msgspec.Struct, omit_defaults=True):
    """Tradovate's `PlaceOsoResult`."""

    failureReason: str | None = None
    failureText: str | None = None
    orderId: int | None = None
    oso1Id: int | None = None
    oso2Id: int | None = None


class StartOrderStrategyBody(msgspec.Struct, forbid_unknown_fields=False):
    """Tradovate's `StartOrderStrategy` (`params` read as any JSON: an object instead of the
    JSON-encoded string is answered with an errorText, not a 400)."""

    symbol: Text64
    orderStrategyTypeId: Int64
    action: Text64
    accountId: Int64 | None = None
    accountSpec: Text64 | None = None
    params: Any = None
    uuid: Text64 | None = None
    customTag50: Text64 | None = None
    isAutomated: bool | None = None


def start_strategy_command(body: StartOrderStrategyBody) -> StartStrategy:
    """The service's startOrderStrategy request from the decoded body (`params` that is not a
    string, an object where the JSON-encoded string belongs, is passed as None: refused alike)."""
    params = body.params if isinstance(body.params, str) else None
    return StartStrategy(
        body.accountId, body.symbol, body.action, body.orderStrategyTypeId, params, body.uuid,
        body.customTag50,
    )  # fmt: skip


class InterruptOrderStrategyBody(msgspec.Struct, forbid_unknown_fields=False):
    """Tradovate's `InterruptOrderStrategy`."""

    orderStrategyId: Int64


class ModifyOrderStrategyBody(msgspec.Struct, forbid_unknown_fields=False):
    """Tradovate's `ModifyOrderStrategy`."""

    orderStrategyId: Int64
    command: Annotated[str, msgspec.Meta(max_length=1024)]
    customTag50: Text64 | None = None


class OrderStrategyOut(msgspec.Struct, omit_defaults=True):
    """Tradovate's `OrderStrategy`."""

    id: int
    accountId: int
    timestamp: datetime
    contractId: int
    orderStrategyTypeId: int
    action: str
    params: str
    status: str
    initiatorId: int | None = None
    uuid: str | None = None
    failureMessage: str | None = None
    customTag50: str | None = None


class OrderStrategyStatusResponseOut(msgspec.Struct, omit_defaults=True):
    """Tradovate's `OrderStrategyStatusResponse`."""

    errorText: str | None = None
    failureReason: str | None = None
    orderStrategy: OrderStrategyOut | None = None


class OrderStrategyLinkOut(msgspec.Struct):
    """Tradovate's `OrderStrategyLink` (its id is its order's)."""

    id: int
    orderStrategyId: int
    orderId: int
    label: str


class OrderStrategyTypeOut(msgspec.Struct):
    """Tradovate's `OrderStrategyType`."""

    id: int
    name: str
    enabled: bool


ORDER_STRATEGY_TYPES = (OrderStrategyTypeOut(MULTIBRACKET_TYPE_ID, MULTIBRACKET, True),)
"""The strategy types autoliq runs: Tradovate's one, multibracket."""


def oco_out(outcome: LinkedOutcome) -> PlaceOcoResultOut:
    """The wire form of a placeOCO outcome."""
    other = outcome.linked_ids[0] if outcome.linked_ids else None
    return PlaceOcoResultOut(outcome.failure_reason, outcome.failure_text, outcome.order_id, other)


def oso_out(outcome: LinkedOutcome) -> PlaceOsoResultOut:
    """The wire form of a placeOSO outcome."""
    ids = [*outcome.linked_ids, None, None]
    return PlaceOsoResultOut(outcome.failure_reason, outcome.failure_text, outcome.order_id, ids[0], ids[1])


def strategy_out(s: OrderStrategy) -> OrderStrategyOut:
    """The wire form of an order strategy."""
    return OrderStrategyOut(
        s.id, s.account_id, s.timestamp, s.contract_id, s.type_id, s.side.value, s.params, s.status.value,
        s.initiator_id, s.uuid, s.failure_message, s.custom_tag50,
    )  # fmt: skip


def strategy_status_out(outcome: StrategyOutcome) -> OrderStrategyStatusResponseOut:
    """The wire form of a start/interrupt/modify outcome."""
    found = None if outcome.strategy is None else strategy_out(outcome.strategy)
    return OrderStrategyStatusResponseOut(outcome.error_text, outcome.failure_reason, found)


def link_out(link: StrategyLink) -> OrderStrategyLinkOut:
    """The wire form of a strategy link."""
    return OrderStrategyLinkOut(link.order_id, link.strategy_id, link.order_id, link.label)
