"""The storage bound: with the order limits and the price bound, every integer the order path stores
(cents, ticks, contracts) stays within `limits.storage_bound`, itself below 2**63 by
`STORAGE_MARGIN`, so a fill, and therefore a liquidation, can always be written.

The arithmetic is checked exactly (`storage_bound` at the ceiling limits, and the worst case built
by hand); Hypothesis then runs the real order path (`service.execution.place`: the gate,
fills, cash) and the production liquidation (`service.risk_engine.liquidate_account`, through the
set-based liquidation port) over a store that records what it would write, from states just below
the bound.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, cast

from hypothesis import given, settings
from hypothesis import strategies as st

from autoliq.domain.accounting import Lot, PositionState
from autoliq.domain.auto_liq import LayerState
from autoliq.domain.gate import (
    AccountPosition,
    Allowed,
    OrderIntent,
    TradingState,
    check_order,
    needs_position,
)
from autoliq.domain.instruments import PRODUCTS, ContractSpec, contract_of_id, listed_contracts
from autoliq.domain.limits import (
    CEILING_LIMITS,
    DEMO_CHANGE_MAX_CENTS,
    INT64_MAX,
    LIMIT_CEILING,
    LISTED_PER_PRODUCT,
    OPEN_BOUND,
    STORAGE_MARGIN,
    OrderLimits,
    storage_bound,
    tick_value_cents,
)
from autoliq.domain.money import CashState
from autoliq.domain.orders import OrderType, TimeInForce
from autoliq.domain.states import AdminAction, Side
from autoliq.service.execution import NewOrder, place
from autoliq.service.market import LISTED_AHEAD
from autoliq.service.ports import Store
from autoliq.service.ports.liquidation import Closing, HeldPosition, LiquidationState
from autoliq.service.risk_engine import liquidate_account

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
ACCOUNT = 1


# -- the arithmetic --


def test_storage_bound_when_limits_at_their_ceiling_then_below_int64_by_the_margin() -> None:
    # Written out: the largest tick value is ES's $12.50 (1,250 cents), every price below 10^7 ticks.
    assert max(tick_value_cents(p) for p in PRODUCTS) == 1250
    assert {p.max_price_ticks for p in PRODUCTS} == {10**7}
    per_fill = 2 * LIMIT_CEILING * 10**7 * 1250
    close_out = sum(LISTED_PER_PRODUCT * LIMIT_CEILING * 10**7 * tick_value_cents(p) for p in PRODUCTS)
    expected = OPEN_BOUND + DEMO_CHANGE_MAX_CENTS + per_fill + close_out
    assert storage_bound(CEILING_LIMITS) == expected
    assert expected <= INT64_MAX - STORAGE_MARGIN  # 4.85e18 of 9.22e18: over 40% of the range spare
    # The doubles stored (maxNetLiq, minNetLiq, the auto-liq amounts) hold net liq at this bound
    # plus open P&L on every contract month of a century, in cents: below 1e21, a double's range is 1e308.
    open_pnl = 12 * 12 * 100 * LIMIT_CEILING * 10**7 * 1250
    assert math.isfinite(float(expected + open_pnl)) and expected + open_pnl < 10**21
    assert storage_bound(OrderLimits()) < storage_bound(CEILING_LIMITS)
    assert LISTED_AHEAD == LISTED_PER_PRODUCT


@given(
    side=st.sampled_from(list(Side)),
    qty=st.integers(1, 10**7),
    net=st.integers(-(10**6), 10**6),
    working_buy=st.integers(0, 10**6),
    working_sell=st.integers(0, 10**6),
    cap=st.integers(1, LIMIT_CEILING),
)
def test_gate_when_capped_then_accepted_orders_keep_exposure_within_the_cap_and_reducing_ones_pass(
    side: Side, qty: int, net: int, working_buy: int, working_sell: int, cap: int
) -> None:
    account = AccountPosition(AdminAction.NORMAL, net, working_buy, working_sell)
    decision = check_order(OrderIntent(side, qty, max_position=cap), account)
    same_side = working_buy if side is Side.BUY else working_sell
    everything_filled = net + side.sign * (same_side + qty)  # the position if its side all filled
    reduces = (side is Side.SELL and qty + working_sell <= net) or (
        side is Side.BUY and qty + working_buy <= -net
    )
    within = side.sign * everything_filled <= cap
    assert isinstance(decision, Allowed) == (reduces or within)


# -- the order path over a recording store --


def _past_the_bound(position: PositionState, tick: Decimal, cash: CashState) -> bool:
    """The reference: a stored cash figure or a running total of the position at `OPEN_BOUND`."""
    figures = [
        cash.amount,
        cash.realized,
        cash.week_realized,
        cash.amount_sod,
        position.bought,
        position.sold,
    ]
    figures += [int(position.bought_value / tick), int(position.sold_value / tick)]
    figures.append(int(position.realized_points / tick))
    return max(abs(f) for f in figures) >= OPEN_BOUND


@dataclass
class RecordingStore:
    """The part of the Store port the order path and the liquidation use, holding what the SQL
    adapter would store: every integer it would write is checked against `bound` as it is written."""

    bound: int
    cash_state: CashState
    positions: dict[int, PositionState] = field(default_factory=dict)
    prices: dict[int, Decimal] = field(default_factory=dict)
    largest: int = 0
    next_id: int = 1
    fills_past_the_bound: int = 0
    """Fills booked while the account was already at `OPEN_BOUND` (each must reduce)."""

    def _stored(self, *values: int) -> None:
        for value in values:
            self.largest = max(self.largest, abs(value))
            assert abs(value) <= self.bound <= INT64_MAX, value

    def _new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def trading_state(self, account_id: int) -> TradingState:
        return TradingState()

    def working_orders(self, contract: ContractSpec, account_id: int | None = None) -> list[Any]:
        return []  # market orders only: each fills or is refused at once

    def live_orders_of_account(
        self, account_id: int, contract_id: int | None = None
    ) -> list[tuple[int, int]]:
        return []

    def running_strategies(self, account_id: int) -> list[int]:
        return []  # no order strategies here

    def last_price(self, contract: ContractSpec) -> Decimal | None:
        return self.prices.get(contract.id)

    def position(self, account_id: int, contract: ContractSpec) -> PositionState:
        return self.positions.get(contract.id, PositionState())

    def cash(self, account_id: int, day: date) -> CashState:
        return self.cash_state

    def open_positions(self, account_id: int) -> list[tuple[int, str]]:
        return [(cid, "") for cid, p in self.positions.items() if p.net_pos]

    def insert_order(
        self, account_id: int, contract: ContractSpec, side: Side, order_type: OrderType, qty: int,
        *args: Any, fill_price: Decimal | None = None, **kwargs: Any,
    ) -> int:  # fmt: skip
        tick = contract.product.tick_size
        self._stored(qty, *([int(fill_price / tick)] if fill_price is not None else []))
        return self._new_id()

    def insert_fill(self, order_id: int, account_id: int, contract: ContractSpec, side: Side, qty: int,
                    price: Decimal, now: datetime, day: date) -> int:  # fmt: skip
        self._stored(qty, int(price / contract.product.tick_size))
        return self._new_id()

    def save_position(
        self, account_id: int, contract: ContractSpec, state: PositionState, now: datetime, day: date
    ) -> None:
        tick = contract.product.tick_size
        before = self.positions.get(contract.id, PositionState())
        if _past_the_bound(before, tick, self.cash_state):
            # The proof's inductive step: past the bound, a fill only reduces (never flips sides).
            self.fills_past_the_bound += 1
            assert abs(state.net_pos) < abs(before.net_pos) and state.net_pos * before.net_pos >= 0
        for lot in state.lots:
            self._stored(lot.qty, int(lot.price / tick))
        self._stored(state.bought, state.sold)
        self._stored(int(state.bought_value / tick), int(state.sold_value / tick))
        self._stored(int(state.realized_points / tick))
        self.positions[contract.id] = state

    def add_realized(self, account_id: int, cents: int, now: datetime, day: date) -> None:
        c = self.cash_state
        new = CashState(
            c.amount + cents, c.realized + cents, c.week_realized + cents, c.amount_sod, c.trade_date
        )
        self._stored(new.amount, new.realized, new.week_realized, new.amount_sod)
        self.cash_state = new

    def has_auto_liq_settings(self, account_id: int) -> bool:
        return False

    # -- the liquidation's set-based port (what `risk_engine.liquidate_account` reads and writes) --

    def liquidation_state(self, account_id: int, day: date, *, live_work: bool = True) -> LiquidationState:
        held = []
        for contract_id, position in sorted(self.positions.items()):  # oldest contract id first
            contract = contract_of_id(contract_id)
            if contract is not None and position.net_pos:
                held.append(HeldPosition(contract, position, self.prices.get(contract_id)))
        # No post-trade settings (so no evaluation after), no strategies, no live orders.
        return LiquidationState(tuple(held), self.cash_state, False, strategies=False, orders=False)

    def end_live_work(
        self, account_id: int, now: datetime, message: str, *, strategies: bool = True, orders: bool = True
    ) -> tuple[list[int], list[int]]:
        return [], []

    def book_closings(
        self, account_id: int, closings: Sequence[Closing], cash: CashState | None, now: datetime, day: date
    ) -> list[tuple[int, int | None]]:
        booked: list[tuple[int, int | None]] = []
        for c in closings:
            tick = c.contract.product.tick_size
            self._stored(c.qty, *([int(c.price / tick)] if c.price is not None else []))
            order_id = self._new_id()
            if c.price is None or c.position is None:
                booked.append((order_id, None))
                continue
            fill_id = self.insert_fill(order_id, account_id, c.contract, c.side, c.qty, c.price, now, day)
            self.save_position(account_id, c.contract, c.position, now, day)
            booked.append((order_id, fill_id))
        if cash is not None:
            self._stored(cash.amount, cash.realized, cash.week_realized, cash.amount_sod)
            self.cash_state = cash
        return booked

    def emit(self, event: object) -> None:
        pass

    def store(self) -> Store:
        return cast(Store, self)


CONTRACTS = [c for p in PRODUCTS for c in listed_contracts(p, NOW.date(), LISTED_PER_PRODUCT)]
BY_ID = {c.id: c for c in CONTRACTS}


def test_worst_case_when_every_tradable_contract_held_at_the_cap_then_liquidation_is_written() -> None:
    """The case `storage_bound` is built from, by hand: cash just under the bound, every contract
    that trades held long at the ceiling cap from the lowest price, marked at the highest."""
    limits = CEILING_LIMITS
    store = RecordingStore(
        storage_bound(limits), CashState(OPEN_BOUND - 1, OPEN_BOUND - 1, OPEN_BOUND - 1, 0)
    )
    for c in CONTRACTS:
        tick = c.product.tick_size
        store.positions[c.id] = PositionState(
            (Lot(LIMIT_CEILING, tick),), LIMIT_CEILING, LIMIT_CEILING * tick
        )
        store.prices[c.id] = (c.product.max_price_ticks - 1) * tick
    liquidate_account(store.store(), ACCOUNT, BY_ID, NOW)
    assert all(p.net_pos == 0 for p in store.positions.values())
    assert OPEN_BOUND < store.cash_state.amount <= storage_bound(limits)


price_ticks = st.integers(1, 10**7 - 1)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("price"), st.sampled_from(CONTRACTS[:8]), price_ticks),
        st.tuples(
            st.just("order"),
            st.sampled_from(CONTRACTS[:8]),
            st.sampled_from(list(Side)),
            st.integers(1, 10**6),
        ),
    ),
    max_size=30,
)
# Offsets from the bound: below it, or past it by less than one fill (where the fill that crossed
# it left the account), on either side of zero; and ordinary small figures.
offsets = st.one_of(st.integers(-(10**16), -1), st.integers(0, 10**10), st.none())


def _near_bound(offset: int | None, sign: int, small: int) -> int:
    return small if offset is None else sign * (OPEN_BOUND + offset)


@settings(max_examples=400, deadline=None)
@given(
    max_order_qty=st.integers(1, 3000),
    max_position=st.integers(1, 3000),
    cash_at=st.tuples(offsets, st.sampled_from([1, -1]), st.integers(-(10**12), 10**12)),
    realized_at=st.tuples(offsets, st.sampled_from([1, -1]), st.integers(-(10**12), 10**12)),
    bought_at=offsets,
    held=st.lists(st.integers(-3000, 3000), max_size=7),
    script=steps,
)
def test_order_path_when_any_orders_and_prices_near_the_bound_then_every_stored_figure_fits(
    max_order_qty: int,
    max_position: int,
    cash_at: tuple[int | None, int, int],
    realized_at: tuple[int | None, int, int],
    bought_at: int | None,
    held: list[int],
    script: list[Any],
) -> None:
    limits = OrderLimits(max_order_qty, max_position)
    amount, realized = _near_bound(*cash_at), _near_bound(*realized_at)
    store = RecordingStore(storage_bound(limits), CashState(amount, realized, realized, amount))
    first = CONTRACTS[0]
    # A flat position whose running totals are near the bound (many round trips before).
    bought_ticks = _near_bound(bought_at, 1, 0)
    store.positions[first.id] = PositionState((), 1, bought_ticks * first.product.tick_size)
    # Some contracts held already (opened before the account came near the bound), within the cap.
    for contract, wanted in zip(CONTRACTS[1:8], held, strict=False):
        net = max(-max_position, min(max_position, wanted))
        if net:
            tick = contract.product.tick_size
            lot = Lot(net, tick * 4000)
            store.positions[contract.id] = PositionState((lot,), max(net, 0), sold=max(-net, 0))
            store.prices[contract.id] = tick * 4000
    for step in script:
        if step[0] == "price":
            _, contract, ticks = step
            store.prices[contract.id] = ticks * contract.product.tick_size
            continue
        _, contract, side, qty = step
        if contract.id not in store.prices or qty > limits.max_order_qty:
            continue  # the service refuses these before the order path (NoQuote, MaxOrderQtyLimitReached)
        order = NewOrder(
            ACCOUNT, contract, side, qty, OrderType.MARKET, TimeInForce.DAY, max_position=limits.max_position
        )
        place(store.store(), order, NOW)
        assert all(abs(p.net_pos) <= limits.max_position for p in store.positions.values())
    # A liquidation can always be written, whatever the script left.
    liquidate_account(store.store(), ACCOUNT, BY_ID, NOW)
    assert all(p.net_pos == 0 for c, p in store.positions.items() if c in store.prices)
    assert store.largest <= storage_bound(limits) <= INT64_MAX - STORAGE_MARGIN
    # The refusals are values: the script above ran without an exception whatever it asked.


@given(
    order=st.builds(
        OrderIntent,
        side=st.sampled_from(list(Side)),
        qty=st.integers(1, 80),
        admin_liquidation=st.booleans(),
        max_position=st.one_of(st.none(), st.integers(1, 60)),
    ),
    action=st.sampled_from(list(AdminAction)),
    layer=st.sampled_from([None, *LayerState]),
    halted=st.booleans(),
    one=st.tuples(st.integers(-50, 50), st.integers(0, 60), st.integers(0, 60), st.booleans()),
    other=st.tuples(st.integers(-50, 50), st.integers(0, 60), st.integers(0, 60), st.booleans()),
)
def test_gate_when_capped_and_position_not_needed_then_any_position_gives_the_same_decision(
    order: OrderIntent,
    action: AdminAction,
    layer: LayerState | None,
    halted: bool,
    one: tuple[int, int, int, bool],
    other: tuple[int, int, int, bool],
) -> None:
    """With the cap, `needs_position` still only lets the order path skip reading the position,
    the working orders and the cash where they cannot change the decision."""
    first = AccountPosition(action, *one[:3], auto_liq=layer, halted=halted, at_storage_bound=one[3])
    second = AccountPosition(action, *other[:3], auto_liq=layer, halted=halted, at_storage_bound=other[3])
    if not needs_position(order, first.state):
        assert check_order(order, first) == check_order(order, second)
