"""Tradovate's `order/dryrun`: up to four orders judged by the one gate, in one read, and nothing
stored (no order row, no event, no log row): a read, never a write.

The orders of a batch are judged in order, each as if the batch's earlier orders in its contract
were working beside the account's own (so four buys of 3 against a cap of 10 are refused at the
fourth). The first refusal answers for the batch. The risk figures (`RiskEvaluationDetails`) are
what the sandbox knows: the position in the batch's first contract and the positions it would
reach, the cash, open P&L and net liquidation value. The sandbox has no margin model and charges
no commissions or fees: every margin, collateral and fee figure is 0 (docs/api.md, "Dry run").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from autoliq.domain.errors import NotFound, Unauthorized
from autoliq.domain.gate import UNKNOWN_REASON, Allowed, OrderIntent, may_trade, reducible_qty
from autoliq.domain.gate import AccountPosition as GatePosition
from autoliq.domain.instruments import ContractSpec
from autoliq.domain.limits import MAX_ORDER_QTY_LIMIT_REACHED, OrderLimits
from autoliq.domain.model import User
from autoliq.domain.orders import OrderType
from autoliq.domain.session import trade_date
from autoliq.domain.states import AdminAction, Side
from autoliq.service.accounts import AccountDirectory
from autoliq.service.clock import Clock
from autoliq.service.execution import NO_QUOTE, TEXT_NO_QUOTE, OrderOutcome, gate_decision
from autoliq.service.market import MarketData
from autoliq.service.orders import (
    INVALID_CONTRACT,
    TradingService,
    _quantity_failure,
    cash_snapshot_of,
)
from autoliq.service.ports import Store, UnitOfWork

MAX_DRY_RUN_ORDERS = 4
MAX_TOTAL_POS_LIMIT_REACHED = "MaxTotalPosLimitReached"


@dataclass(frozen=True, slots=True)
class ProposedOrder:
    """Tradovate's `DryRunOrder` as sent: validated as placeorder validates it."""

    contract_id: int
    action: str
    order_qty: int
    order_type: str
    price: float | None = None
    stop_price: float | None = None


@dataclass(frozen=True, slots=True)
class DryRunOrder:
    """One order of a batch, validated."""

    contract: ContractSpec
    side: Side
    qty: int
    order_type: OrderType


@dataclass(frozen=True, slots=True)
class ExtraRisk:
    """`extraPreTradeRisk`'s two totals (None: not given)."""

    max_exposed_total: int | None = None
    """At most this many contracts held in all, summed over the batch's contracts, if every order filled."""
    max_traded_volume_total: int | None = None
    """At most this many contracts in the batch's orders together."""


@dataclass(frozen=True, slots=True)
class RiskDetails:
    """Tradovate's `RiskEvaluationDetails`, in dollars and contracts (margins: the sandbox has none)."""

    before_net_pos: int
    hypo_long_pos: int
    hypo_short_pos: int
    is_exit_order: bool
    total_cash: Decimal
    futures_open_pnl: Decimal
    net_liq: Decimal


@dataclass(frozen=True, slots=True)
class DryRunOutcome:
    """The batch's verdict: a refusal (reason and text) or none, and the risk figures."""

    reject_reason: str | None
    comment: str | None
    details: RiskDetails | None = None


def judge_batch(
    store: Store, account_id: int, orders: list[DryRunOrder], limits: OrderLimits, extra: ExtraRisk, day: date
) -> DryRunOutcome:
    """Inside a read: each order through the gate (the batch's earlier orders counted as working
    orders of the account), then the extra totals; the risk figures either way. Read-only."""
    pending: dict[int, list[int]] = {}  # contract id -> [buy qty, sell qty] of the batch so far
    refusal: tuple[str, str] | None = None
    for order in orders:
        bucket = pending.setdefault(order.contract.id, [0, 0])
        intent = OrderIntent(order.side, order.qty, False, limits.max_position)
        decision, _ = gate_decision(
            store, account_id, order.contract, intent, pending=(bucket[0], bucket[1]), day=day
        )
        if not isinstance(decision, Allowed):
            refusal = (decision.failure_reason, decision.failure_text)
            break
        if order.order_type is OrderType.MARKET and store.last_price(order.contract) is None:
            refusal = (NO_QUOTE, TEXT_NO_QUOTE)
            break
        bucket[0 if order.side is Side.BUY else 1] += order.qty
    nets = {c.id: store.position(account_id, c).net_pos for c in {o.contract for o in orders}}
    if refusal is None:
        refusal = _extra_refusal(orders, nets, extra)
    first = orders[0].contract
    before = nets[first.id]
    buys = sum(o.qty for o in orders if o.contract.id == first.id and o.side is Side.BUY)
    sells = sum(o.qty for o in orders if o.contract.id == first.id and o.side is Side.SELL)
    snapshot = cash_snapshot_of(store, account_id, day)
    details = RiskDetails(
        before_net_pos=before,
        hypo_long_pos=before + buys,
        hypo_short_pos=before - sells,
        is_exit_order=all(_exits(o, nets[o.contract.id]) for o in orders),
        total_cash=snapshot.total_cash_value,
        futures_open_pnl=snapshot.open_pnl,
        net_liq=snapshot.net_liq,
    )
    if refusal is None:
        return DryRunOutcome(None, None, details)
    return DryRunOutcome(refusal[0], refusal[1], details)


def _exits(order: DryRunOrder, net_pos: int) -> bool:
    """Whether the order only reduces the position it finds (never past flat)."""
    return 0 < order.qty <= reducible_qty(order.side, GatePosition(AdminAction.NORMAL, net_pos))


def _extra_refusal(
    orders: list[DryRunOrder], nets: dict[int, int], extra: ExtraRisk
) -> tuple[str, str] | None:
    volume = sum(o.qty for o in orders)
    if extra.max_traded_volume_total is not None and volume > extra.max_traded_volume_total:
        return (
            MAX_ORDER_QTY_LIMIT_REACHED,
            f"The orders trade {volume} contracts; extraPreTradeRisk.maxTradedVolumeTotal is "
            f"{extra.max_traded_volume_total}",
        )
    if extra.max_exposed_total is None:
        return None
    exposed = 0
    for contract_id, net in nets.items():
        buys = sum(o.qty for o in orders if o.contract.id == contract_id and o.side is Side.BUY)
        sells = sum(o.qty for o in orders if o.contract.id == contract_id and o.side is Side.SELL)
        exposed += max(abs(net + buys), abs(net - sells))
    if exposed > extra.max_exposed_total:
        return (
            MAX_TOTAL_POS_LIMIT_REACHED,
            f"The orders could hold {exposed} contracts; extraPreTradeRisk.maxExposedTotal is "
            f"{extra.max_exposed_total}",
        )
    return None


class DryRunService:
    """`order/dryrun` for every authenticated user, over the accounts the caller may trade."""

    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        market: MarketData,
        accounts: AccountDirectory,
        trading: TradingService,
        limits: OrderLimits | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._market = market
        self._accounts = accounts
        self._trading = trading
        self._limits = limits or OrderLimits()

    async def dry_run(
        self, caller: User, account_id: int, orders: Sequence[ProposedOrder], extra: ExtraRisk
    ) -> DryRunOutcome:
        """Judge `orders` (1 to 4) for the account: NotFound for an unknown
        account or another organization's (organizations see nothing of each other, as the reads),
        Unauthorized for one of the caller's organization it may not trade; refusals are values."""
        account = await self._accounts.get(account_id) if account_id > 0 else None
        if account is None or account.organization_id != caller.organization_id:
            raise NotFound()
        if not may_trade(
            caller.is_admin, caller.id, caller.organization_id, account.user_id, account.organization_id
        ):
            raise Unauthorized()
        judged: list[DryRunOrder] = []
        for proposed in orders:
            checked = self._order(proposed)
            if isinstance(checked, OrderOutcome):
                return DryRunOutcome(checked.failure_reason, checked.failure_text)
            judged.append(checked)
        day = trade_date(self._clock.now())
        limits = self._limits
        return await self._uow.read(lambda store: judge_batch(store, account.id, judged, limits, extra, day))

    def _order(self, proposed: ProposedOrder) -> DryRunOrder | OrderOutcome:
        """One order validated as placeorder validates it (the same failure reasons and texts)."""
        try:
            contract = self._market.contract(proposed.contract_id)
        except NotFound:
            return OrderOutcome(None, INVALID_CONTRACT, f"Unknown contract id {proposed.contract_id}")
        if proposed.action not in ("Buy", "Sell"):
            return OrderOutcome(None, UNKNOWN_REASON, "Action should be Buy or Sell")
        failure = _quantity_failure(proposed.order_qty, self._limits)  # placeorder's own checks
        if failure is not None:
            return failure
        terms = self._trading.terms(proposed.order_type, proposed.price, proposed.stop_price, contract)
        if isinstance(terms, OrderOutcome):
            return terms
        return DryRunOrder(contract, Side(proposed.action), proposed.order_qty, terms[0])
