"""Orders and CME market hours (AUTOLIQ_MARKET_HOURS=cme, the default), both engines, in process
with a clock the test moves: placeorder and modifyorder are refused `SessionClosed` outside the
contract's session (the daily halt, the weekend, a holiday), a resting GTC order stays working
through a close, a price sent while the market is shut fills no order, and a liquidation is never
refused for the hours. `always` keeps a market that never shuts."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest

from autoliq.bootstrap import Services, bootstrap
from autoliq.domain.orders import OrdStatus
from autoliq.domain.states import AdminAction
from autoliq.service.clock import ManualClock
from autoliq.service.orders import SESSION_CLOSED, ModifyOrder, PlaceOrder
from tests.conftest import World, make_settings

T = TypeVar("T")
CT = ZoneInfo("America/Chicago")
TUESDAY_10 = datetime(2026, 12, 8, 10, 0, tzinfo=CT)  # in the session
TUESDAY_HALT = datetime(2026, 12, 8, 16, 30, tzinfo=CT)  # the daily halt, 16:00-17:00 CT
SUNDAY_0227 = datetime(2026, 12, 6, 2, 27, tzinfo=CT)  # the weekend
CHRISTMAS = datetime(2026, 12, 25, 10, 0, tzinfo=CT)  # a CME holiday


def _run(
    world: World, clock: ManualClock, body: Callable[[Services, Any], Awaitable[T]], **settings: Any
) -> T:
    services = bootstrap(make_settings(world.database_url, **settings), clock=clock, run_migrations=False)
    services.start()

    async def main() -> T:
        found = await services.uow.read(lambda s: s.user_by_name("admin"))
        assert found is not None
        return await body(services, found[0])

    try:
        return asyncio.run(main())
    finally:
        services.stop()


def _order(world: World, action: str = "Buy", order_type: str = "Market", **kwargs: Any) -> PlaceOrder:
    return PlaceOrder(
        world.demo_account_ids[0], kwargs.pop("symbol", "ESZ6"), action, 1, order_type, **kwargs
    )


async def _orders(services: Services, admin: Any, account_id: int) -> list[Any]:
    """The account's order rows (`trade_order`)."""
    return list(
        await services.uow.read(
            lambda s: s.trading_rows("order", admin.organization_id, account_ids=[account_id])
        )
    )


async def _status(services: Services, admin: Any, order_id: int) -> str:
    rows = await services.uow.read(lambda s: s.trading_rows("order", admin.organization_id, ids=[order_id]))
    assert len(rows) == 1
    return str(rows[0].status)


@pytest.mark.parametrize(
    ("moment", "reopens"),
    [
        (SUNDAY_0227, "2026-12-06T23:00:00Z"),
        (TUESDAY_HALT, "2026-12-08T23:00:00Z"),
    ],
)
def test_placeorder_when_the_market_is_shut_then_session_closed_and_nothing_written(
    world: World, clock: ManualClock, moment: datetime, reopens: str
) -> None:
    async def body(services: Services, admin: Any) -> tuple[Any, Any, list[Any]]:
        clock.set(TUESDAY_10.astimezone(UTC))
        await services.market.set_prices([("ESZ6", 5000)])
        clock.set(moment.astimezone(UTC))
        market = await services.trading.place_order(admin, _order(world))
        limit = await services.trading.place_order(admin, _order(world, order_type="Limit", price=4990.0))
        return market, limit, await _orders(services, admin, world.demo_account_ids[0])

    market, limit, orders = _run(world, clock, body)
    for outcome in (market, limit):
        assert outcome.order_id is None
        assert outcome.failure_reason == SESSION_CLOSED
        assert outcome.failure_text == f"The market for ESZ6 is closed; it reopens at {reopens}"
    assert orders == []


def test_placeorder_when_a_cme_holiday_then_session_closed_until_the_sunday_open(
    world: World, clock: ManualClock
) -> None:
    async def body(services: Services, admin: Any) -> Any:
        clock.set(CHRISTMAS.astimezone(UTC))
        return await services.trading.place_order(admin, _order(world, symbol="ESH7"))

    outcome = _run(world, clock, body)
    assert outcome.failure_reason == SESSION_CLOSED
    assert outcome.failure_text == "The market for ESH7 is closed; it reopens at 2026-12-27T23:00:00Z"


def test_placeorder_when_shut_and_the_account_locked_then_session_closed_first(
    world: World, clock: ManualClock
) -> None:
    # A documented decision (docs/api.md): the market is shut for every account alike, so its
    # refusal comes before the account's own state.
    async def body(services: Services, admin: Any) -> Any:
        clock.set(TUESDAY_10.astimezone(UTC))
        await services.risk.set_admin_auto_liq_action(
            admin, world.demo_account_ids[0], AdminAction.LOCK_TRADING_IMMEDIATELY, "Other", "test"
        )
        clock.set(SUNDAY_0227.astimezone(UTC))
        return await services.trading.place_order(admin, _order(world))

    assert _run(world, clock, body).failure_reason == SESSION_CLOSED


def test_resting_gtc_order_when_the_market_shuts_then_it_stays_working_and_shut_prices_do_not_fill_it(
    world: World, clock: ManualClock
) -> None:
    account = world.demo_account_ids[0]

    async def body(services: Services, admin: Any) -> tuple[Any, ...]:
        clock.set(TUESDAY_10.astimezone(UTC))
        await services.market.set_prices([("ESZ6", 5000)])
        placed = await services.trading.place_order(
            admin, _order(world, order_type="Limit", price=4990.0, time_in_force="GTC")
        )
        assert placed.order_id is not None
        clock.set(TUESDAY_HALT.astimezone(UTC))
        await services.market.set_prices([("ESZ6", 4980)])  # crosses the limit while shut
        in_halt = await _status(services, admin, placed.order_id)
        last = await services.market.last_prices()
        modified = await services.trading.modify_order(
            admin, ModifyOrder(placed.order_id, 2, "Limit", 4985.0)
        )
        clock.set(datetime(2026, 12, 8, 17, 0, 1, tzinfo=CT).astimezone(UTC))  # reopened
        await services.market.set_prices([("ESZ6", 4985)])
        after = await _status(services, admin, placed.order_id)
        return in_halt, last, modified, after, await _orders(services, admin, account)

    in_halt, last, modified, after, orders = _run(world, clock, body)
    assert in_halt == OrdStatus.WORKING.value
    assert [(p.contract.name, float(p.price)) for p in last] == [("ESZ6", 4980.0)]  # kept for charts
    assert modified.failure_reason == SESSION_CLOSED
    assert after == OrdStatus.FILLED.value  # at the reopen, the next price fills it
    assert len(orders) == 1


def test_liquidation_when_the_market_is_shut_then_it_is_not_refused(world: World, clock: ManualClock) -> None:
    account = world.demo_account_ids[0]

    async def body(services: Services, admin: Any) -> tuple[Any, Any]:
        clock.set(TUESDAY_10.astimezone(UTC))
        await services.market.set_prices([("ESZ6", 5000)])
        bought = await services.trading.place_order(admin, _order(world))
        assert bought.order_id is not None
        clock.set(SUNDAY_0227.astimezone(UTC))
        contract = services.market.contract_by_name("ESZ6")
        done = await services.trading.liquidate_position(admin, account, contract.id, admin=True)
        position = await services.uow.read(lambda s: s.position(account, contract))
        return done, position

    done, position = _run(world, clock, body)
    assert done.failure_reason is None
    assert position.net_pos == 0


def test_placeorder_when_market_hours_always_then_the_weekend_trades(
    world: World, clock: ManualClock
) -> None:
    async def body(services: Services, admin: Any) -> Any:
        clock.set(TUESDAY_10.astimezone(UTC))
        await services.market.set_prices([("ESZ6", 5000)])
        clock.set(SUNDAY_0227.astimezone(UTC))
        return await services.trading.place_order(admin, _order(world))

    outcome = _run(world, clock, body, market_hours="always")
    assert outcome.failure_reason is None and outcome.order_id is not None
