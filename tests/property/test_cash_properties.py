"""Hypothesis over random fills through the real order path (both engines): the cash snapshot agrees
with an independent first-in-first-out reckoning of the fills, positions and last prices."""

from __future__ import annotations

import asyncio
from collections import deque
from decimal import Decimal
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from autoliq.adapters.sql.db import create_admin_engine
from autoliq.adapters.sql.schema import cash_balance, fill, position, trade_order
from autoliq.bootstrap import Services
from autoliq.service.orders import PlaceOrder
from tests.conftest import World

ES_POINT_VALUE = Decimal(50)
steps = st.lists(
    st.tuples(
        st.sampled_from(["Buy", "Sell"]),
        st.integers(1, 5),
        st.integers(19_000, 21_000).map(lambda ticks: Decimal(ticks) / 4),  # ES prices on its 0.25 tick
    ),
    min_size=1,
    max_size=12,
)


def fifo_oracle(fills: list[tuple[str, int, Decimal]], last: Decimal) -> tuple[Decimal, Decimal, int]:
    """(realized $, open $, net position) by plain first-in-first-out lots: the test's own reckoning."""
    lots: deque[list[Any]] = deque()  # [signed qty, price]
    realized = Decimal(0)
    for side, qty, price in fills:
        sign = 1 if side == "Buy" else -1
        left = qty
        while left and lots and (lots[0][0] > 0) != (sign > 0):
            take = min(left, abs(lots[0][0]))
            realized += take * (price - lots[0][1]) * (1 if lots[0][0] > 0 else -1)
            lots[0][0] -= take * (1 if lots[0][0] > 0 else -1)
            left -= take
            if lots[0][0] == 0:
                lots.popleft()
        if left:
            lots.append([left * sign, price])
    open_points = sum((q * (last - p) for q, p in lots), Decimal(0))
    return realized * ES_POINT_VALUE, open_points * ES_POINT_VALUE, sum(q for q, _ in lots)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=steps, last=st.integers(19_000, 21_000).map(lambda ticks: Decimal(ticks) / 4))
def test_cash_snapshot_when_random_fills_then_agrees_with_fifo_of_fills_positions_and_price(
    services: Services, world: World, sequence: list[tuple[str, int, Decimal]], last: Decimal
) -> None:
    account_id = world.demo_account_ids[0]
    engine = create_admin_engine(world.database_url)
    try:
        with engine.begin() as conn:
            for table in (fill, trade_order, position, cash_balance):
                conn.execute(delete(table).where(table.c.account_id == account_id))

        async def run() -> Any:
            services.start()
            try:
                found = await services.uow.read(lambda s: s.user_by_name("admin"))
                assert found is not None
                admin = found[0]
                for side, qty, price in sequence:
                    await services.market.set_prices([("ESZ6", price)])
                    order = PlaceOrder(account_id, "ESZ6", side, qty, "Market")
                    outcome = await services.trading.place_order(admin, order)
                    assert outcome.order_id is not None, outcome
                await services.market.set_prices([("ESZ6", last)])
                return await services.trading.cash_snapshot(admin, account_id)
            finally:
                services.stop()

        snapshot = asyncio.run(run())
        with engine.connect() as conn:
            rows = conn.execute(select(fill).where(fill.c.account_id == account_id).order_by(fill.c.id)).all()
            net_rows = conn.execute(select(position.c.lots).where(position.c.account_id == account_id)).all()
    finally:
        engine.dispose()
    fills = [(r.action, r.qty, Decimal(r.price_ticks) / 4) for r in rows]
    assert fills == sequence  # every market order filled at the price set just before it
    realized, open_dollars, net = fifo_oracle(fills, last)
    assert snapshot.realized_pnl == realized
    assert snapshot.open_pnl == open_dollars
    assert snapshot.net_liq == Decimal(50_000) + realized + open_dollars
    assert snapshot.total_cash_value == Decimal(50_000) + realized
    assert len(net_rows) == 1
    assert sum(q for q, _ in msgspec.json.decode(net_rows[0].lots)) == net
