"""Order execution's rules, over the in-memory fakes (no database, no HTTP): the gate per admin
state, market orders filling at the last price, resting limit orders filling when the price crosses,
modify and cancel of working orders (an OCO sibling with them), closing a position, and the
requests refused before the gate (an unknown contract, no quote, the position cap).

Driven through `TradingService` (validation, the read-only refusal on a snapshot, then the write),
and for a price change through `risk_engine.fill_resting_orders`, as the market-data loop calls it.
The accounts have no post-trade settings, so the evaluation after a fill returns at once; the
post-trade rules themselves need the SQL store's `liquidation_state` (not faked)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar, cast

import pytest

from autoliq.domain.accounting import Lot, PositionState
from autoliq.domain.events import TradingEntityChanged
from autoliq.domain.gate import (
    LIQUIDATION_ONLY,
    TEXT_ACCESS_DENIED,
    TEXT_LIQUIDATION_ONLY,
    TEXT_LOCKED,
    TRADING_LOCKED,
    UNKNOWN_REASON,
)
from autoliq.domain.instruments import PRODUCTS_BY_NAME, ContractSpec
from autoliq.domain.limits import MAX_POS_LIMIT_REACHED, OrderLimits, text_max_position
from autoliq.domain.model import RiskStatus
from autoliq.domain.orders import OrdStatus
from autoliq.domain.states import AdminAction
from autoliq.service import risk_engine
from autoliq.service.accounts import AccountDirectory
from autoliq.service.clock import ManualClock
from autoliq.service.execution import NO_QUOTE, TEXT_NO_QUOTE, OrderOutcome
from autoliq.service.market import MarketData
from autoliq.service.orders import INVALID_CONTRACT, ModifyOrder, PlaceOrder, TradingService
from autoliq.service.ports import Store, UnitOfWork
from tests.conftest import ADMIN_PW, OTHER_ADMIN_PW, TRADER_PW
from tests.fakes import FakeStore, FakeWorld, fake_world

T = TypeVar("T")
T0 = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # a Tuesday, in the session
ES = ContractSpec(PRODUCTS_BY_NAME["ES"], 2026, 12)  # ESZ6, listed on T0
D = Decimal


def run(awaitable: Awaitable[T]) -> T:
    return asyncio.run(awaitable)  # type: ignore[arg-type]


class Env:
    """A TradingService over a seeded fake world; the trader trades the first demo account."""

    def __init__(self, limits: OrderLimits | None = None) -> None:
        self.world: FakeWorld = fake_world(ADMIN_PW, TRADER_PW, OTHER_ADMIN_PW)
        self.clock = ManualClock(T0)
        uow = cast(UnitOfWork, self.world.uow)
        self.service = TradingService(
            uow, self.clock, MarketData(uow, self.clock), AccountDirectory(uow), limits
        )
        self.account = self.world.demo_account_ids[0]

    @property
    def uow(self) -> Any:
        return self.world.uow

    # -- arrange --
    def set_price(self, price: str) -> int:
        """A new last price of ESZ6; the resting orders it reaches fill (how many)."""
        last = D(price)

        def work(store: FakeStore) -> int:
            store.set_contract_price(ES.id, int(last / ES.product.tick_size), self.clock.now())
            return risk_engine.fill_resting_orders(cast(Store, store), ES, last, self.clock.now())

        return run(self.uow.write(work))

    def set_admin_action(self, action: AdminAction) -> None:
        status = RiskStatus(id=self.account).with_admin_action(action, self.clock.now())
        run(self.uow.write(lambda s: s.save_risk_status(status)))

    def hold(self, qty: int, price: str) -> None:
        """A long (qty > 0) or short position bought at `price` by a market order, in Normal."""
        self.set_price(price)
        side = "Buy" if qty > 0 else "Sell"
        assert self.place(side, abs(qty)).order_id is not None

    def oco_exits(self) -> tuple[int, int]:
        """A long lot bought at 6000 with two exits linked OCO: a 6020 limit and a 5980 stop (ids)."""
        self.hold(1, "6000")
        target = self.place("Sell", 1, "Limit", price=6020.0)
        protect = self.place("Sell", 1, "Stop", stop=5980.0)
        assert target.order_id is not None and protect.order_id is not None
        ids = (target.order_id, protect.order_id)
        run(self.uow.write(lambda s: s.link_oco(*ids)))
        return ids

    # -- act --
    def place(self, action: str, qty: int, order_type: str = "Market", *, symbol: str = "ESZ6",
              price: float | None = None, stop: float | None = None, tif: str | None = None,
              ) -> OrderOutcome:  # fmt: skip
        command = PlaceOrder(
            self.account, symbol, action, qty, order_type, price=price, stop_price=stop, time_in_force=tif
        )
        return run(self.service.place_order(self.world.trader, command))

    def modify(self, order_id: int, qty: int, order_type: str, price: float | None = None) -> OrderOutcome:
        command = ModifyOrder(order_id, qty, order_type, price=price)
        return run(self.service.modify_order(self.world.trader, command))

    def cancel(self, order_id: int | None) -> OrderOutcome:
        return run(self.service.cancel_order(self.world.trader, order_id))

    # -- assert --
    def position(self) -> PositionState:
        return cast(PositionState, run(self.uow.read(lambda s: s.position(self.account, ES))))

    def order(self, order_id: int) -> Any:
        found = run(self.uow.read(lambda s: s.order(order_id, ES)))
        assert found is not None
        return found

    def fills(self) -> list[tuple[int, str, int, int]]:
        rows = run(self.uow.read(lambda s: s.trading_rows("fill", self.world.demo_org)))
        return [(r.order_id, r.action, r.qty, r.price_ticks) for r in rows]

    def trading_snapshot(self) -> tuple[Any, ...]:
        s = self.uow.state
        return (dict(s.orders), dict(s.fills), dict(s.positions), dict(s.cash), list(self.uow.published))


@pytest.fixture
def env() -> Env:
    return Env()


OPENING = [
    (AdminAction.NORMAL, None),
    (AdminAction.LOCK_TRADING_IMMEDIATELY, (TRADING_LOCKED, TEXT_LOCKED)),
    (AdminAction.LIQUIDATE_IMMEDIATELY, (TRADING_LOCKED, TEXT_LOCKED)),
    (AdminAction.LIQUIDATE_ONLY_MODE_IMMEDIATELY, (LIQUIDATION_ONLY, TEXT_LIQUIDATION_ONLY)),
    (AdminAction.PLACE_AUTO_LIQ_ON_HOLD, None),
    (AdminAction.DISABLE_AUTO_LIQ, None),
    (AdminAction.AGREED_ON_LIQ_ONLY_MODE_BY_AUTO_LIQ, None),
    (AdminAction.AGREED_ON_LIQUIDATION_BY_AUTO_LIQ, None),
]


@pytest.mark.parametrize(("action", "refusal"), OPENING, ids=[a.value for a, _ in OPENING])
def test_place_when_opening_order_in_admin_state_then_refused_as_the_state_says_else_filled(
    env: Env, action: AdminAction, refusal: tuple[str, str] | None
) -> None:
    # Arrange: a flat account, a last price, the admin action.
    env.set_price("6000")
    env.set_admin_action(action)
    before, writes = env.trading_snapshot(), env.uow.writes
    # Act: a buy opens a position.
    outcome = env.place("Buy", 1)
    # Assert
    if refusal is None:
        assert outcome.order_id is not None and outcome.failure_reason is None
        assert env.position().net_pos == 1
    else:
        assert (outcome.order_id, outcome.failure_reason, outcome.failure_text) == (None, *refusal)
        assert env.trading_snapshot() == before  # a refusal changes nothing
        assert env.uow.writes == writes  # refused on the snapshot, without a write


REDUCING = [
    (AdminAction.NORMAL, None),
    (AdminAction.LOCK_TRADING_IMMEDIATELY, (TRADING_LOCKED, TEXT_LOCKED)),
    (AdminAction.LIQUIDATE_IMMEDIATELY, (TRADING_LOCKED, TEXT_LOCKED)),
    (AdminAction.LIQUIDATE_ONLY_MODE_IMMEDIATELY, None),
]


@pytest.mark.parametrize(("action", "refusal"), REDUCING, ids=[a.value for a, _ in REDUCING])
def test_place_when_reducing_order_in_admin_state_then_only_a_lock_refuses_it(
    env: Env, action: AdminAction, refusal: tuple[str, str] | None
) -> None:
    env.hold(2, "6000")
    env.set_admin_action(action)
    outcome = env.place("Sell", 1)
    if refusal is None:
        assert outcome.order_id is not None and outcome.failure_reason is None
        assert env.position().lots == (Lot(1, D("6000")),)
    else:
        assert (outcome.order_id, outcome.failure_reason, outcome.failure_text) == (None, *refusal)
        assert env.position().lots == (Lot(2, D("6000")),)


@pytest.mark.parametrize(("action", "qty"), [("Sell", 3), ("Buy", 1)], ids=["flips", "adds"])
def test_place_when_liquidate_only_and_order_flips_or_adds_then_refused_liquidation_only(
    env: Env, action: str, qty: int
) -> None:
    env.hold(2, "6000")
    env.set_admin_action(AdminAction.LIQUIDATE_ONLY_MODE_IMMEDIATELY)
    outcome = env.place(action, qty)
    assert (outcome.failure_reason, outcome.failure_text) == (LIQUIDATION_ONLY, TEXT_LIQUIDATION_ONLY)
    assert env.position().net_pos == 2


def test_market_order_when_last_price_known_then_fills_there_and_a_closing_fill_books_realized_cash(
    env: Env,
) -> None:
    # Arrange
    env.set_price("6000")
    # Act: open long 2 at 6000, then close at 6002.50.
    opened = env.place("Buy", 2)
    env.set_price("6002.50")
    published = len(env.uow.published)
    closed = env.place("Sell", 2)
    # Assert
    assert opened.order_id is not None and closed.order_id is not None
    bought, sold = env.order(opened.order_id), env.order(closed.order_id)
    assert (bought.status, bought.fill_price, sold.status, sold.fill_price) == (
        OrdStatus.FILLED, D("6000"), OrdStatus.FILLED, D("6002.50"),
    )  # fmt: skip
    assert env.fills() == [(opened.order_id, "Buy", 2, 24000), (closed.order_id, "Sell", 2, 24010)]
    position = env.position()
    assert (position.net_pos, position.bought, position.sold) == (0, 2, 2)
    assert position.realized_points == D("5.00")  # 2.50 points x 2 contracts
    cash = run(env.service.cash_snapshot(env.world.trader, env.account))
    # 5.00 points x $50 a point (ES) = $250 realized, on the $50,000 a demo account opens with.
    assert (cash.realized_pnl, cash.total_cash_value, cash.open_pnl) == (D(250), D(50250), D(0))
    fill_id = run(env.uow.read(lambda s: s.trading_rows("fill", env.world.demo_org)))[-1].id
    a = env.account
    assert env.uow.published[published:] == [
        TradingEntityChanged("order", "Created", a, closed.order_id),
        TradingEntityChanged("fill", "Created", a, fill_id),
        TradingEntityChanged("position", "Updated", a, ES.id),
        TradingEntityChanged("cashBalance", "Updated", a, a),
    ]


def test_market_order_when_no_last_price_then_refused_no_quote_and_nothing_stored(env: Env) -> None:
    outcome = env.place("Buy", 1)
    assert (outcome.order_id, outcome.failure_reason, outcome.failure_text) == (None, NO_QUOTE, TEXT_NO_QUOTE)
    assert env.uow.state.orders == {} and env.uow.writes == 0


@pytest.mark.parametrize("symbol", ["XXZ6", "ESU6"], ids=["no-such-product", "expired"])
def test_place_when_contract_not_listed_then_refused_invalid_contract_before_the_gate(
    env: Env, symbol: str
) -> None:
    env.set_price("6000")
    outcome = env.place("Buy", 1, symbol=symbol)
    assert (outcome.failure_reason, outcome.failure_text) == (
        INVALID_CONTRACT, f"Unknown contract symbol {symbol!r}",
    )  # fmt: skip
    assert env.uow.state.orders == {}


def test_place_when_order_would_pass_position_cap_then_refused_max_position() -> None:
    env = Env(OrderLimits(max_position=2))
    env.hold(1, "6000")
    refused = env.place("Buy", 2)
    assert (refused.failure_reason, refused.failure_text) == (MAX_POS_LIMIT_REACHED, text_max_position(2))
    assert env.place("Buy", 1).order_id is not None  # up to the cap
    assert env.position().net_pos == 2


def test_limit_order_when_not_marketable_then_rests_and_fills_at_the_last_price_once_crossed(
    env: Env,
) -> None:
    env.set_price("6000")
    placed = env.place("Buy", 1, "Limit", price=5990.0)
    assert placed.order_id is not None
    assert env.order(placed.order_id).status is OrdStatus.WORKING and env.position().net_pos == 0
    # A price above the limit does not reach it.
    assert env.set_price("5990.25") == 0
    assert env.order(placed.order_id).status is OrdStatus.WORKING
    # A price at or below it fills the whole order there.
    assert env.set_price("5989.75") == 1
    filled = env.order(placed.order_id)
    assert (filled.status, filled.fill_price) == (OrdStatus.FILLED, D("5989.75"))
    assert env.position().lots == (Lot(1, D("5989.75")),)
    assert env.fills() == [(placed.order_id, "Buy", 1, 23959)]


def test_resting_order_when_account_locked_and_price_crosses_then_stays_working(env: Env) -> None:
    env.set_price("6000")
    placed = env.place("Buy", 1, "Limit", price=5990.0)
    assert placed.order_id is not None
    env.set_admin_action(AdminAction.LOCK_TRADING_IMMEDIATELY)
    assert env.set_price("5985") == 0
    assert env.order(placed.order_id).status is OrdStatus.WORKING
    assert env.position() == PositionState() and env.fills() == []


def test_limit_ioc_when_not_marketable_then_stored_cancelled(env: Env) -> None:
    env.set_price("6000")
    placed = env.place("Buy", 1, "Limit", price=5990.0, tif="IOC")
    assert placed.order_id is not None
    assert env.order(placed.order_id).status is OrdStatus.CANCELED
    assert env.set_price("5980") == 0 and env.position().net_pos == 0


def test_cancel_when_working_then_cancelled_once_and_unknown_order_denied(env: Env) -> None:
    env.set_price("6000")
    placed = env.place("Sell", 1, "Limit", price=6010.0)
    assert placed.order_id is not None
    assert env.cancel(placed.order_id) == OrderOutcome(placed.order_id)
    assert env.order(placed.order_id).status is OrdStatus.CANCELED
    again = env.cancel(placed.order_id)
    assert (again.failure_reason, again.failure_text) == (UNKNOWN_REASON, "Order is not working")
    unknown = env.cancel(987654321)
    assert (unknown.failure_reason, unknown.failure_text) == (UNKNOWN_REASON, TEXT_ACCESS_DENIED)
    assert env.set_price("6020") == 0 and env.position().net_pos == 0  # a cancelled order never fills


def test_cancel_when_account_locked_then_still_allowed(env: Env) -> None:
    env.set_price("6000")
    placed = env.place("Buy", 1, "Limit", price=5990.0)
    assert placed.order_id is not None
    env.set_admin_action(AdminAction.LOCK_TRADING_IMMEDIATELY)
    assert env.cancel(placed.order_id) == OrderOutcome(placed.order_id)
    assert env.order(placed.order_id).status is OrdStatus.CANCELED


def test_cancel_when_order_has_oco_sibling_then_the_sibling_is_cancelled_too(env: Env) -> None:
    target, protect = env.oco_exits()
    assert env.cancel(target) == OrderOutcome(target)
    assert env.order(target).status is OrdStatus.CANCELED
    assert env.order(protect).status is OrdStatus.CANCELED
    assert env.set_price("5975") == 0 and env.position().net_pos == 1


def test_fill_when_order_has_oco_sibling_then_the_sibling_is_cancelled(env: Env) -> None:
    target, protect = env.oco_exits()
    assert env.set_price("6020") == 1
    assert env.order(target).status is OrdStatus.FILLED
    assert env.order(protect).status is OrdStatus.CANCELED
    assert env.set_price("5975") == 0 and env.position().net_pos == 0


def test_modify_when_working_then_new_terms_and_fills_once_marketable(env: Env) -> None:
    env.set_price("6000")
    placed = env.place("Buy", 1, "Limit", price=5990.0)
    assert placed.order_id is not None
    assert env.modify(placed.order_id, 3, "Limit", 5995.0) == OrderOutcome(placed.order_id)
    changed = env.order(placed.order_id)
    assert (changed.status, changed.qty, changed.limit_price) == (OrdStatus.WORKING, 3, D("5995"))
    assert env.position().net_pos == 0
    # New terms at or above the last price: filled at once, at the last price.
    assert env.modify(placed.order_id, 3, "Limit", 6001.0) == OrderOutcome(placed.order_id)
    filled = env.order(placed.order_id)
    assert (filled.status, filled.qty, filled.fill_price) == (OrdStatus.FILLED, 3, D("6000"))
    assert env.position().lots == (Lot(3, D("6000")),)
    again = env.modify(placed.order_id, 1, "Limit", 5990.0)
    assert (again.failure_reason, again.failure_text) == (UNKNOWN_REASON, "Order is not working")


def test_modify_when_account_locked_then_refused_and_terms_kept(env: Env) -> None:
    env.set_price("6000")
    placed = env.place("Buy", 1, "Limit", price=5990.0)
    assert placed.order_id is not None
    env.set_admin_action(AdminAction.LOCK_TRADING_IMMEDIATELY)
    refused = env.modify(placed.order_id, 2, "Limit", 6001.0)
    assert (refused.failure_reason, refused.failure_text) == (TRADING_LOCKED, TEXT_LOCKED)
    kept = env.order(placed.order_id)
    assert (kept.status, kept.qty, kept.limit_price) == (OrdStatus.WORKING, 1, D("5990"))


def test_liquidate_position_when_locked_then_working_orders_cancelled_and_closed_at_the_last_price(
    env: Env,
) -> None:
    env.hold(-2, "6000")
    resting = env.place("Sell", 1, "Limit", price=6050.0)
    assert resting.order_id is not None
    env.set_admin_action(AdminAction.LOCK_TRADING_IMMEDIATELY)
    env.clock.advance(60)
    env.set_price("5998")
    outcome = run(env.service.liquidate_position(env.world.admin, env.account, ES.id, True))
    assert outcome.order_id is not None
    closing = env.order(outcome.order_id)
    assert (closing.side.value, closing.qty, closing.admin, closing.fill_price) == ("Buy", 2, True, D("5998"))
    assert env.order(resting.order_id).status is OrdStatus.CANCELED
    assert env.position().net_pos == 0
    assert env.position().realized_points == D("4")  # 2 points x 2 contracts, short from 6000
