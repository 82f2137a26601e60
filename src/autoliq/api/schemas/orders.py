"""Wire shapes of the order path: Tradovate's `PlaceOrder`, `PlaceOrderResult`, `CancelOrder`,
`CommandResult`, `Order`, `Fill`, `FillPair`, `Position`, `CashBalanceSnapshot` (field names are
Tradovate's)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import msgspec

from autoliq.api.bounds import Int64
from autoliq.service.execution import OrderOutcome
from autoliq.service.orders import CashSnapshot, ModifyOrder, PlaceOrder
from autoliq.service.views import CashBalanceView, FillPairView, FillView, OrderView, PositionView


class PlaceOrderBody(msgspec.Struct, forbid_unknown_fields=False):
    """Tradovate's `PlaceOrder` (enum fields read as text: an unknown value is a failureReason)."""

    action: str
    symbol: str
    orderQty: int
    orderType: str
    accountId: Int64 | None = None
    accountSpec: str | None = None
    clOrdId: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    price: float | None = None
    stopPrice: float | None = None
    timeInForce: str | None = None
    text: str | None = None
    isAutomated: bool | None = None


def place_order_command(body: PlaceOrderBody) -> PlaceOrder:
    """The service's placeorder request from the decoded body."""
    return PlaceOrder(
        body.accountId, body.symbol, body.action, body.orderQty, body.orderType,
        body.price, body.stopPrice, body.timeInForce, body.clOrdId,
    )  # fmt: skip


class PlaceOrderResultOut(msgspec.Struct, omit_defaults=True):
    """Tradovate's `PlaceOrderResult`."""

    failureReason: str | None = None
    failureText: str | None = None
    orderId: int | None = None


class CancelOrderBody(msgspec.Struct, forbid_unknown_fields=False):
    """Tradovate's `CancelOrder`."""

    orderId: Int64
    clOrdId: str | None = None
    isAutomated: bool | None = None


class ModifyOrderBody(msgspec.Struct, forbid_unknown_fields=False):
    """Tradovate's `ModifyOrder`."""

    orderId: Int64
    orderQty: int
    orderType: str
    price: float | None = None
    stopPrice: float | None = None
    timeInForce: str | None = None
    clOrdId: str | None = None
    isAutomated: bool | None = None


def modify_order_command(body: ModifyOrderBody) -> ModifyOrder:
    """The service's modifyorder request from the decoded body."""
    return ModifyOrder(
        body.orderId, body.orderQty, body.orderType, body.price, body.stopPrice, body.timeInForce
    )


class LiquidatePositionBody(msgspec.Struct, forbid_unknown_fields=False):
    """Tradovate's `LiquidatePosition`."""

    accountId: Int64
    contractId: Int64
    admin: bool
    customTag50: str | None = None
    isAutomated: bool | None = None


class LiquidatePositionsBody(msgspec.Struct, forbid_unknown_fields=False):
    """Tradovate's `LiquidatePositions`: position ids."""

    positions: Annotated[list[Int64], msgspec.Meta(max_length=10_000)]
    admin: bool
    customTag50: str | None = None
    isAutomated: bool | None = None


class SimpleResponseOut(msgspec.Struct, omit_defaults=True):
    """Tradovate's `SimpleResponse`."""

    ok: bool
    errorText: str | None = None


class CommandResultOut(msgspec.Struct, omit_defaults=True):
    """Tradovate's `CommandResult`."""

    failureReason: str | None = None
    failureText: str | None = None
    commandId: int | None = None


class GetCashBalanceSnapshotBody(msgspec.Struct, forbid_unknown_fields=False):
    """Tradovate's `GetCashBalanceSnapshot`."""

    accountId: Int64


class ChangeDemoBalanceBody(msgspec.Struct, forbid_unknown_fields=False):
    """Tradovate's `ChangeDemoBalance`: `cashChange` is a delta in dollars."""

    accountId: Int64 | None = None
    cashChange: float | None = None
    comment: str | None = None


class CashBalanceErrorOut(msgspec.Struct):
    """A `CashBalanceSnapshot` that carries only its `errorText` (a refused change, HTTP 200)."""

    errorText: str


class CashBalanceSnapshotOut(msgspec.Struct, omit_defaults=True):
    """Tradovate's `CashBalanceSnapshot` (in dollars)."""

    totalCashValue: float
    totalPnL: float
    netLiq: float
    openPnL: float
    realizedPnL: float
    weekRealizedPnL: float
    netLiqSOD: float
    totalCashValueSOD: float
    cashUSD: float
    cashSODUSD: float
    errorText: str | None = None


class TradeDateOut(msgspec.Struct):
    """Tradovate's `TradeDate`."""

    year: int
    month: int
    day: int


class OrderOut(msgspec.Struct, omit_defaults=True):
    """Tradovate's `Order` (`parentId` and `ocoId` on linked orders only)."""

    id: int
    accountId: int
    contractId: int
    timestamp: datetime
    action: str
    ordStatus: str
    admin: bool
    ocoId: int | None = None
    parentId: int | None = None


class FillOut(msgspec.Struct):
    """Tradovate's `Fill`."""

    id: int
    orderId: int
    contractId: int
    timestamp: datetime
    tradeDate: TradeDateOut
    action: str
    qty: int
    price: float
    active: bool
    finallyPaired: int


class FillPairOut(msgspec.Struct):
    """Tradovate's `FillPair`."""

    id: int
    positionId: int
    buyFillId: int
    sellFillId: int
    qty: int
    buyPrice: float
    sellPrice: float
    active: bool


class PositionOut(msgspec.Struct, omit_defaults=True):
    """Tradovate's `Position`."""

    id: int
    accountId: int
    contractId: int
    timestamp: datetime
    tradeDate: TradeDateOut
    netPos: int
    bought: int
    boughtValue: float
    sold: int
    soldValue: float
    prevPos: int
    netPrice: float | None = None


def _trade_date(day: date) -> TradeDateOut:
    return TradeDateOut(day.year, day.month, day.day)


def outcome_out(outcome: OrderOutcome) -> PlaceOrderResultOut:
    """The wire form of a placeorder outcome."""
    return PlaceOrderResultOut(outcome.failure_reason, outcome.failure_text, outcome.order_id)


def command_out(outcome: OrderOutcome) -> CommandResultOut:
    """The wire form of a cancelorder outcome."""
    return CommandResultOut(outcome.failure_reason, outcome.failure_text, outcome.order_id)


def order_out(v: OrderView) -> OrderOut:
    """The wire form of an order."""
    return OrderOut(
        v.id, v.account_id, v.contract_id, v.timestamp, v.side, v.status, v.admin, v.oco_id, v.parent_id
    )


def fill_out(v: FillView) -> FillOut:
    """The wire form of a fill."""
    day = _trade_date(v.trade_date)
    return FillOut(
        v.id, v.order_id, v.contract_id, v.timestamp, day, v.side, v.qty, float(v.price), True, 0
    )  # fmt: skip


def fill_pair_out(v: FillPairView) -> FillPairOut:
    """The wire form of a fill pair (every derived pair is `active`)."""
    p = v.pair
    return FillPairOut(
        p.id,
        v.position_id,
        p.buy_fill_id,
        p.sell_fill_id,
        p.qty,
        float(p.buy_price),
        float(p.sell_price),
        True,
    )


def position_out(v: PositionView) -> PositionOut:
    """The wire form of a position."""
    return PositionOut(
        v.id, v.account_id, v.contract_id, v.timestamp, _trade_date(v.trade_date), v.net_pos,
        v.bought, float(v.bought_value), v.sold, float(v.sold_value), prevPos=0,
        netPrice=float(v.net_price) if v.net_price is not None else None,
    )  # fmt: skip


def snapshot_out(s: CashSnapshot) -> CashBalanceSnapshotOut:
    """The wire form of a cash snapshot."""
    return CashBalanceSnapshotOut(
        totalCashValue=float(s.total_cash_value),
        totalPnL=float(s.realized_pnl + s.open_pnl),
        netLiq=float(s.net_liq),
        openPnL=float(s.open_pnl),
        realizedPnL=float(s.realized_pnl),
        weekRealizedPnL=float(s.week_realized_pnl),
        netLiqSOD=float(s.total_cash_value_sod),
        totalCashValueSOD=float(s.total_cash_value_sod),
        cashUSD=float(s.total_cash_value),
        cashSODUSD=float(s.total_cash_value_sod),
    )


class CashBalanceOut(msgspec.Struct):
    """Tradovate's `CashBalance` (one per account; id = account id)."""

    id: int
    accountId: int
    timestamp: datetime
    tradeDate: TradeDateOut
    currencyId: int
    amount: float
    realizedPnL: float
    weekRealizedPnL: float
    amountSOD: float


def cash_balance_out(v: CashBalanceView) -> CashBalanceOut:
    """The wire form of a cash balance."""
    return CashBalanceOut(
        v.account_id, v.account_id, v.timestamp, _trade_date(v.trade_date), 1, float(v.amount),
        float(v.realized_pnl), float(v.week_realized_pnl), float(v.amount_sod),
    )  # fmt: skip
