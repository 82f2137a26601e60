"""Hypothesis over state × side × position × working orders: the one gate never lets an order
break its state's rule, and lets every order the rule allows."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from autoliq.domain.auto_liq import LayerState
from autoliq.domain.gate import (
    ADMIN_PERMISSIONS,
    LIQUIDATION_ONLY,
    TRADING_LOCKED,
    AccountPosition,
    Allowed,
    Denied,
    OrderIntent,
    Permission,
    check_order,
    needs_position,
)
from autoliq.domain.states import AdminAction, Side

LAYER_RANK = {Permission.ANY: 0, Permission.REDUCE_ONLY: 1, Permission.NONE: 2}


def reference_permission(account: AccountPosition) -> Permission:
    """The reference: the strictest of the admin layer, the auto-liq layer and the halt."""
    layers = [ADMIN_PERMISSIONS[account.admin_action]]
    if account.auto_liq is LayerState.LOCKED or account.halted:
        layers.append(Permission.NONE)
    if account.auto_liq is LayerState.LIQUIDATE_ONLY:
        layers.append(Permission.REDUCE_ONLY)
    return max(layers, key=LAYER_RANK.__getitem__)


accounts = st.builds(
    AccountPosition,
    admin_action=st.sampled_from(list(AdminAction)),
    net_pos=st.integers(-50, 50),
    working_buy_qty=st.integers(0, 60),
    working_sell_qty=st.integers(0, 60),
    auto_liq=st.sampled_from([None, *LayerState]),
    halted=st.booleans(),
)
orders = st.builds(
    OrderIntent, side=st.sampled_from(list(Side)), qty=st.integers(1, 80), admin_liquidation=st.booleans()
)


def _reduces_without_overshoot(order: OrderIntent, account: AccountPosition) -> bool:
    """The reference rule: opposite the position, and with the other working orders on the same
    side, never past flat."""
    if order.side is Side.SELL:
        return account.net_pos > 0 and order.qty + account.working_sell_qty <= account.net_pos
    return account.net_pos < 0 and order.qty + account.working_buy_qty <= -account.net_pos


@given(orders, accounts)
def test_gate_when_any_order_and_state_then_accepted_orders_keep_the_states_rule(
    order: OrderIntent, account: AccountPosition
) -> None:
    decision = check_order(order, account)
    permission = reference_permission(account)
    reduces = _reduces_without_overshoot(order, account)
    if isinstance(decision, Allowed):
        if order.admin_liquidation or permission is Permission.REDUCE_ONLY:
            assert reduces
        assert order.admin_liquidation or permission is not Permission.NONE
    else:
        assert isinstance(decision, Denied)
        assert decision.failure_text


@given(orders, accounts)
def test_gate_when_order_fits_the_states_rule_then_never_refused(
    order: OrderIntent, account: AccountPosition
) -> None:
    permission = reference_permission(account)
    reduces = _reduces_without_overshoot(order, account)
    allowed_by_rule = (
        reduces
        if order.admin_liquidation
        else permission is Permission.ANY or (permission is Permission.REDUCE_ONLY and reduces)
    )
    assert isinstance(check_order(order, account), Allowed) == allowed_by_rule


@given(
    st.sampled_from([AdminAction.LOCK_TRADING_IMMEDIATELY, AdminAction.LIQUIDATE_IMMEDIATELY]),
    orders,
    accounts,
)
def test_gate_when_locked_then_every_non_admin_order_is_trading_locked(
    action: AdminAction, order: OrderIntent, account: AccountPosition
) -> None:
    account = AccountPosition(
        action, account.net_pos, account.working_buy_qty, account.working_sell_qty, account.auto_liq
    )
    decision = check_order(OrderIntent(order.side, order.qty), account)
    assert (
        decision == Denied(TRADING_LOCKED, decision.failure_text) if isinstance(decision, Denied) else False
    )


def test_gate_when_liquidate_only_and_order_larger_than_position_then_liquidation_only() -> None:
    account = AccountPosition(AdminAction.LIQUIDATE_ONLY_MODE_IMMEDIATELY, net_pos=3)
    assert isinstance(check_order(OrderIntent(Side.SELL, 3), account), Allowed)
    too_big = check_order(OrderIntent(Side.SELL, 4), account)
    assert isinstance(too_big, Denied) and too_big.failure_reason == LIQUIDATION_ONLY
    increasing = check_order(OrderIntent(Side.BUY, 1), account)
    assert isinstance(increasing, Denied) and increasing.failure_reason == LIQUIDATION_ONLY


def test_gate_when_liquidate_only_then_other_working_reducing_orders_count() -> None:
    account = AccountPosition(AdminAction.LIQUIDATE_ONLY_MODE_IMMEDIATELY, net_pos=-5, working_buy_qty=4)
    assert isinstance(check_order(OrderIntent(Side.BUY, 1), account), Allowed)
    assert isinstance(check_order(OrderIntent(Side.BUY, 2), account), Denied)


def test_gate_when_every_admin_action_then_has_a_permission() -> None:
    assert set(ADMIN_PERMISSIONS) == set(AdminAction)


@given(orders, accounts, accounts)
def test_gate_when_position_is_not_needed_then_any_position_gives_the_same_decision(
    order: OrderIntent, account: AccountPosition, other: AccountPosition
) -> None:
    """`needs_position` lets the order path skip reading the position and the working orders: it
    may only say so where they cannot change the decision."""
    if needs_position(order, account.state):
        return
    elsewhere = AccountPosition(
        account.admin_action,
        other.net_pos,
        other.working_buy_qty,
        other.working_sell_qty,
        account.auto_liq,
        account.halted,
    )
    assert check_order(order, account) == check_order(order, elsewhere)


@given(orders, st.sampled_from(list(AdminAction)), st.sampled_from([None, *LayerState]), st.booleans())
def test_gate_when_position_could_change_the_decision_then_it_is_needed(
    order: OrderIntent, action: AdminAction, layer: LayerState | None, halted: bool
) -> None:
    """The converse: where two positions give different decisions, `needs_position` says so."""
    flat = AccountPosition(action, 0, auto_liq=layer, halted=halted)
    closable = AccountPosition(
        action, -order.qty if order.side is Side.BUY else order.qty, auto_liq=layer, halted=halted
    )
    if check_order(order, flat) != check_order(order, closable):
        assert needs_position(order, flat.state)


@given(orders, accounts)
def test_gate_when_a_layer_refuses_then_its_text_names_it(
    order: OrderIntent, account: AccountPosition
) -> None:
    """A refusal says which layer refused: the halt, else the admin layer, else the auto-liq layer."""
    decision = check_order(order, account)
    if not isinstance(decision, Denied) or order.admin_liquidation:
        return
    text = decision.failure_text
    if account.halted:
        assert "halted" in text
    elif LAYER_RANK[ADMIN_PERMISSIONS[account.admin_action]] >= LAYER_RANK[reference_permission(account)]:
        assert "auto-liquidation" not in text
    else:
        assert "auto-liquidation" in text
