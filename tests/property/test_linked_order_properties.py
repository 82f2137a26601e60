"""Hypothesis over OSO brackets on the real order path (services and database, both engines): for
any price path, and a lock or an unlock anywhere on it, an OSO never leaves both brackets filled,
no bracket works or fills while its entry is unfilled, and a filled bracket closes the entry."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, update

from autoliq.adapters.sql.db import create_admin_engine
from autoliq.adapters.sql.schema import account_risk_status, cash_balance, fill, position, trade_order
from autoliq.bootstrap import Services
from autoliq.service.linked_service import PlaceOso, RestrainedOrder
from autoliq.service.orders import PlaceOrder
from tests.conftest import World

# Prices around the entry (4990), the target (5010) and the stop (4980), on ES's quarter tick.
PRICES = st.sampled_from([4975, 4980, 4985, 4990, 4995, 5000, 5005, 5010, 5015])
STEPS = st.lists(st.one_of(PRICES, st.sampled_from(["lock", "unlock"])), min_size=1, max_size=8)


def _oso(account_id: int, entry_type: str) -> PlaceOso:
    return PlaceOso(
        PlaceOrder(account_id, "ESZ6", "Buy", 1, entry_type, price=4990.0, stop_price=4990.0),
        bracket1=RestrainedOrder("Sell", "Limit", price=5010.0),
        bracket2=RestrainedOrder("Sell", "Stop", stop_price=4980.0),
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=PRICES, steps=STEPS, entry_type=st.sampled_from(["Limit", "Stop", "Market"]))
def test_oso_when_any_price_path_and_locks_then_never_both_brackets_filled_nor_one_before_its_entry(
    services: Services, world: World, start: int, steps: list[Any], entry_type: str
) -> None:
    account_id = world.demo_account_ids[0]
    engine = create_admin_engine(world.database_url)
    try:
        with engine.begin() as conn:  # a clean account, back to Normal
            for table in (fill, trade_order, position, cash_balance):
                conn.execute(delete(table).where(table.c.account_id == account_id))
            conn.execute(
                update(account_risk_status)
                .where(account_risk_status.c.id == account_id)
                .values(admin_action="Normal")
            )

        async def scenario() -> list[tuple[str, str, str]]:
            services.start()
            try:
                found = await services.uow.read(lambda s: s.user_by_name("admin"))
                assert found is not None
                caller = found[0]
                await services.market.set_prices([("ESZ6", start)])
                placed = await services.linked.place_oso(caller, _oso(account_id, entry_type))
                assert placed.order_id is not None, placed
                seen = [await _statuses(placed.order_id, placed.linked_ids)]
                for step in steps:
                    if isinstance(step, int):
                        await services.market.set_prices([("ESZ6", step)])
                    else:
                        action = "LockTradingImmediately" if step == "lock" else "Normal"
                        await services.risk.set_admin_auto_liq_action(
                            caller, account_id, action, "Other", "p"
                        )
                    seen.append(await _statuses(placed.order_id, placed.linked_ids))
                return seen
            finally:
                services.stop()

        async def _statuses(entry: int, brackets: tuple[int, ...]) -> tuple[str, str, str]:
            ids = (entry, *brackets)
            with engine.connect() as conn:
                rows = dict(
                    conn.execute(
                        select(trade_order.c.id, trade_order.c.status).where(trade_order.c.id.in_(ids))
                    ).all()
                )
            return rows[entry], rows[brackets[0]], rows[brackets[1]]

        seen = asyncio.run(scenario())
        with engine.connect() as conn:
            net = sum(
                r.qty if r.action == "Buy" else -r.qty
                for r in conn.execute(
                    select(fill.c.qty, fill.c.action).where(fill.c.account_id == account_id)
                )
            )
    finally:
        engine.dispose()

    for entry, target, stop in seen:
        assert (target, stop) != ("Filled", "Filled"), seen
        if entry != "Filled":
            assert target not in ("Working", "Filled") and stop not in ("Working", "Filled"), seen
    entry, target, stop = seen[-1]
    assert net == (1 if entry == "Filled" else 0) - (1 if "Filled" in (target, stop) else 0), seen
