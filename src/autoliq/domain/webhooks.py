"""Webhooks: which committed events an organization is told about, what each says, how a delivery is
signed, and how long to wait before trying a failed one again. Pure: no I/O."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from autoliq.domain.auto_liq import Level
from autoliq.domain.events import AlertRaised, Event, RiskStatusChanged, TradingEntityChanged
from autoliq.domain.states import Actor

MAX_URL = 2048
MAX_WEBHOOKS_PER_ORGANIZATION = 20
SIGNATURE_HEADER = "X-Autoliq-Signature"
EVENT_HEADER = "X-Autoliq-Event"
EVENT_ID_HEADER = "X-Autoliq-Event-Id"
REPLAY_WINDOW_SECONDS = 300
"""What receivers should accept: a signature whose timestamp is within 5 minutes of their clock."""
MAX_BACKOFF_SECONDS = 300.0


class Kind(StrEnum):
    """What a webhook can be told about."""

    BREACH = "breach"
    """A post-trade rule reached its alert or liquidate-only level."""
    AUTO_LIQUIDATION = "autoLiquidation"
    """A rule's auto-liq level liquidated and locked an account, or the flatten time came."""
    ADMIN_ACTION = "adminAction"
    """An admin changed an account's risk status (setadminautoliqaction and its siblings)."""
    LIMIT_CHANGE = "limitChange"
    """A pre-trade limit or risk parameter was created, changed or deleted."""


class Format(StrEnum):
    """The body a webhook receives."""

    JSON = "json"
    SLACK = "slack"
    """`{"text": ...}`: a Slack incoming webhook."""
    DISCORD = "discord"
    """`{"content": ...}`: a Discord webhook."""


ALL_KINDS = tuple(Kind)
_LIMIT_ENTITIES = frozenset({"userAccountPositionLimit", "userAccountRiskParameter"})


@dataclass(frozen=True, slots=True)
class Notification:
    """What one event tells one organization."""

    kind: Kind
    organization_id: int
    account_id: int
    data: dict[str, Any]
    summary: str


def notification(event: Event, organization_of: dict[int, int]) -> Notification | None:
    """What `event` tells its organization (`organization_of`: account id -> organization id, for
    events that carry only the account), or None when webhooks are not told about it."""
    if isinstance(event, AlertRaised):
        alert = event.alert
        liquidation = alert.level in (Level.AUTO_LIQ, Level.FLATTEN)
        return Notification(
            Kind.AUTO_LIQUIDATION if liquidation else Kind.BREACH,
            event.organization_id,
            alert.account_id,
            {
                "alertId": alert.id,
                "rule": alert.rule,
                "level": alert.level.value,
                "message": alert.message,
                "tradeDate": alert.trade_date.isoformat(),
            },
            f"account {alert.account_id}: {alert.level.value}: {alert.message}",
        )
    if isinstance(event, RiskStatusChanged):
        entry = event.log_entry
        if entry.actor is not Actor.USER:
            return None  # the system's own changes come as alerts (breaches, auto-liquidations)
        action = entry.status.admin_action.value
        code = None if entry.reason_code is None else entry.reason_code.value
        return Notification(
            Kind.ADMIN_ACTION,
            event.organization_id,
            event.account_id,
            {
                "adminAction": action,
                "reasonCode": code,
                "reason": entry.reason,
                "actorUserId": entry.actor_user_id,
                "logEntryId": entry.id,
            },
            f"account {event.account_id}: {action} by user {entry.actor_user_id}"
            f" ({code}: {entry.reason or ''})",
        )
    if isinstance(event, TradingEntityChanged) and event.entity_type in _LIMIT_ENTITIES:
        organization = organization_of.get(event.account_id)
        if organization is None:
            return None
        return Notification(
            Kind.LIMIT_CHANGE,
            organization,
            event.account_id,
            {"entityType": event.entity_type, "eventType": event.event_type, "entityId": event.entity_id},
            f"account {event.account_id}: {event.entity_type} {event.entity_id} {event.event_type}",
        )
    return None


def body(notice: Notification, event_id: int, occurred_at: datetime, fmt: Format) -> dict[str, Any]:
    """The JSON body a webhook of format `fmt` receives for `notice` (outbox row `event_id`)."""
    if fmt is Format.SLACK:
        return {"text": f"autoliq {notice.kind.value}: {notice.summary}"}
    if fmt is Format.DISCORD:
        return {"content": f"autoliq {notice.kind.value}: {notice.summary}"}
    return {
        "id": event_id,
        "type": notice.kind.value,
        "organizationId": notice.organization_id,
        "accountId": notice.account_id,
        "occurredAt": occurred_at.isoformat().replace("+00:00", "Z"),
        "data": notice.data,
    }


def signature(secret: str, timestamp: int, payload: bytes) -> str:
    """`X-Autoliq-Signature`: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body, keyed by the
    webhook's secret>`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str, payload: bytes, now: int, window: int = REPLAY_WINDOW_SECONDS) -> bool:
    """What a receiver checks (the SDK's and the tests' receiver): the signature, and a timestamp
    within `window` seconds of `now`."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > window:
        return False
    expected = signature(secret, timestamp, payload)
    return hmac.compare_digest(expected, header)


def backoff(failures: int, base: float) -> float:
    """Seconds before the next try after `failures` failed ones: `base`, doubling, at most 5 minutes."""
    return float(min(MAX_BACKOFF_SECONDS, base * 2.0 ** max(0, failures - 1)))


def url_problem(url: str) -> str | None:
    """Why `url` cannot be a webhook's (`url: ...`), or None."""
    if len(url) > MAX_URL:
        return f"url: at most {MAX_URL} characters"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return "url: should start with https:// (or http://)"
    if not parts.hostname:
        return "url: should name a host"
    if parts.username or parts.password:
        return "url: should not hold credentials (the signature authenticates autoliq)"
    return None
