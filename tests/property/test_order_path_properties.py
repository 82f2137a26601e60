"""Hypothesis over the real order path (services and database, both engines): state × side ×
position × working orders. An accepted order never breaks its state's rule; a refused one changes
nothing in the orders, fills, positions or cash."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, update

from autoliq.adapters.sql.db import create_admin_engine
from autoliq.adapters.sql.schema import account_risk_status, cash_balance, fill, position, trade_order
from autoliq.bootstrap import Services
from autoliq.domain.gate import ADMIN_PERMISSIONS, Permission
from autoliq.domain.states import AdminAction
from autoliq.service.orders import PlaceOrder
from tests.conftest import World

STATES = [a.value for a in AdminAction]


def _body(
    account_id: int, side: str, qty: int, order_type: str = "Market", price: float | None = None
) -> PlaceOrder:
    return PlaceOrder(account_id, "ESZ6", side, qty, order_type, price)


def _trading_snapshot(engine: Any, account_id: int) -> tuple[Any, ...]:
    with engine.connect() as conn:
        return tuple(
            tuple(conn.execute(select(t).where(t.c.account_id == account_id).order_by(*t.primary_key)).all())
            for t in (trade_order, fill, position, cash_balance)
        )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    state=st.sampled_from(STATES),
    position_qty=st.integers(-4, 4),
    working_qty=st.integers(0, 3),
    side=st.sampled_from(["Buy", "Sell"]),
    qty=st.integers(1, 6),
)
def test_order_path_when_any_state_and_position_then_accepted_keep_rule_and_refused_change_nothing(
    services: Services, world: World, state: str, position_qty: int, working_qty: int, side: str, qty: int
) -> None:
    account_id = world.demo_account_ids[0]
    admin = services  # the services object drives everything in process
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

        async def scenario() -> tuple[Any, Any, Any]:
            services.start()
            try:
                user = await services.uow.read(lambda s: s.user_by_name("admin"))
                assert user is not None
                caller = user[0]
                await services.market.set_prices([("ESZ6", 5000)])
                if position_qty:
                    opened = await admin.trading.place_order(
                        caller, _body(account_id, "Buy" if position_qty > 0 else "Sell", abs(position_qty))
                    )
                    assert opened.order_id is not None
                if working_qty:
                    # A resting order on the reducing side (or a buy when flat), far from the market.
                    reducing = "Sell" if position_qty > 0 else "Buy"
                    limit = 5100 if reducing == "Sell" else 4900
                    rest = await admin.trading.place_order(
                        caller, _body(account_id, reducing, working_qty, "Limit", price=float(limit))
                    )
                    assert rest.order_id is not None
                if state != "Normal":
                    changed = await services.risk.set_admin_auto_liq_action(
                        caller, account_id, state, "Other", "p"
                    )
                    assert not isinstance(changed, str)
                before = _trading_snapshot(engine, account_id)
                net_before = sum(r.qty if r.action == "Buy" else -r.qty for r in before[1])
                outcome = await admin.trading.place_order(caller, _body(account_id, side, qty))
                return before, net_before, outcome
            finally:
                services.stop()

        before, net_before, outcome = asyncio.run(scenario())
        after = _trading_snapshot(engine, account_id)
    finally:
        engine.dispose()

    net_after = sum(r.qty if r.action == "Buy" else -r.qty for r in after[1])
    if outcome.order_id is None:
        assert outcome.failure_reason in {"TradingLocked", "LiquidationOnly"}
        assert after == before  # a refusal changes nothing
        return
    action = AdminAction(state)
    assert ADMIN_PERMISSIONS[action] is not Permission.NONE, "an order was accepted on a locked account"
    if action is AdminAction.LIQUIDATE_ONLY_MODE_IMMEDIATELY:
        # It only reduced: no larger, and never through flat.
        assert abs(net_after) <= abs(net_before)
        assert net_after == 0 or (net_after > 0) == (net_before > 0)
