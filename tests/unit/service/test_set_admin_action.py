"""setadminautoliqaction's rules, over the in-memory fakes (no database, no HTTP): validation order and
texts, environment, organization isolation, roles, each action's effect, the audit row, events after
commit. What only HTTP shows (status codes, the errorText bytes, paths) stays in
tests/e2e/test_set_admin_action.py."""

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
from autoliq.domain.model import RiskStatus, User
from autoliq.domain.rules import EnvironmentDenied, Rejection
from autoliq.domain.states import Actor, AdminAction, Environment, ReasonCode
from autoliq.domain.timers import EXPIRING_ACTIONS, HOLD, TimerKind
from autoliq.service.clock import ManualClock
from autoliq.service.risk_status import RiskService
from autoliq.telemetry import metrics
from tests.conftest import ADMIN_PW, OTHER_ADMIN_PW, TRADER_PW
from tests.fakes import FakeEngine, FakeStore, FakeWorld, fake_world

T = TypeVar("T")
T0 = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
UNKNOWN = 987654321
LOCK = "LockTradingImmediately"


def run(awaitable: Awaitable[T]) -> T:
    return asyncio.run(awaitable)  # type: ignore[arg-type]


class Env:
    """A RiskService over a seeded fake world."""

    def __init__(self, environment: Environment = Environment.DEMO) -> None:
        self.world: FakeWorld = fake_world(ADMIN_PW, TRADER_PW, OTHER_ADMIN_PW)
        self.clock = ManualClock(T0)
        self.engine = FakeEngine()
        self.listed: dict[int, Any] = {7: "contract-7"}
        self.service = RiskService(
            self.world.uow, self.clock, environment, lambda: self.listed, engine=self.engine
        )

    @property
    def state(self) -> Any:
        return self.world.uow.state

    def set(
        self,
        caller: User,
        account_id: int | None,
        action: str | None = "LockTradingImmediately",
        code: str | None = "Other",
        reason: str | None = "test",
    ) -> Any:
        return run(self.service.set_admin_auto_liq_action(caller, account_id, action, code, reason))

    def log(self, account_id: int) -> list[Any]:
        return [e for e in self.state.log if e.account_id == account_id]

    def snapshot(self) -> tuple[Any, ...]:
        s = self.state
        return (dict(s.statuses), list(s.log), dict(s.timers), dict(s.layers), list(self.world.uow.published))


@pytest.fixture
def env() -> Env:
    return Env()


# -- every documented errorText, changing nothing --

ERROR_CASES = [
    pytest.param((0, LOCK, "Other", "test"), rules.ACCOUNT_ID_POSITIVE, id="account-id-zero"),
    pytest.param((-5, LOCK, "Other", "test"), rules.ACCOUNT_ID_POSITIVE, id="account-id-negative"),
    pytest.param((None, "Normal", "Other", "x"), rules.ACCOUNT_ID_POSITIVE, id="account-id-missing"),
    pytest.param((1, "Freeze", "Other", "test"), rules.ADMIN_ACTION_RANGE, id="action-unknown"),
    pytest.param((1, "normal", "Other", "test"), rules.ADMIN_ACTION_RANGE, id="action-wrong-case"),
    pytest.param((1, None, "Other", "x"), rules.ADMIN_ACTION_RANGE, id="action-missing"),
    pytest.param((1, LOCK, "LowLiquidity", "test"), rules.REASON_CODE_RANGE, id="code-superseded"),
    pytest.param((1, "Normal", None, None), rules.REASON_CODE_RANGE, id="code-missing"),
    pytest.param((1, LOCK, "Other", "x" * 8193), rules.REASON_TOO_LONG, id="reason-8193"),
    pytest.param((1, LOCK, "Other", "é" * 8193), rules.REASON_TOO_LONG,
                 id="reason-8193-non-ascii"),
    pytest.param((1, LOCK, "Other", None), rules.REASON_REQUIRED, id="reason-null-with-other"),
    pytest.param((1, LOCK, "Other", ""), rules.REASON_REQUIRED, id="reason-empty-with-other"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "error_text"), ERROR_CASES)
def test_set_admin_action_when_documented_cause_then_rejection_text_and_nothing_changes(
    env: Env, args: tuple[Any, ...], error_text: str
) -> None:
    account_id, action, code, reason = args
    if account_id == 1:
        account_id = env.world.demo_account_ids[0]
    before = env.snapshot()
    result = env.set(env.world.admin, account_id, action, code, reason)
    assert result == Rejection(error_text)
    assert env.snapshot() == before
    assert env.world.uow.writes == 0


# -- environment --


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        (Environment.REPLAY, EnvironmentDenied(rules.CALL_ON_LIVE, 200)),
        (Environment.LIVE, EnvironmentDenied(rules.ACCESS_IS_DENIED, 401)),
    ],
)
def test_set_admin_action_when_server_is_not_demo_then_environment_refusal_and_nothing_changes(
    environment: Environment, expected: EnvironmentDenied
) -> None:
    env = Env(environment)
    before = env.snapshot()
    assert env.set(env.world.admin, env.world.demo_account_ids[0]) == expected
    assert env.snapshot() == before and env.world.uow.writes == 0


def test_order_when_replay_server_and_invalid_body_then_validation_text_before_environment() -> None:
    env = Env(Environment.REPLAY)
    assert env.set(env.world.admin, env.world.demo_account_ids[0], "Nope") == Rejection(
        rules.ADMIN_ACTION_RANGE
    )


def test_order_when_replay_server_and_unknown_account_then_environment_text_before_not_found() -> None:
    env = Env(Environment.REPLAY)
    assert env.set(env.world.admin, UNKNOWN) == EnvironmentDenied(rules.CALL_ON_LIVE, 200)


# -- organizations and roles --


def test_set_admin_action_when_account_does_not_exist_then_not_found_and_nothing_changes(env: Env) -> None:
    before = env.snapshot()
    with pytest.raises(NotFound):
        env.set(env.world.admin, UNKNOWN)
    assert env.snapshot() == before and env.world.uow.writes == 0


def test_set_admin_action_when_trader_calls_then_unauthorized_even_on_own_account(env: Env) -> None:
    own = env.world.demo_account_ids[0]
    assert env.state.accounts[own].user_id == env.world.trader.id
    before = env.snapshot()
    with pytest.raises(Unauthorized):
        env.set(env.world.trader, own)
    assert env.snapshot() == before and env.world.uow.writes == 0


def test_set_admin_action_when_admin_of_other_organization_then_not_found_not_unauthorized(env: Env) -> None:
    before = env.snapshot()
    with pytest.raises(NotFound):
        env.set(env.world.other_admin, env.world.demo_account_ids[0])
    assert env.snapshot() == before and env.world.uow.writes == 0


def test_order_when_trader_sends_invalid_body_then_validation_text_before_permission(env: Env) -> None:
    assert env.set(env.world.trader, env.world.demo_account_ids[0], "Nope") == Rejection(
        rules.ADMIN_ACTION_RANGE
    )


def test_order_when_other_org_account_and_trader_then_not_found_before_unauthorized(env: Env) -> None:
    with pytest.raises(NotFound):
        env.set(env.world.trader, env.world.other_account_ids[0])


# -- success: every action, its effect, the log row, the event --


@pytest.mark.parametrize("action", list(AdminAction))
def test_set_admin_action_when_each_action_then_stored_logged_and_published_after_commit(
    env: Env, action: AdminAction
) -> None:
    account_id = env.world.demo_account_ids[3]
    admin = env.world.admin
    status = env.set(admin, account_id, action.value, "Other", f"set {action.value}")
    assert isinstance(status, RiskStatus)
    assert (status.id, status.admin_action, status.admin_timestamp) == (account_id, action, T0)
    assert env.state.statuses[account_id] == status
    [entry] = env.log(account_id)
    assert (entry.timestamp, entry.status, entry.actor, entry.actor_user_id) == (
        T0,
        status,
        Actor.USER,
        admin.id,
    )
    assert (entry.reason_code, entry.reason) == (ReasonCode.OTHER, f"set {action.value}")
    assert env.world.uow.published == [
        RiskStatusChanged(admin.organization_id, account_id, env.world.trader.id, status, entry)
    ]
    assert env.world.uow.commits == 1


@pytest.mark.parametrize("action", list(AdminAction))
def test_set_admin_action_when_action_expires_then_timer_in_60s_else_none(
    env: Env, action: AdminAction
) -> None:
    account_id = env.world.demo_account_ids[3]
    env.set(env.world.admin, account_id, action.value)
    timers = list(env.state.timers.values())
    if action in EXPIRING_ACTIONS:
        [timer] = timers
        assert (timer.account_id, timer.kind, timer.due_at) == (
            account_id,
            TimerKind.ADMIN_ACTION_EXPIRY,
            T0 + HOLD,
        )
        assert (timer.admin_action, timer.set_at) == (action, T0)
        assert HOLD.total_seconds() == 60
    else:
        assert timers == []


def test_liquidate_immediately_when_set_then_engine_liquidates_after_the_status_with_listed_contracts(
    env: Env,
) -> None:
    account_id = env.world.demo_account_ids[2]
    before = metrics.LIQUIDATIONS.value(("admin",))
    env.set(env.world.admin, account_id, "LiquidateImmediately")
    [call] = env.engine.calls
    assert (call.name, call.account_id, call.contracts) == ("liquidate", account_id, env.listed)
    # The status was saved before the engine ran: its admin orders pass the gate of a liquidating account.
    assert call.status is not None and call.status.admin_action is AdminAction.LIQUIDATE_IMMEDIATELY
    assert metrics.LIQUIDATIONS.value(("admin",)) == before + 1  # counted after the commit


@pytest.mark.parametrize("action", [a for a in AdminAction if a is not AdminAction.LIQUIDATE_IMMEDIATELY])
def test_set_admin_action_when_not_liquidate_then_engine_does_not_liquidate(
    env: Env, action: AdminAction
) -> None:
    env.set(env.world.admin, env.world.demo_account_ids[2], action.value)
    assert [c.name for c in env.engine.calls if c.name == "liquidate"] == []


def test_normal_when_auto_liq_layer_set_then_layer_cleared_and_rules_reevaluated_without_acting(
    env: Env,
) -> None:
    account_id = env.world.demo_account_ids[1]
    env.state.layers[account_id] = AutoLiqLayer(account_id, LayerState.LOCKED, "dailyLossAutoLiq", T0, None)
    FakeStore(env.state).add_timer(account_id, TimerKind.AUTO_LIQ_UNLOCK, T0)
    env.set(env.world.admin, account_id, "Normal")
    assert account_id not in env.state.layers
    assert [t for t in env.state.timers.values() if t.kind is TimerKind.AUTO_LIQ_UNLOCK] == []
    [call] = env.engine.calls
    assert (call.name, call.account_id, call.act) == ("evaluate", account_id, False)


def test_normal_when_no_auto_liq_layer_then_no_evaluation(env: Env) -> None:
    env.set(env.world.admin, env.world.demo_account_ids[1], "Normal")
    assert env.engine.calls == []


@pytest.mark.parametrize("action", [a for a in AdminAction if a is not AdminAction.NORMAL])
def test_other_actions_when_auto_liq_layer_set_then_layer_kept(env: Env, action: AdminAction) -> None:
    account_id = env.world.demo_account_ids[1]
    layer = AutoLiqLayer(account_id, LayerState.LOCKED, "dailyLossAutoLiq", T0, None)
    env.state.layers[account_id] = layer
    env.set(env.world.admin, account_id, action.value)
    assert env.state.layers[account_id] == layer


def test_liquidate_only_when_set_then_time_recorded_kept_on_repeat_and_normal_clears_it(env: Env) -> None:
    account_id = env.world.demo_account_ids[5]
    status = env.set(env.world.admin, account_id, "LiquidateOnlyModeImmediately")
    assert status.liquidate_only == T0
    env.clock.advance(5)
    again = env.set(env.world.admin, account_id, "LiquidateOnlyModeImmediately")
    assert again.liquidate_only == T0 and again.admin_timestamp == env.clock.now()
    env.clock.advance(5)
    normal = env.set(env.world.admin, account_id, "Normal")
    assert normal.liquidate_only is None and normal.user_triggered_liq_only is False


@pytest.mark.parametrize("code", [c.value for c in ReasonCode if c is not ReasonCode.OTHER])
def test_set_admin_action_when_code_is_not_other_then_reason_is_optional(env: Env, code: str) -> None:
    account_id = env.world.demo_account_ids[1]
    status = env.set(env.world.admin, account_id, "LockTradingImmediately", code, None)
    assert isinstance(status, RiskStatus) and status.admin_action is AdminAction.LOCK_TRADING_IMMEDIATELY
    [entry] = env.log(account_id)
    assert (entry.reason_code, entry.reason) == (ReasonCode(code), None)


def test_set_admin_action_when_reason_is_8192_non_ascii_chars_then_logged_exactly(env: Env) -> None:
    reason = ("Kontrolle 风险 🚫 " * 1000)[:8192]
    account_id = env.world.demo_account_ids[2]
    assert isinstance(env.set(env.world.admin, account_id, reason=reason), RiskStatus)
    assert env.log(account_id)[-1].reason == reason


def test_audit_when_actions_made_then_rows_with_actor_code_reason_and_time_oldest_first(env: Env) -> None:
    account_id = env.world.demo_account_ids[4]
    admin = env.world.admin
    env.set(admin, account_id, "LiquidateOnlyModeImmediately", "Other", "first")
    env.clock.advance(30)
    env.set(admin, account_id, "Normal", "CloseFraud", None)
    entries = FakeStore(env.state).log_entries(admin.organization_id, account_ids=[account_id])
    assert [(e.status.admin_action, e.reason_code, e.reason, e.actor, e.actor_user_id) for e in entries] == [
        (AdminAction.LIQUIDATE_ONLY_MODE_IMMEDIATELY, ReasonCode.OTHER, "first", Actor.USER, admin.id),
        (AdminAction.NORMAL, ReasonCode.CLOSE_FRAUD, None, Actor.USER, admin.id),
    ]
    assert [e.timestamp for e in entries] == [T0, env.clock.now()]
    assert entries[0].id < entries[1].id


def test_set_admin_action_when_account_archived_then_accepted_as_documented(env: Env) -> None:
    from dataclasses import replace

    account_id = env.world.demo_account_ids[6]
    env.state.accounts[account_id] = replace(env.state.accounts[account_id], archived=True)
    status = env.set(env.world.admin, account_id)
    assert isinstance(status, RiskStatus) and status.admin_action is AdminAction.LOCK_TRADING_IMMEDIATELY


def test_set_admin_action_when_engine_fails_then_nothing_lands_and_nothing_published(env: Env) -> None:
    """All or nothing: the status, its log row and its event go with the liquidation or not at all."""
    account_id = env.world.demo_account_ids[8]

    def failing(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("engine down")

    env.engine.liquidate = failing  # type: ignore[method-assign]
    before = env.snapshot()
    with pytest.raises(RuntimeError, match="engine down"):
        env.set(env.world.admin, account_id, "LiquidateImmediately")
    assert env.snapshot() == before and env.world.uow.commits == 0


def test_set_admin_action_when_status_missing_then_written_from_normal(env: Env) -> None:
    account_id = env.world.demo_account_ids[9]
    del env.state.statuses[account_id]
    status = env.set(env.world.admin, account_id, "LiquidateOnlyModeImmediately")
    assert status == RiskStatus(account_id).with_admin_action(AdminAction.LIQUIDATE_ONLY_MODE_IMMEDIATELY, T0)
