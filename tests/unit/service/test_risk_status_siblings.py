"""setadminautoliqaction's siblings on RiskService over the in-memory fakes: updatemaxnetliq,
resetautoliqstatus and organizationadminunlockaccount (validation, organization and role checks, the
status written, its log row and event, what the risk engine is asked). Their HTTP answers stay in
tests/e2e (test_update_max_net_liq.py, test_auto_liq_rules.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest

from autoliq.domain import rules
from autoliq.domain.auto_liq import AutoLiqLayer, LayerState
from autoliq.domain.errors import NotFound, Unauthorized
from autoliq.domain.events import RiskStatusChanged
from autoliq.domain.gate import ADMIN_PERMISSIONS, Permission
from autoliq.domain.model import RiskStatus
from autoliq.domain.post_trade import TEXT_MAX_NET_LIQ, AutoLiqSettings
from autoliq.domain.rules import Rejection
from autoliq.domain.states import Actor, AdminAction, Environment
from autoliq.service.clock import ManualClock
from autoliq.service.risk_status import RiskService
from tests.conftest import ADMIN_PW, OTHER_ADMIN_PW, TRADER_PW
from tests.fakes import FakeEngine, FakeUnitOfWork, FakeWorld, fake_world

T = TypeVar("T")
T0 = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


def run(awaitable: Awaitable[T]) -> T:
    return asyncio.run(awaitable)  # type: ignore[arg-type]


@pytest.fixture
def world() -> FakeWorld:
    return fake_world(ADMIN_PW, TRADER_PW, OTHER_ADMIN_PW)


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def service(world: FakeWorld, engine: FakeEngine) -> RiskService[Any]:
    return RiskService(world.uow, ManualClock(T0), Environment.DEMO, engine=engine)


def _log(uow: FakeUnitOfWork, account_id: int) -> list[Any]:
    return [e for e in uow.state.log if e.account_id == account_id]


# -- updatemaxnetliq --


@pytest.mark.parametrize(
    ("account_id", "value", "text"),
    [
        (0, 1.0, rules.ACCOUNT_ID_POSITIVE),
        (None, 1.0, rules.ACCOUNT_ID_POSITIVE),
        (1, -0.01, TEXT_MAX_NET_LIQ),
        (1, float("nan"), TEXT_MAX_NET_LIQ),
        (1, float("inf"), TEXT_MAX_NET_LIQ),
        (1, None, TEXT_MAX_NET_LIQ),
    ],
)
def test_update_max_net_liq_when_invalid_then_rejection_and_nothing_written(
    world: FakeWorld, service: RiskService[Any], account_id: int | None, value: float | None, text: str
) -> None:
    target = world.demo_account_ids[0] if account_id == 1 else account_id
    assert run(service.update_max_net_liq(world.admin, target, value)) == Rejection(text)
    assert world.uow.writes == 0


def test_update_max_net_liq_when_trailing_drawdown_then_mark_and_floor_logged_and_rules_evaluated(
    world: FakeWorld, service: RiskService[Any], engine: FakeEngine
) -> None:
    account_id = world.demo_account_ids[0]
    world.uow.state.settings[account_id] = AutoLiqSettings(
        id=account_id, trailing_max_drawdown=2000.0, trailing_max_drawdown_limit=50000.0
    )
    status = run(service.update_max_net_liq(world.admin, account_id, 53000.0))
    assert (status.max_net_liq, status.min_net_liq) == (53000.0, 50000.0)  # the limit caps the floor
    [entry] = _log(world.uow, account_id)
    assert (entry.status, entry.actor, entry.actor_user_id) == (status, Actor.USER, world.admin.id)
    assert world.uow.published == [
        RiskStatusChanged(world.demo_org, account_id, world.trader.id, status, entry)
    ]
    assert [(c.name, c.account_id, c.act) for c in engine.calls] == [("evaluate", account_id, True)]


def test_update_max_net_liq_when_no_settings_then_no_floor(
    world: FakeWorld, service: RiskService[Any]
) -> None:
    status = run(service.update_max_net_liq(world.admin, world.demo_account_ids[1], 1000.0))
    assert (status.max_net_liq, status.min_net_liq) == (1000.0, None)


def test_siblings_when_trader_or_other_organization_then_unauthorized_or_not_found(
    world: FakeWorld, service: RiskService[Any]
) -> None:
    own = world.demo_account_ids[0]
    with pytest.raises(Unauthorized):
        run(service.update_max_net_liq(world.trader, own, 1.0))
    with pytest.raises(Unauthorized):
        run(service.reset_auto_liq_status(world.trader, own))
    with pytest.raises(NotFound):
        run(service.admin_unlock_account(world.other_admin, own, None))
    with pytest.raises(NotFound):
        run(service.update_max_net_liq(world.admin, 987654321, 1.0))
    assert world.uow.writes == 0


# -- resetautoliqstatus and organizationadminunlockaccount --


def _lock(world: FakeWorld, account_id: int, action: AdminAction, layer: LayerState) -> None:
    state = world.uow.state
    status = RiskStatus(id=account_id).with_admin_action(action, T0)
    if layer is LayerState.LIQUIDATE_ONLY:
        status = RiskStatus(status.id, status.admin_action, status.admin_timestamp, T0, True, None, None)
    state.statuses[account_id] = status
    state.layers[account_id] = AutoLiqLayer(account_id, layer, "dailyLossLiqOnly", T0, None)


def test_reset_when_layer_set_then_cleared_admin_action_kept_logged_and_reevaluated_without_acting(
    world: FakeWorld, service: RiskService[Any], engine: FakeEngine
) -> None:
    account_id = world.demo_account_ids[2]
    _lock(world, account_id, AdminAction.LOCK_TRADING_IMMEDIATELY, LayerState.LIQUIDATE_ONLY)
    status = run(service.reset_auto_liq_status(world.admin, account_id))
    assert account_id not in world.uow.state.layers
    assert status.admin_action is AdminAction.LOCK_TRADING_IMMEDIATELY  # the admin layer is untouched
    assert status.liquidate_only is None  # the layer's liquidate-only went with it
    [entry] = _log(world.uow, account_id)
    assert (entry.reason, entry.actor_user_id) == ("Auto-liq status reset", world.admin.id)
    assert [(c.name, c.act) for c in engine.calls] == [("clear_layer", None), ("evaluate", False)]


def test_reset_when_admin_layer_in_liquidate_only_mode_then_its_liquidate_only_is_kept(
    world: FakeWorld, service: RiskService[Any], engine: FakeEngine
) -> None:
    account_id = world.demo_account_ids[2]
    _lock(world, account_id, AdminAction.LIQUIDATE_ONLY_MODE_IMMEDIATELY, LayerState.LIQUIDATE_ONLY)
    status = run(service.reset_auto_liq_status(world.admin, account_id))
    assert account_id not in world.uow.state.layers
    assert status.admin_action is AdminAction.LIQUIDATE_ONLY_MODE_IMMEDIATELY
    assert status.liquidate_only is not None  # the admin layer's own liquidate-only stays
    assert world.uow.state.statuses[account_id].liquidate_only is not None
    assert [c.name for c in engine.calls] == ["clear_layer", "evaluate"]


@pytest.mark.parametrize("action", list(AdminAction))
def test_unlock_when_admin_lock_then_back_to_normal_else_action_kept(
    world: FakeWorld, service: RiskService[Any], action: AdminAction
) -> None:
    account_id = world.demo_account_ids[3]
    _lock(world, account_id, action, LayerState.LOCKED)
    status = run(service.admin_unlock_account(world.admin, account_id, "call with the trader"))
    assert account_id not in world.uow.state.layers
    if ADMIN_PERMISSIONS[action] is Permission.ANY:
        assert status.admin_action is action
    else:
        assert status.admin_action is AdminAction.NORMAL and status.admin_timestamp == T0
    assert _log(world.uow, account_id)[-1].reason == "call with the trader"


def test_unlock_when_reason_too_long_or_account_id_invalid_then_rejection(
    world: FakeWorld, service: RiskService[Any]
) -> None:
    account_id = world.demo_account_ids[3]
    too_long = run(service.admin_unlock_account(world.admin, account_id, "x" * 8193))
    assert too_long == Rejection(rules.REASON_TOO_LONG)
    assert run(service.admin_unlock_account(world.admin, 0, None)) == Rejection(rules.ACCOUNT_ID_POSITIVE)
    assert run(service.reset_auto_liq_status(world.admin, -1)) == Rejection(rules.ACCOUNT_ID_POSITIVE)
    assert world.uow.writes == 0


def test_unlock_when_no_reason_then_default_reason_logged(
    world: FakeWorld, service: RiskService[Any]
) -> None:
    account_id = world.demo_account_ids[4]
    run(service.admin_unlock_account(world.admin, account_id, None))
    assert _log(world.uow, account_id)[-1].reason == "Account unlocked by an administrator"
