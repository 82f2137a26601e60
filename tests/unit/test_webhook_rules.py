"""The webhooks' pure rules: what each event tells, the signature and its replay window, the backoff,
the URLs accepted."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, date, datetime

import pytest

from autoliq.domain import webhooks as rules
from autoliq.domain.auto_liq import Alert, Level
from autoliq.domain.events import AlertRaised, RiskStatusChanged, SessionsClosed, TradingEntityChanged
from autoliq.domain.model import RiskStatus, RiskStatusLogEntry
from autoliq.domain.states import Actor, AdminAction, ReasonCode

NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)


def _log(actor: Actor) -> RiskStatusChanged:
    status = RiskStatus(7, admin_action=AdminAction.LOCK_TRADING_IMMEDIATELY)
    user = 3 if actor is Actor.USER else None
    code = ReasonCode.OTHER if actor is Actor.USER else None
    entry = RiskStatusLogEntry(11, 7, NOW, status, actor, user, code, "why")
    return RiskStatusChanged(1, 7, 2, status, entry)


@pytest.mark.parametrize(
    ("level", "kind"),
    [
        (Level.ALERT, "breach"),
        (Level.LIQUIDATE_ONLY, "breach"),
        (Level.AUTO_LIQ, "autoLiquidation"),
        (Level.FLATTEN, "autoLiquidation"),
    ],
)
def test_notification_when_an_alert_then_a_breach_or_an_auto_liquidation_by_its_level(
    level: Level, kind: str
) -> None:
    alert = Alert(5, 7, NOW, date(2026, 12, 7), "dailyLossAutoLiq", level, "daily loss $500")
    notice = rules.notification(AlertRaised(1, 2, alert), {})
    assert notice is not None and (notice.kind.value, notice.organization_id, notice.account_id) == (
        kind,
        1,
        7,
    )
    assert notice.data["level"] == level.value and notice.data["message"] == "daily loss $500"


def test_notification_when_a_status_change_then_only_a_users_is_an_admin_action() -> None:
    notice = rules.notification(_log(Actor.USER), {})
    assert notice is not None and notice.kind is rules.Kind.ADMIN_ACTION
    assert notice.data == {
        "adminAction": "LockTradingImmediately", "reasonCode": "Other", "reason": "why", "actorUserId": 3,
        "logEntryId": 11,
    }  # fmt: skip
    assert rules.notification(_log(Actor.SYSTEM), {}) is None  # the system's come as alerts


def test_notification_when_a_limit_changes_then_its_organization_from_the_account() -> None:
    event = TradingEntityChanged("userAccountPositionLimit", "Deleted", 7, 42)
    notice = rules.notification(event, {7: 9})
    assert notice is not None and (notice.kind, notice.organization_id) == (rules.Kind.LIMIT_CHANGE, 9)
    assert rules.notification(event, {}) is None  # an account not found: nobody's
    assert rules.notification(TradingEntityChanged("order", "Created", 7, 1), {7: 9}) is None
    assert rules.notification(SessionsClosed((1,)), {}) is None


def test_body_when_each_format_then_json_slack_or_discord() -> None:
    notice = rules.notification(_log(Actor.USER), {})
    assert notice is not None
    plain = rules.body(notice, 99, NOW, rules.Format.JSON)
    assert plain == {
        "id": 99, "type": "adminAction", "organizationId": 1, "accountId": 7,
        "occurredAt": "2026-12-07T15:00:00Z", "data": notice.data,
    }  # fmt: skip
    assert set(rules.body(notice, 99, NOW, rules.Format.SLACK)) == {"text"}
    assert set(rules.body(notice, 99, NOW, rules.Format.DISCORD)) == {"content"}


def test_signature_when_made_then_hmac_of_timestamp_dot_body_and_verified_within_the_window() -> None:
    payload = b'{"id":1}'
    header = rules.signature("whsec_k", 1_800_000_000, payload)
    mac = hmac.new(b"whsec_k", b"1800000000." + payload, hashlib.sha256).hexdigest()
    assert header == f"t=1800000000,v1={mac}"
    assert rules.verify("whsec_k", header, payload, 1_800_000_000 + 299)
    assert not rules.verify("whsec_k", header, payload, 1_800_000_000 + 301)  # a replay
    assert not rules.verify("whsec_k", header, payload + b" ", 1_800_000_000)  # another body
    assert not rules.verify("whsec_other", header, payload, 1_800_000_000)
    assert not rules.verify("whsec_k", "v1=abc", payload, 1_800_000_000)


def test_backoff_when_failures_grow_then_doubling_up_to_five_minutes() -> None:
    assert [rules.backoff(n, 1.0) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert rules.backoff(30, 1.0) == 300.0


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://hooks.example.internal/autoliq", None),
        ("http://127.0.0.1:9000/x", None),
        ("ftp://example.internal/x", "url: should start with https:// (or http://)"),
        ("https:///path", "url: should name a host"),
        (
            "https://user:pw@example.internal/",
            "url: should not hold credentials (the signature authenticates autoliq)",
        ),
        ("https://example.internal/" + "x" * 2048, "url: at most 2048 characters"),
    ],
)
def test_url_problem_when_checked_then_http_or_https_with_a_host_and_no_credentials(
    url: str, problem: str | None
) -> None:
    assert rules.url_problem(url) == problem
