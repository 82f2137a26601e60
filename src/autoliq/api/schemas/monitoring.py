"""/_autoliq/audit, /_autoliq/alerts and /_autoliq/autoLiqStatus: an account's audit trail, its
post-trade alerts and its auto-liq layer."""

from __future__ import annotations

from datetime import date, datetime

import msgspec

from autoliq.domain.auto_liq import Alert, AutoLiqLayer
from autoliq.domain.model import RiskStatusLogEntry


class AuditEntryOut(msgspec.Struct):
    """One audit row, richer than Tradovate's log: who, with which reason code and text."""

    id: int
    accountId: int
    timestamp: datetime
    adminAction: str
    actor: str
    actorUserId: int | None
    reasonCode: str | None
    reason: str | None


class AuditOut(msgspec.Struct):
    """`GET /_autoliq/audit?accountId=`: the account's whole trail, oldest first."""

    accountId: int
    entries: list[AuditEntryOut]


class AlertOut(msgspec.Struct):
    """`GET /_autoliq/alerts`: a post-trade rule reached its limit (or the flatten time came)."""

    id: int
    accountId: int
    timestamp: datetime
    tradeDate: date
    rule: str
    """The rule's settings field (`dailyLossAutoLiq`), or `flattenTimestamp`."""
    level: str
    """`Alert`, `LiquidateOnly`, `AutoLiq` or `Flatten`."""
    message: str


def alert_out(alert: Alert) -> AlertOut:
    """The wire form of an alert."""
    return AlertOut(
        id=alert.id,
        accountId=alert.account_id,
        timestamp=alert.timestamp,
        tradeDate=alert.trade_date,
        rule=alert.rule,
        level=alert.level.value,
        message=alert.message,
    )


class AutoLiqLayerOut(msgspec.Struct, omit_defaults=True):
    """`GET /_autoliq/autoLiqStatus`: the auto-liq layer of an account (`state` `Normal` when clear)."""

    accountId: int
    state: str
    """`Normal`, `LiquidateOnly` or `Locked`."""
    rule: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    """When the lock ends by itself; absent with `doNotUnlock` (or when clear)."""


def auto_liq_layer_out(account_id: int, layer: AutoLiqLayer | None) -> AutoLiqLayerOut:
    """The wire form of an account's auto-liq layer."""
    if layer is None:
        return AutoLiqLayerOut(accountId=account_id, state="Normal")
    return AutoLiqLayerOut(
        accountId=account_id, state=layer.state.value, rule=layer.rule, since=layer.since, until=layer.until
    )


def audit_entry_out(entry: RiskStatusLogEntry) -> AuditEntryOut:
    """Our richer audit view of a log row."""
    return AuditEntryOut(
        id=entry.id,
        accountId=entry.account_id,
        timestamp=entry.timestamp,
        adminAction=entry.status.admin_action.value,
        actor=entry.actor.value,
        actorUserId=entry.actor_user_id,
        reasonCode=entry.reason_code.value if entry.reason_code else None,
        reason=entry.reason,
    )
