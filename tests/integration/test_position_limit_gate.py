"""The one gate enforces an account's pre-trade limit rows, both engines, in process with a clock
the test moves: each failure reason, a limit reached by the fill of a resting order (it stays
working), a reducing order at the limit, liquidations past every limit, a limit set while orders
work, modifyorder and placeOCO through the same checks, and inactive or deleted rows."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from autoliq.bootstrap import Services, bootstrap
from autoliq.domain.orders import OrdStatus
from autoliq.domain.position_limits import PositionLimit, RiskParameter, Scope, TotalBy
from autoliq.service.clock import ManualClock
from autoliq.service.linked_service import PlaceOco, RestrainedOrder
from autoliq.service.orders import ModifyOrder, PlaceOrder
from tests.conftest import World, make_settings

T = TypeVar("T")
TUESDAY = datetime(2026, 12, 8, 16, 0, tzinfo=UTC)  # 10:00 CST, in the session


class Desk:
    """The demo admin trading the first demo account, over running services."""

    def __init__(self, services: Services, admin: Any, account: int) -> None:
        self.services = services
        self.admin = admin
        self.account = account
        self.es = services.market.contract_by_name("ESZ6")

    async def price(self, symbol: str, value: float) -> None:
        await self.services.market.set_prices([(symbol, value)])

    async def order(
        self,
        action: str,
        qty: int,
        order_type: str = "Market",
        *,
        symbol: str = "ESZ6",
        price: float | None = None,
    ) -> Any:
        command = PlaceOrder(self.account, symbol, action, qty, order_type, price=price, time_in_force="GTC")
        return await self.services.trading.place_order(self.admin, command)

    async def limit(self, **fields: Any) -> PositionLimit:
        fields.setdefault("total_by", TotalBy.CONTRACT)
        if fields["total_by"] is TotalBy.CONTRACT:
            fields.setdefault("scope", Scope(contract_id=self.es.id))
        row = PositionLimit(0, self.account, **fields)
        return await self.services.limits.save_limit(self.admin, row, create=True)

    async def net(self, symbol: str = "ESZ6") -> int:
        contract = self.services.market.contract_by_name(symbol)
        return (await self.services.uow.read(lambda s: s.position(self.account, contract))).net_pos

    async def status(self, order_id: int) -> str:
        rows = await self.services.uow.read(
            lambda s: s.trading_rows("order", self.admin.organization_id, ids=[order_id])
        )
        return str(rows[0].status)


def _run(world: World, clock: ManualClock, body: Callable[[Desk], Awaitable[T]]) -> T:
    clock.set(TUESDAY)
    services = bootstrap(make_settings(world.database_url), clock=clock, run_migrations=False)
    services.start()

    async def main() -> T:
        found = await services.uow.read(lambda s: s.user_by_name("admin"))
        assert found is not None
        desk = Desk(services, found[0], world.demo_account_ids[0])
        await desk.price("ESZ6", 5000)
        await desk.price("NQZ6", 20000)
        return await body(desk)

    try:
        return asyncio.run(main())
    finally:
        services.stop()


def test_gate_when_a_buy_would_pass_the_long_limit_then_max_pos_limit_reached_and_a_sell_still_passes(
    world: World, clock: ManualClock
) -> None:
    async def body(desk: Desk) -> tuple[Any, ...]:
        limit = await desk.limit(long_limit=2)
        first = await desk.order("Buy", 2)
        refused = await desk.order("Buy", 1)
        reducing = await desk.order("Sell", 1)
        return limit, first, refused, reducing, await desk.net()

    limit, first, refused, reducing, net = _run(world, clock, body)
    assert first.order_id is not None
    assert refused.order_id is None and refused.failure_reason == "MaxPosLimitReached"
    assert refused.failure_text == (
        "Order would take the account's long position in its Contract scope past the limit of 2 "
        f"(limit {limit.id})"
    )
    assert reducing.order_id is not None and net == 1


def test_gate_when_a_resting_order_would_pass_the_limit_at_its_fill_then_it_stays_working(
    world: World, clock: ManualClock
) -> None:
    async def body(desk: Desk) -> tuple[Any, ...]:
        await desk.limit(long_limit=1)
        first = await desk.order("Buy", 1, "Limit", price=4990.0)
        second = await desk.order("Buy", 1, "Limit", price=4990.0)  # both rest: the position is flat
        await desk.price("ESZ6", 4985)  # reaches both; only the first may fill
        return (
            first,
            second,
            await desk.status(first.order_id),
            await desk.status(second.order_id),
            await desk.net(),
        )

    first, second, first_status, second_status, net = _run(world, clock, body)
    assert first.order_id is not None and second.order_id is not None
    assert (first_status, second_status, net) == (OrdStatus.FILLED.value, OrdStatus.WORKING.value, 1)


def test_gate_when_a_limit_is_set_while_an_order_works_then_the_order_waits_and_liquidation_passes(
    world: World, clock: ManualClock
) -> None:
    async def body(desk: Desk) -> tuple[Any, ...]:
        await desk.order("Buy", 3)
        resting = await desk.order("Buy", 1, "Limit", price=4990.0)
        await desk.limit(long_limit=0, short_limit=0)
        await desk.price("ESZ6", 4985)
        waiting = await desk.status(resting.order_id)
        more = await desk.order("Buy", 1)
        flip = await desk.order("Sell", 4)  # past flat into a short of 1: over shortLimit 0
        done = await desk.services.trading.liquidate_position(
            desk.admin, desk.account, desk.es.id, admin=True
        )
        return waiting, more, flip, done, await desk.net()

    waiting, more, flip, done, net = _run(world, clock, body)
    assert waiting == OrdStatus.WORKING.value
    assert more.failure_reason == "MaxPosLimitReached"
    assert flip.failure_reason == "MaxPosLimitReached"
    assert done.failure_reason is None and net == 0


def test_gate_when_an_overall_limit_spans_contracts_then_max_total_pos_limit_reached(
    world: World, clock: ManualClock
) -> None:
    async def body(desk: Desk) -> tuple[Any, ...]:
        await desk.limit(total_by=TotalBy.OVERALL, long_limit=3)
        es = await desk.order("Buy", 2)
        nq = await desk.order("Buy", 2, symbol="NQZ6")
        nq_one = await desk.order("Buy", 1, symbol="NQZ6")
        return es, nq, nq_one

    es, nq, nq_one = _run(world, clock, body)
    assert es.order_id is not None
    assert nq.failure_reason == "MaxTotalPosLimitReached" and "in all contracts" in nq.failure_text
    assert nq_one.order_id is not None


def test_gate_when_a_risk_parameter_caps_the_opening_quantity_then_place_modify_and_oco_are_held_to_it(
    world: World, clock: ManualClock
) -> None:
    async def body(desk: Desk) -> tuple[Any, ...]:
        limit = await desk.limit(total_by=TotalBy.PRODUCT, scope=Scope(product_id=desk.es.product.id))
        await desk.services.limits.save_parameter(
            desk.admin, RiskParameter(0, limit.id, max_opening_order_qty=2), create=True
        )
        over = await desk.order("Buy", 3)
        resting = await desk.order("Buy", 2, "Limit", price=4900.0)
        modified = await desk.services.trading.modify_order(
            desk.admin, ModifyOrder(resting.order_id, 3, "Limit", 4900.0)
        )
        oco = await desk.services.linked.place_oco(
            desk.admin,
            PlaceOco(
                PlaceOrder(desk.account, "ESZ6", "Buy", 3, "Limit", price=4900.0),
                RestrainedOrder("Buy", "Limit", price=4890.0),
            ),
        )
        return over, resting, modified, oco

    over, resting, modified, oco = _run(world, clock, body)
    assert over.failure_reason == "MaxOrderQtyLimitReached"
    assert over.failure_text == "Order opens 3 contracts, more than the maximum of 2"
    assert resting.order_id is not None
    assert modified.failure_reason == "MaxOrderQtyLimitReached"
    assert oco.failure_reason == "MaxOrderQtyLimitReached"


def test_gate_when_the_limit_is_inactive_or_deleted_then_orders_pass_again(
    world: World, clock: ManualClock
) -> None:
    async def body(desk: Desk) -> tuple[Any, ...]:
        limit = await desk.limit(long_limit=0)
        refused = await desk.order("Buy", 1)
        from dataclasses import replace

        await desk.services.limits.save_limit(desk.admin, replace(limit, active=False), create=False)
        inactive = await desk.order("Buy", 1)
        await desk.services.limits.save_limit(desk.admin, limit, create=False)
        again = await desk.order("Buy", 1)
        await desk.services.limits.delete_limit(desk.admin, limit.id)
        deleted = await desk.order("Buy", 1)
        return refused, inactive, again, deleted

    refused, inactive, again, deleted = _run(world, clock, body)
    assert refused.failure_reason == "MaxPosLimitReached"
    assert inactive.order_id is not None
    assert again.failure_reason == "MaxPosLimitReached"
    assert deleted.order_id is not None
