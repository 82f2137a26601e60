"""Timers of the risk layer: what is due when, and what firing one does to a status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from autoliq.domain.model import RiskStatus
from autoliq.domain.states import AdminAction

HOLD = timedelta(seconds=60)
"""How long `PlaceAutoLiqOnHold` and `AgreedOnLiqOnlyModeByAutoLiq` last before `Normal` returns."""
EXPIRING_ACTIONS = frozenset(
    {AdminAction.PLACE_AUTO_LIQ_ON_HOLD, AdminAction.AGREED_ON_LIQ_ONLY_MODE_BY_AUTO_LIQ}
)


class TimerKind(StrEnum):
    """What a timer does when it fires."""

    ADMIN_ACTION_EXPIRY = "AdminActionExpiry"
    """An internal admin action's 60 s are over: back to `Normal` (actor `system`)."""
    AUTO_LIQ_UNLOCK = "AutoLiqUnlock"
    """A breached rule's lock ends (the next market open, or Sunday's): the auto-liq layer clears."""
    FLATTEN = "Flatten"
    """`flattenTimestamp` came: cancel the working orders and flatten, once."""


@dataclass(frozen=True, slots=True)
class Timer:
    """A stored timer."""

    id: int
    account_id: int
    kind: TimerKind
    due_at: datetime
    admin_action: AdminAction | None = None
    """For an expiry: the action that expires."""
    set_at: datetime | None = None
    """For an expiry: the `adminTimestamp` of the action that expires."""


def expired_status(timer: Timer, status: RiskStatus) -> RiskStatus | None:
    """The status after an expiry timer fires, or None when it no longer applies (the action was
    changed since, even to the same value again: then a newer timer stands for it)."""
    if status.admin_action is not timer.admin_action or status.admin_timestamp != timer.set_at:
        return None
    return status.with_admin_action(AdminAction.NORMAL, timer.due_at)


def expiry_reason(action: AdminAction) -> str:
    """The audit log's reason text for an expiry."""
    return f"{action.value} expired after {int(HOLD.total_seconds())} s"
