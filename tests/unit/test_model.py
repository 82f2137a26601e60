"""Risk status transitions and the enums' permissions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from autoliq.domain.gate import ADMIN_PERMISSIONS, Permission
from autoliq.domain.model import RiskStatus
from autoliq.domain.states import AdminAction

T0 = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


def test_new_status_when_created_then_normal_without_admin_timestamp() -> None:
    status = RiskStatus(id=5)
    assert status.admin_action is AdminAction.NORMAL
    assert status.admin_timestamp is None
    assert status.liquidate_only is None


@pytest.mark.parametrize("action", list(AdminAction))
def test_with_admin_action_when_any_action_then_stored_with_timestamp(action: AdminAction) -> None:
    status = RiskStatus(id=5).with_admin_action(action, T0)
    assert status.admin_action is action
    assert status.admin_timestamp == T0
    assert status.id == 5


def test_liquidate_only_when_entered_then_records_start_and_keeps_it_on_repeat() -> None:
    first = RiskStatus(id=1).with_admin_action(AdminAction.LIQUIDATE_ONLY_MODE_IMMEDIATELY, T0)
    again = first.with_admin_action(AdminAction.LIQUIDATE_ONLY_MODE_IMMEDIATELY, T0 + timedelta(minutes=5))
    assert first.liquidate_only == T0
    assert again.liquidate_only == T0
    assert again.admin_timestamp == T0 + timedelta(minutes=5)


def test_normal_when_set_after_liquidate_only_then_clears_liquidate_only() -> None:
    status = RiskStatus(id=1).with_admin_action(AdminAction.LIQUIDATE_ONLY_MODE_IMMEDIATELY, T0)
    cleared = status.with_admin_action(AdminAction.NORMAL, T0 + timedelta(seconds=1))
    assert cleared.liquidate_only is None
    assert cleared.admin_action is AdminAction.NORMAL


def test_lock_when_set_after_liquidate_only_then_liquidate_only_time_kept() -> None:
    status = RiskStatus(id=1).with_admin_action(AdminAction.LIQUIDATE_ONLY_MODE_IMMEDIATELY, T0)
    locked = status.with_admin_action(AdminAction.LOCK_TRADING_IMMEDIATELY, T0 + timedelta(seconds=1))
    assert locked.liquidate_only == T0


def test_permissions_when_queried_then_only_lock_and_liquidate_block_new_orders() -> None:
    # The gate's table (PRODUCT.md's effects table), the one the gate decides by.
    blocking = {a for a in AdminAction if ADMIN_PERMISSIONS[a] is Permission.NONE}
    assert blocking == {AdminAction.LOCK_TRADING_IMMEDIATELY, AdminAction.LIQUIDATE_IMMEDIATELY}
    reduce_only = {a for a in AdminAction if ADMIN_PERMISSIONS[a] is Permission.REDUCE_ONLY}
    assert reduce_only == {AdminAction.LIQUIDATE_ONLY_MODE_IMMEDIATELY}


def test_parse_when_case_differs_then_unknown() -> None:
    assert AdminAction.parse("Normal") is AdminAction.NORMAL
    assert AdminAction.parse("normal") is None
