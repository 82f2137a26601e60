"""/v1/accountRiskStatus and /v1/accountRiskStatusLog: Tradovate's entities and bodies.

Field names here and in every `schemas/<feature>.py` are camelCase because they are Tradovate's JSON
names, to the letter.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from autoliq.api.bounds import Int64
from autoliq.domain.model import RiskStatus, RiskStatusLogEntry


class ResetAutoLiqStatusBody(msgspec.Struct, forbid_unknown_fields=False):
    """Tradovate's `ResetAutoLiqStatus`."""

    accountId: Int64 | None = None


class OrganizationAdminUnlockAccountBody(msgspec.Struct, forbid_unknown_fields=False):
    """`organizationadminunlockaccount`'s body (`accountId`, optional `reason`)."""

    accountId: Int64 | None = None
    reason: str | None = None


class UpdateMaxNetLiqBody(msgspec.Struct, forbid_unknown_fields=False):
    """Tradovate's `UpdateMaxNetLiq`."""

    accountId: Int64 | None = None
    maxNetLiq: float | None = None


class SetAdminAutoLiqActionBody(msgspec.Struct, forbid_unknown_fields=False):
    """Tradovate's `SetAdminAutoLiqAction`. Enum fields are read as text so that an unknown value
    gets the documented `errorText` (HTTP 200), and a missing one counts as invalid."""

    accountId: Int64 | None = None
    adminAction: str | None = None
    adminActionReasonCode: str | None = None
    adminActionReason: str | None = None


MAX_BULK_ACCOUNTS = 10_000
"""The most accounts one bulk setadminautoliqaction may name."""


class SetAdminAutoLiqActionsBody(msgspec.Struct, forbid_unknown_fields=False):
    """autoliq's bulk setadminautoliqaction (`POST /_autoliq/bulk/setadminautoliqaction`): Tradovate's
    `SetAdminAutoLiqAction` with `accountIds` (1 to 10,000 distinct ids) instead of `accountId`."""

    accountIds: Annotated[
        list[Int64], msgspec.Meta(min_length=1, max_length=MAX_BULK_ACCOUNTS, description="distinct ids")
    ]
    adminAction: str | None = None
    adminActionReasonCode: str | None = None
    adminActionReason: str | None = None


class AccountRiskStatusOut(msgspec.Struct, omit_defaults=True):
    """Tradovate's `AccountRiskStatus` (absent values are omitted, never null)."""

    id: int
    adminAction: str
    userTriggeredLiqOnly: bool
    adminTimestamp: datetime | None = None
    liquidateOnly: datetime | None = None
    maxNetLiq: float | None = None
    minNetLiq: float | None = None


class AccountRiskStatusResponse(msgspec.Struct, omit_defaults=True):
    """Tradovate's `AccountRiskStatusResponse`."""

    errorText: str | None = None
    accountRiskStatus: AccountRiskStatusOut | None = None


class BulkAccountResult(msgspec.Struct, omit_defaults=True):
    """One account's answer in a bulk setadminautoliqaction: `httpStatus` is the status the single
    route would have answered for it, with that answer's `errorText` or `accountRiskStatus`."""

    accountId: int
    httpStatus: int
    errorText: str | None = None
    accountRiskStatus: AccountRiskStatusOut | None = None


class SetAdminAutoLiqActionsResponse(msgspec.Struct):
    """A bulk setadminautoliqaction's answer: one result per account, in the request's order."""

    results: list[BulkAccountResult]


class AccountRiskStatusLogOut(msgspec.Struct, omit_defaults=True):
    """Tradovate's `accountRiskStatusLog` entity."""

    id: int
    accountId: int
    timestamp: datetime
    adminAction: str
    userTriggeredLiqOnly: bool
    adminTimestamp: datetime | None = None
    liquidateOnly: datetime | None = None
    maxNetLiq: float | None = None
    minNetLiq: float | None = None


# -- mapping --


def risk_status_out(status: RiskStatus) -> AccountRiskStatusOut:
    """The wire form of a risk status."""
    return AccountRiskStatusOut(
        id=status.id,
        adminAction=status.admin_action.value,
        userTriggeredLiqOnly=status.user_triggered_liq_only,
        adminTimestamp=status.admin_timestamp,
        liquidateOnly=status.liquidate_only,
        maxNetLiq=status.max_net_liq,
        minNetLiq=status.min_net_liq,
    )


def log_entry_out(entry: RiskStatusLogEntry) -> AccountRiskStatusLogOut:
    """The wire form of a log row."""
    s = entry.status
    return AccountRiskStatusLogOut(
        id=entry.id,
        accountId=entry.account_id,
        timestamp=entry.timestamp,
        adminAction=s.admin_action.value,
        userTriggeredLiqOnly=s.user_triggered_liq_only,
        adminTimestamp=s.admin_timestamp,
        liquidateOnly=s.liquidate_only,
        maxNetLiq=s.max_net_liq,
        minNetLiq=s.min_net_liq,
    )
