"""Post-trade risk settings (Tradovate's `UserAccountAutoLiq`): one set per account, and who may
change them.

Every limit is optional: an omitted (null) field disables that check. The settings' `id` is the
account's id, as with `accountRiskStatus` (Tradovate's entity has no `accountId`; clients find it by
`deps?masterid=<accountId>`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum
from functools import cache


class TrailingMode(StrEnum):
    """When the trailing drawdown's high-water mark moves: at the day's end, or on every change."""

    EOD = "EOD"
    REAL_TIME = "RealTime"


@dataclass(frozen=True, slots=True)
class AutoLiqSettings:
    """One account's post-trade risk settings (dollars unless the name says percentage)."""

    id: int
    changes_locked: bool = False
    margin_percentage_alert: float | None = None
    daily_loss_percentage_alert: float | None = None
    daily_loss_alert: float | None = None
    margin_percentage_liq_only: float | None = None
    daily_loss_percentage_liq_only: float | None = None
    daily_loss_liq_only: float | None = None
    margin_percentage_auto_liq: float | None = None
    daily_loss_percentage_auto_liq: float | None = None
    daily_loss_auto_liq: float | None = None
    weekly_loss_auto_liq: float | None = None
    flatten_timestamp: datetime | None = None
    trailing_max_drawdown: float | None = None
    trailing_max_drawdown_limit: float | None = None
    trailing_max_drawdown_mode: TrailingMode | None = None
    daily_profit_auto_liq: float | None = None
    weekly_profit_auto_liq: float | None = None
    do_not_unlock: bool = False


SETTING_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(AutoLiqSettings) if f.name != "id")
"""The settings' fields, in Tradovate's order (the wire names are their camelCase forms)."""
AMOUNT_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(AutoLiqSettings) if f.type == "float | None")
"""The numeric limits (dollars and percentages)."""
LOSS_PERCENTAGE_FIELDS = (
    "daily_loss_percentage_alert",
    "daily_loss_percentage_liq_only",
    "daily_loss_percentage_auto_liq",
)
PERMISSIONED_FIELDS = (
    "margin_percentage_alert",
    "daily_loss_percentage_alert",
    "daily_loss_alert",
    "margin_percentage_liq_only",
    "daily_loss_percentage_liq_only",
    "daily_loss_liq_only",
    "margin_percentage_auto_liq",
    "daily_loss_percentage_auto_liq",
    "daily_loss_auto_liq",
    "weekly_loss_auto_liq",
    "daily_profit_auto_liq",
    "weekly_profit_auto_liq",
    "changes_locked",
)
"""Tradovate's `PermissionedAccountAutoLiq`: the settings without trailing drawdown, flatten time
and doNotUnlock."""
MAX_ITEMS = 10_000
TEXT_ACCESS_DENIED = "Access is denied"
TEXT_EXISTS = "Auto-liquidation settings already exist for this account: use update"
TEXT_EMPTY_ITEMS = "Empty items"
TEXT_TOO_MANY_ITEMS = f"Only {MAX_ITEMS} accounts are allowed in single operation"
TEXT_DUPLICATE_ACCOUNT = "An account is listed more than once"


@cache
def wire_name(field: str) -> str:
    """`daily_loss_auto_liq` -> `dailyLossAutoLiq` (cached: a price tick names each breached rule)."""
    head, *rest = field.split("_")
    return head + "".join(part.capitalize() for part in rest)


def settings_error(settings: AutoLiqSettings) -> str | None:
    """The first invalid value's `errorText`, in field order, or None."""
    for name in AMOUNT_FIELDS:
        value: float | None = getattr(settings, name)
        if value is None:
            continue
        if not math.isfinite(value) or value < 0:
            return f"{wire_name(name)} should be a number greater than or equal to 0"
        if name in LOSS_PERCENTAGE_FIELDS and value > 100:
            return f"{wire_name(name)} should be less than or equal to 100"
    if settings.flatten_timestamp is not None and settings.flatten_timestamp.tzinfo is None:
        return "flattenTimestamp should include a time zone offset"
    return None


def may_change(
    *, is_admin: bool, is_owner: bool, as_owner: bool, current: AutoLiqSettings | None, new: AutoLiqSettings
) -> bool:
    """Whether a caller may replace `current` with `new`. An organization admin may always (unless it
    acts `as_owner`); the account's owner, or an admin acting as the owner, only while the settings
    are not `changesLocked`, and may not lock or unlock them."""
    if is_admin and not as_owner:
        return True
    if not (is_owner or is_admin):
        return False
    locked = current.changes_locked if current is not None else False
    return not locked and new.changes_locked == locked


TEXT_MAX_NET_LIQ = "Max Net Liq should be a number greater than or equal to 0"


def trailing_floor(max_net_liq: float, settings: AutoLiqSettings | None) -> float | None:
    """The auto-liquidation floor (`minNetLiq`) for a high-water mark: `max_net_liq` less the
    trailing max drawdown, never above `trailingMaxDrawdownLimit` when set; None without a trailing
    drawdown."""
    if settings is None or settings.trailing_max_drawdown is None:
        return None
    floor = max_net_liq - settings.trailing_max_drawdown
    limit = settings.trailing_max_drawdown_limit
    return floor if limit is None else min(floor, limit)
