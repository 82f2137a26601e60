"""Wire shapes of `/v1/userAccountAutoLiq`: Tradovate's `UserAccountAutoLiq`, `UpdateUserAutoLiq(s)`,
`PermissionedAccountAutoLiq` and their responses (field names exactly as in its OpenAPI)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec

from autoliq.api.bounds import Int64
from autoliq.domain.post_trade import (
    PERMISSIONED_FIELDS,
    SETTING_FIELDS,
    AutoLiqSettings,
    TrailingMode,
    wire_name,
)


class AutoLiqFields(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=False):
    """The settings' fields, every one optional (null or absent: that check is off)."""

    changesLocked: bool | None = None
    marginPercentageAlert: float | None = None
    dailyLossPercentageAlert: float | None = None
    dailyLossAlert: float | None = None
    marginPercentageLiqOnly: float | None = None
    dailyLossPercentageLiqOnly: float | None = None
    dailyLossLiqOnly: float | None = None
    marginPercentageAutoLiq: float | None = None
    dailyLossPercentageAutoLiq: float | None = None
    dailyLossAutoLiq: float | None = None
    weeklyLossAutoLiq: float | None = None
    flattenTimestamp: datetime | None = None
    trailingMaxDrawdown: float | None = None
    trailingMaxDrawdownLimit: float | None = None
    trailingMaxDrawdownMode: Literal["EOD", "RealTime"] | None = None
    dailyProfitAutoLiq: float | None = None
    weeklyProfitAutoLiq: float | None = None
    doNotUnlock: bool | None = None


class UserAccountAutoLiqIO(AutoLiqFields):
    """Tradovate's `UserAccountAutoLiq` (create/update body and every answer); `id` = account id."""

    id: Int64 | None = None


class UpdateUserAutoLiqBody(AutoLiqFields):
    """Tradovate's `UpdateUserAutoLiq` / `UpdateUserAutoLiqItem`."""

    accountId: Int64 | None = None
    asOwner: bool | None = None


class UpdateUserAutoLiqsBody(msgspec.Struct, forbid_unknown_fields=False):
    """Tradovate's `UpdateUserAutoLiqs`."""

    items: list[UpdateUserAutoLiqBody]


class PermissionedAccountAutoLiqOut(msgspec.Struct, omit_defaults=True):
    """Tradovate's `PermissionedAccountAutoLiq`: the settings without trailing drawdown, flatten time
    and doNotUnlock."""

    id: int
    marginPercentageAlert: float | None = None
    dailyLossPercentageAlert: float | None = None
    dailyLossAlert: float | None = None
    marginPercentageLiqOnly: float | None = None
    dailyLossPercentageLiqOnly: float | None = None
    dailyLossLiqOnly: float | None = None
    marginPercentageAutoLiq: float | None = None
    dailyLossPercentageAutoLiq: float | None = None
    dailyLossAutoLiq: float | None = None
    weeklyLossAutoLiq: float | None = None
    dailyProfitAutoLiq: float | None = None
    weeklyProfitAutoLiq: float | None = None
    changesLocked: bool | None = None


class UpdateUserAutoLiqResponseOut(msgspec.Struct, omit_defaults=True):
    """Tradovate's `UpdateUserAutoLiqResponse`."""

    errorText: str | None = None
    userAccountAutoLiq: UserAccountAutoLiqIO | None = None
    permissionedAccountAutoLiq: PermissionedAccountAutoLiqOut | None = None


class UpdateUserAutoLiqItemOut(msgspec.Struct, omit_defaults=True):
    """Tradovate's `UpdateUserAutoLiqItemResponse`."""

    userAccountAutoLiq: UserAccountAutoLiqIO | None = None
    permissionedAccountAutoLiq: PermissionedAccountAutoLiqOut | None = None


class UpdateUserAutoLiqsResponseOut(msgspec.Struct, omit_defaults=True):
    """Tradovate's `UpdateUserAutoLiqsResponse` (`userAutoLiqs` always present)."""

    userAutoLiqs: list[UpdateUserAutoLiqItemOut]
    errorText: str | None = None


def settings_in(body: AutoLiqFields, account_id: int) -> AutoLiqSettings:
    """The domain settings of a body, for account `account_id`."""
    values: dict[str, Any] = {name: getattr(body, wire_name(name)) for name in SETTING_FIELDS}
    values["changes_locked"] = bool(values["changes_locked"])
    values["do_not_unlock"] = bool(values["do_not_unlock"])
    mode = values["trailing_max_drawdown_mode"]
    values["trailing_max_drawdown_mode"] = None if mode is None else TrailingMode(mode)
    return AutoLiqSettings(id=account_id, **values)


def settings_out(settings: AutoLiqSettings) -> UserAccountAutoLiqIO:
    """The wire form of an account's settings (null limits left out)."""
    values: dict[str, Any] = {wire_name(name): getattr(settings, name) for name in SETTING_FIELDS}
    mode = settings.trailing_max_drawdown_mode
    values["trailingMaxDrawdownMode"] = None if mode is None else mode.value
    return UserAccountAutoLiqIO(id=settings.id, **values)


def permissioned_out(settings: AutoLiqSettings) -> PermissionedAccountAutoLiqOut:
    """The `PermissionedAccountAutoLiq` view of an account's settings."""
    values = {wire_name(name): getattr(settings, name) for name in PERMISSIONED_FIELDS}
    return PermissionedAccountAutoLiqOut(id=settings.id, **values)
