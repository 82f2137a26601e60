"""Post-trade rules, driven only through the public API and the sandbox's price and clock controls:
each breach is detected on the price that causes it, positions are flat, the account is locked, the
log and the alert say why; the lock ends at the next market open (Sunday's for weekly rules), or not
with `doNotUnlock` until `Normal`.

The clock starts on Tuesday 2026-11-24 at 15:00 UTC (09:00 in Chicago). The next market open is
Tuesday 17:00 CT = 23:00 UTC; Sunday's is 2026-11-29 23:00 UTC. One ES point is $50; a new demo
account has $50,000.
"""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from autoliq.bootstrap import Services
from autoliq.domain.events import AlertRaised
from tests.conftest import ADMIN_PW, TRADER_PW, World, bearer, login
from tests.contract import validate_response
from tests.helpers import action_body, event_queue

H = dict[str, str]
NEXT_OPEN = "2026-11-24T23:00:00Z"
SUNDAY_OPEN = "2026-11-29T23:00:00Z"


# -- the public API, as a client uses it --
def settings(client: TestClient[Any], admin: H, account: int, **fields: Any) -> None:
    r = client.post("/v1/userAccountAutoLiq/create", json={"id": account, **fields}, headers=admin)
    assert r.status_code == 200, r.text


def price(client: TestClient[Any], admin: H, value: float, symbol: str = "ESZ6") -> None:
    r = client.post("/_autoliq/prices", json={"prices": [{"symbol": symbol, "price": value}]}, headers=admin)
    assert r.status_code == 200, r.text


def order(client: TestClient[Any], headers: H, account: int, action: str, qty: int) -> dict[str, Any]:
    body = {"accountId": account, "action": action, "symbol": "ESZ6", "orderQty": qty, "orderType": "Market"}
    r = client.post("/v1/order/placeorder", json=body, headers=headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


def net(client: TestClient[Any], headers: H, account: int) -> int:
    r = client.get("/v1/position/deps", params={"masterid": account}, headers=headers)
    assert r.status_code == 200, r.text
    return sum(p["netPos"] for p in r.json())


def layer(client: TestClient[Any], headers: H, account: int) -> dict[str, Any]:
    r = client.get("/_autoliq/autoLiqStatus", params={"accountId": account}, headers=headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


def alerts(client: TestClient[Any], headers: H, account: int) -> list[dict[str, Any]]:
    r = client.get("/_autoliq/alerts", params={"accountId": account}, headers=headers)
    assert r.status_code == 200, r.text
    return list(r.json())


def audit(client: TestClient[Any], headers: H, account: int) -> list[dict[str, Any]]:
    r = client.get("/_autoliq/audit", params={"accountId": account}, headers=headers)
    assert r.status_code == 200, r.text
    return list(r.json()["entries"])


def status(client: TestClient[Any], headers: H, account: int) -> dict[str, Any]:
    r = client.get("/v1/accountRiskStatus/item", params={"id": account}, headers=headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


def clock_to(client: TestClient[Any], admin: H, when: str, trader: H) -> None:
    """Move the sandbox clock; then log both users in again (tokens live 90 minutes of its time)."""
    r = client.post("/_autoliq/clock", json={"now": when}, headers=admin)
    assert r.status_code == 200, r.text
    admin.update(bearer(login(client, "admin", ADMIN_PW)))
    trader.update(bearer(login(client, "trader", TRADER_PW)))


def working(client: TestClient[Any], headers: H, account: int) -> list[dict[str, Any]]:
    r = client.get("/v1/order/deps", params={"masterid": account}, headers=headers)
    assert r.status_code == 200, r.text
    return [o for o in r.json() if o["ordStatus"] == "Working"]


# (rule, its limit, the price path: every price but the last stays inside the limit, the last
# reaches it; when the lock ends by itself). Long 2 ES from 5000: one point is $100.
LOSS_PATH = (4995.25, 4990.0)  # -$475, then -$1,000
PROFIT_PATH = (5004.75, 5010.0)  # +$475, then +$1,000
RULES = [
    ("dailyLossAutoLiq", 1000, LOSS_PATH, NEXT_OPEN),
    ("dailyLossPercentageAutoLiq", 2, LOSS_PATH, NEXT_OPEN),  # 2 % of $50,000
    ("weeklyLossAutoLiq", 1000, LOSS_PATH, SUNDAY_OPEN),
    ("dailyProfitAutoLiq", 1000, PROFIT_PATH, NEXT_OPEN),
    ("weeklyProfitAutoLiq", 1000, PROFIT_PATH, SUNDAY_OPEN),
    # 2 ES need $26,000 of margin: 52.5 % of $49,525, 53.06 % of $49,000.
    ("marginPercentageAutoLiq", 53, LOSS_PATH, NEXT_OPEN),
]


@pytest.mark.parametrize(("rule", "limit", "path", "unlocks_at"), RULES)
def test_auto_liq_rule_when_price_reaches_the_limit_then_flat_locked_logged_alerted_until_the_open(
    client: TestClient[Any],
    admin_headers: H,
    trader_headers: H,
    world: World,
    rule: str,
    limit: float,
    path: tuple[float, float],
    unlocks_at: str,
) -> None:
    a = world.demo_account_ids[0]
    settings(client, admin_headers, a, **{rule: limit})
    price(client, admin_headers, 5000)
    assert order(client, trader_headers, a, "Buy", 2).get("orderId")
    # A resting order that the liquidation must cancel.
    body = {
        "accountId": a,
        "action": "Buy",
        "symbol": "ESZ6",
        "orderQty": 1,
        "orderType": "Limit",
        "price": 4000,
    }
    assert client.post("/v1/order/placeorder", json=body, headers=trader_headers).json().get("orderId")
    *inside, breaching = path
    for p in inside:
        price(client, admin_headers, p)
        assert net(client, trader_headers, a) == 2 and layer(client, trader_headers, a)["state"] == "Normal"
    assert alerts(client, trader_headers, a) == []

    price(client, admin_headers, breaching)  # the price that causes the breach

    assert net(client, trader_headers, a) == 0
    assert working(client, trader_headers, a) == []
    now = layer(client, trader_headers, a)
    assert (now["state"], now["rule"], now["until"]) == ("Locked", rule, unlocks_at)
    [alert] = alerts(client, trader_headers, a)
    assert (alert["rule"], alert["level"]) == (rule, "AutoLiq") and rule in alert["message"]
    last = audit(client, admin_headers, a)[-1]
    assert last["actor"] == "system" and last["reason"].startswith(f"{rule}:")
    assert "liquidated and locked" in last["reason"]
    refused = order(client, trader_headers, a, "Buy", 1)
    assert refused["failureReason"] == "TradingLocked" and "auto-liquidation" in refused["failureText"]
    # The admin layer is untouched: the lock is the auto-liq layer's.
    assert status(client, admin_headers, a)["adminAction"] == "Normal"

    # Locked until the unlock time, not a microsecond less; then trading resumes.
    if unlocks_at == SUNDAY_OPEN:
        clock_to(client, admin_headers, NEXT_OPEN, trader_headers)
        assert layer(client, trader_headers, a)["state"] == "Locked"
    clock_to(client, admin_headers, unlocks_at.replace("T23:00:00", "T22:59:59"), trader_headers)
    assert layer(client, trader_headers, a)["state"] == "Locked"
    clock_to(client, admin_headers, unlocks_at, trader_headers)
    assert layer(client, trader_headers, a)["state"] == "Normal"
    ended = audit(client, admin_headers, a)[-1]
    assert ended["actor"] == "system" and "ended at the market open" in ended["reason"]
    assert order(client, trader_headers, a, "Buy", 1).get("orderId")


def test_auto_liq_when_do_not_unlock_then_locked_past_the_open_until_normal(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    a = world.demo_account_ids[1]
    settings(client, admin_headers, a, dailyLossAutoLiq=1000, doNotUnlock=True)
    price(client, admin_headers, 5000)
    order(client, trader_headers, a, "Buy", 2)
    price(client, admin_headers, 4990)
    assert layer(client, trader_headers, a) == {
        "accountId": a,
        "state": "Locked",
        "rule": "dailyLossAutoLiq",
        "since": "2026-11-24T15:00:00Z",
    }  # no `until`
    clock_to(client, admin_headers, SUNDAY_OPEN, trader_headers)
    clock_to(client, admin_headers, "2026-12-01T23:00:00Z", trader_headers)
    assert layer(client, trader_headers, a)["state"] == "Locked"
    assert order(client, trader_headers, a, "Buy", 1)["failureReason"] == "TradingLocked"
    body = action_body(a, "Normal")
    r = client.post("/v1/accountRiskStatus/setadminautoliqaction", json=body, headers=admin_headers)
    assert r.status_code == 200 and r.json()["accountRiskStatus"]["adminAction"] == "Normal"
    assert layer(client, trader_headers, a)["state"] == "Normal"
    assert order(client, trader_headers, a, "Buy", 1).get("orderId")


@pytest.mark.parametrize(
    ("rule", "limit"),
    [("dailyLossLiqOnly", 1000), ("dailyLossPercentageLiqOnly", 2), ("marginPercentageLiqOnly", 53)],
)
def test_liq_only_rule_when_reached_then_liquidate_only_positions_kept_until_the_open(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World, rule: str, limit: float
) -> None:
    a = world.demo_account_ids[2]
    settings(client, admin_headers, a, **{rule: limit})
    price(client, admin_headers, 5000)
    order(client, trader_headers, a, "Buy", 2)
    price(client, admin_headers, 4995.25)
    assert layer(client, trader_headers, a)["state"] == "Normal"
    assert status(client, admin_headers, a).get("liquidateOnly") is None
    price(client, admin_headers, 4990)
    assert net(client, trader_headers, a) == 2  # kept
    assert (layer(client, trader_headers, a)["state"], layer(client, trader_headers, a)["rule"]) == (
        "LiquidateOnly",
        rule,
    )
    assert status(client, admin_headers, a)["liquidateOnly"] == "2026-11-24T15:00:00Z"
    increasing = order(client, trader_headers, a, "Buy", 1)
    assert (
        increasing["failureReason"] == "LiquidationOnly" and "auto-liquidation" in increasing["failureText"]
    )
    assert order(client, trader_headers, a, "Sell", 1).get("orderId")  # reducing
    assert net(client, trader_headers, a) == 1
    [alert] = alerts(client, trader_headers, a)
    assert (alert["rule"], alert["level"]) == (rule, "LiquidateOnly")
    clock_to(client, admin_headers, NEXT_OPEN, trader_headers)
    assert layer(client, trader_headers, a)["state"] == "Normal"
    assert status(client, admin_headers, a).get("liquidateOnly") is None
    assert order(client, trader_headers, a, "Buy", 1).get("orderId")


@pytest.mark.parametrize(
    ("rule", "limit"),
    [("dailyLossAlert", 400), ("dailyLossPercentageAlert", 0.8), ("marginPercentageAlert", 52.4)],
)
def test_alert_rule_when_reached_then_one_alert_per_day_and_trading_goes_on(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World, rule: str, limit: float
) -> None:
    a = world.demo_account_ids[3]
    settings(client, admin_headers, a, **{rule: limit})
    price(client, admin_headers, 5000)
    order(client, trader_headers, a, "Buy", 2)
    price(client, admin_headers, 4998.25)  # -$175: 0.35 %, margin 52.18 %
    assert alerts(client, trader_headers, a) == []
    price(client, admin_headers, 4995.25)  # -$475: 0.95 %, margin 52.5 %
    price(client, admin_headers, 4994)  # further: no second alert the same day
    [alert] = alerts(client, admin_headers, a)
    assert (alert["rule"], alert["level"], alert["tradeDate"]) == (rule, "Alert", "2026-11-24")
    assert layer(client, trader_headers, a)["state"] == "Normal"
    assert net(client, trader_headers, a) == 2 and order(client, trader_headers, a, "Buy", 1).get("orderId")


def test_breach_when_caused_by_a_fill_then_detected_on_that_fill(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    """A realized loss counts as soon as it is booked: the closing fill that realizes it trips the rule."""
    a = world.demo_account_ids[4]
    price(client, admin_headers, 5000)
    order(client, trader_headers, a, "Buy", 2)
    price(client, admin_headers, 4992)  # -$800 open: no settings yet, nothing to evaluate
    settings(client, admin_headers, a, dailyLossAutoLiq=900, dailyLossAlert=700)
    assert [x["rule"] for x in alerts(client, admin_headers, a)] == ["dailyLossAlert"]  # on the settings
    price(client, admin_headers, 4991)  # -$900 open: reached on the price
    assert layer(client, trader_headers, a)["state"] == "Locked" and net(client, trader_headers, a) == 0


def test_auto_liq_when_on_hold_then_not_liquidated_but_alerted(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    a = world.demo_account_ids[5]
    settings(client, admin_headers, a, dailyLossAutoLiq=1000, dailyLossAlert=500)
    price(client, admin_headers, 5000)
    order(client, trader_headers, a, "Buy", 2)
    body = action_body(a, "PlaceAutoLiqOnHold")
    r = client.post("/v1/accountRiskStatus/setadminautoliqaction", json=body, headers=admin_headers)
    assert r.json()["accountRiskStatus"]["adminAction"] == "PlaceAutoLiqOnHold"
    price(client, admin_headers, 4990)
    assert net(client, trader_headers, a) == 2 and layer(client, trader_headers, a)["state"] == "Normal"
    assert [x["level"] for x in alerts(client, admin_headers, a)] == ["Alert"]
    # The hold ends after 60 s; the next price change finds the breach and acts.
    clock_to(client, admin_headers, "2026-11-24T15:01:00Z", trader_headers)
    price(client, admin_headers, 4989.75)
    assert net(client, trader_headers, a) == 0 and layer(client, trader_headers, a)["state"] == "Locked"


def test_flatten_timestamp_when_reached_then_flat_once_and_not_locked(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    a = world.demo_account_ids[6]
    settings(client, admin_headers, a, flattenTimestamp="2026-11-24T15:30:00Z")
    price(client, admin_headers, 5000)
    order(client, trader_headers, a, "Buy", 2)
    clock_to(client, admin_headers, "2026-11-24T15:29:59Z", trader_headers)
    assert net(client, trader_headers, a) == 2
    clock_to(client, admin_headers, "2026-11-24T15:30:00Z", trader_headers)
    assert net(client, trader_headers, a) == 0
    [alert] = alerts(client, admin_headers, a)
    assert (alert["rule"], alert["level"]) == ("flattenTimestamp", "Flatten")
    assert layer(client, trader_headers, a)["state"] == "Normal"
    # One-shot: the trader may trade again, and nothing flattens it a second time.
    assert order(client, trader_headers, a, "Buy", 1).get("orderId")
    clock_to(client, admin_headers, "2026-11-25T15:30:00Z", trader_headers)
    assert net(client, trader_headers, a) == 1 and len(alerts(client, admin_headers, a)) == 1


def test_reset_auto_liq_status_when_locked_then_clear_and_logged(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    a = world.demo_account_ids[7]
    settings(client, admin_headers, a, dailyLossAutoLiq=1000)
    price(client, admin_headers, 5000)
    order(client, trader_headers, a, "Buy", 2)
    price(client, admin_headers, 4990)
    assert layer(client, trader_headers, a)["state"] == "Locked"
    path = "/v1/accountRiskStatus/resetautoliqstatus"
    assert client.post(path, json={"accountId": a}, headers=trader_headers).status_code == 401
    r = client.post(path, json={"accountId": a}, headers=admin_headers)
    assert r.status_code == 200 and r.json()["accountRiskStatus"]["adminAction"] == "Normal"
    validate_response("POST", "/v1/accountRiskStatus/resetautoliqstatus", r.json())
    assert layer(client, trader_headers, a)["state"] == "Normal"
    last = audit(client, admin_headers, a)[-1]
    assert (last["actor"], last["reason"]) == ("user", "Auto-liq status reset")
    # The unlock timer of the cleared lock does nothing when it comes.
    clock_to(client, admin_headers, NEXT_OPEN, trader_headers)
    assert audit(client, admin_headers, a)[-1] == last


def test_organization_admin_unlock_when_admin_lock_and_auto_liq_lock_then_both_clear(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    a = world.demo_account_ids[8]
    settings(client, admin_headers, a, dailyLossAutoLiq=1000)
    price(client, admin_headers, 5000)
    order(client, trader_headers, a, "Buy", 2)
    price(client, admin_headers, 4990)
    body = action_body(a, "LockTradingImmediately")
    r = client.post("/v1/accountRiskStatus/setadminautoliqaction", json=body, headers=admin_headers)
    assert r.json()["accountRiskStatus"]["adminAction"] == "LockTradingImmediately"
    path = "/v1/accountRiskStatus/organizationadminunlockaccount"
    r = client.post(path, json={"accountId": a, "reason": "x" * 8193}, headers=admin_headers)
    assert r.json() == {"errorText": "Admin Action Reason should be no longer than 8192"}
    validate_response("POST", "/v1/accountRiskStatus/organizationadminunlockaccount", r.json())
    r = client.post(path, json={"accountId": a, "reason": "cleared by risk desk"}, headers=admin_headers)
    assert r.status_code == 200 and r.json()["accountRiskStatus"]["adminAction"] == "Normal"
    validate_response("POST", "/v1/accountRiskStatus/organizationadminunlockaccount", r.json())
    assert layer(client, trader_headers, a)["state"] == "Normal"
    assert audit(client, admin_headers, a)[-1]["reason"] == "cleared by risk desk"
    assert order(client, trader_headers, a, "Buy", 1).get("orderId")


@pytest.mark.parametrize("path", ["resetautoliqstatus", "organizationadminunlockaccount"])
def test_unlock_siblings_when_bad_account_then_documented_errors(
    client: TestClient[Any], admin_headers: H, other_admin_headers: H, world: World, path: str
) -> None:
    url = f"/v1/accountRiskStatus/{path}"
    assert client.post(url, json={"accountId": 0}, headers=admin_headers).json() == {
        "errorText": "Account Id should be greater than 0"
    }
    assert client.post(url, json={}, headers=admin_headers).json() == {
        "errorText": "Account Id should be greater than 0"
    }
    # Another firm's account: 404, exactly as an account that does not exist (risk_status._administered).
    theirs = client.post(url, json={"accountId": world.demo_account_ids[0]}, headers=other_admin_headers)
    assert (theirs.status_code, theirs.json()) == (404, {"errorText": "Not found"})
    unknown = client.post(url, json={"accountId": 987_654}, headers=admin_headers)
    assert (unknown.status_code, unknown.json()) == (404, {"errorText": "Not found"})
    anonymous = client.post(url, json={"accountId": 1})
    assert (anonymous.status_code, anonymous.json()) == (401, {"errorText": "Access is denied"})


def marks(client: TestClient[Any], admin: H, account: int) -> tuple[float, float]:
    s = status(client, admin, account)
    return s["maxNetLiq"], s["minNetLiq"]


def test_trailing_drawdown_when_same_price_path_then_real_time_breaches_and_eod_waits_for_the_day_end(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    """One ES long from 5000 ($50 a point), drawdown $1,000; prices 5020 (+$1,000) then 5000.
    RealTime raises the mark at 5020, so 5000 is at the floor; EOD raises it only when the day
    ends, so the same 5000 is $1,000 above the floor, and breaches only after the day end."""
    real_time, eod = world.demo_account_ids[0], world.demo_account_ids[1]
    for account, mode in ((real_time, "RealTime"), (eod, "EOD")):
        settings(client, admin_headers, account, trailingMaxDrawdown=1000, trailingMaxDrawdownMode=mode)
        assert marks(client, admin_headers, account) == (50_000, 49_000)  # set from the balance
    price(client, admin_headers, 5000)
    for account in (real_time, eod):
        assert order(client, trader_headers, account, "Buy", 1).get("orderId")

    price(client, admin_headers, 5020)
    assert marks(client, admin_headers, real_time) == (51_000, 50_000)
    assert marks(client, admin_headers, eod) == (50_000, 49_000)
    price(client, admin_headers, 5000)
    assert net(client, trader_headers, real_time) == 0
    assert layer(client, trader_headers, real_time)["rule"] == "trailingMaxDrawdown"
    [alert] = alerts(client, admin_headers, real_time)
    assert "floor (minNetLiq) $50,000.00" in alert["message"]
    assert net(client, trader_headers, eod) == 1 and layer(client, trader_headers, eod)["state"] == "Normal"

    # The EOD account's mark moves when the trade date ends (17:00 Chicago), to the net liq then.
    price(client, admin_headers, 5020)
    assert marks(client, admin_headers, eod) == (50_000, 49_000)
    clock_to(client, admin_headers, "2026-11-24T22:59:59Z", trader_headers)
    assert marks(client, admin_headers, eod) == (50_000, 49_000)
    clock_to(client, admin_headers, NEXT_OPEN, trader_headers)
    assert marks(client, admin_headers, eod) == (51_000, 50_000)
    price(client, admin_headers, 5000.25)
    assert net(client, trader_headers, eod) == 1
    price(client, admin_headers, 5000)
    assert net(client, trader_headers, eod) == 0
    assert layer(client, trader_headers, eod)["rule"] == "trailingMaxDrawdown"


def test_trailing_drawdown_when_floor_reaches_the_limit_then_stops_and_updatemaxnetliq_moves_it(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    a = world.demo_account_ids[2]
    settings(
        client,
        admin_headers,
        a,
        trailingMaxDrawdown=1000,
        trailingMaxDrawdownLimit=50_500,
        trailingMaxDrawdownMode="RealTime",
    )
    price(client, admin_headers, 5000)
    order(client, trader_headers, a, "Buy", 1)
    price(client, admin_headers, 5040)  # net liq 52,000: the floor would be 51,000, the limit caps it
    assert marks(client, admin_headers, a) == (52_000, 50_500)
    price(client, admin_headers, 5011)  # 50,550: above the capped floor
    assert net(client, trader_headers, a) == 1
    # An admin moves the mark down: the floor follows, 50,000.
    r = client.post(
        "/v1/accountRiskStatus/updatemaxnetliq",
        json={"accountId": a, "maxNetLiq": 51_000},
        headers=admin_headers,
    )
    assert r.json()["accountRiskStatus"]["minNetLiq"] == 50_000
    price(client, admin_headers, 5010)  # 50,500: at the old floor, above the new one
    assert net(client, trader_headers, a) == 1 and layer(client, trader_headers, a)["state"] == "Normal"
    price(client, admin_headers, 5000)  # 50,000: the new floor
    assert net(client, trader_headers, a) == 0 and layer(client, trader_headers, a)["state"] == "Locked"


def test_settings_when_trailing_drawdown_changed_then_the_floor_is_recomputed(
    client: TestClient[Any], admin_headers: H, world: World
) -> None:
    a = world.demo_account_ids[3]
    settings(client, admin_headers, a, trailingMaxDrawdown=1000)
    assert marks(client, admin_headers, a) == (50_000, 49_000)
    r = client.post(
        "/v1/userAccountAutoLiq/update", json={"id": a, "trailingMaxDrawdown": 2500}, headers=admin_headers
    )
    assert r.status_code == 200, r.text
    assert marks(client, admin_headers, a) == (50_000, 47_500)


def test_day_orders_when_the_trade_date_ends_then_expired_and_gtc_stays(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    a = world.demo_account_ids[4]
    price(client, admin_headers, 5000)
    ids = {}
    for tif in ("Day", "GTC"):
        body = {
            "accountId": a, "action": "Buy", "symbol": "ESZ6", "orderQty": 1, "orderType": "Limit",
            "price": 4000, "timeInForce": tif,
        }  # fmt: skip
        ids[tif] = client.post("/v1/order/placeorder", json=body, headers=trader_headers).json()["orderId"]
    clock_to(client, admin_headers, "2026-11-24T22:59:59Z", trader_headers)
    assert sorted(o["id"] for o in working(client, trader_headers, a)) == sorted(ids.values())
    clock_to(client, admin_headers, NEXT_OPEN, trader_headers)
    assert [o["id"] for o in working(client, trader_headers, a)] == [ids["GTC"]]
    r = client.get("/v1/order/deps", params={"masterid": a}, headers=trader_headers)
    assert {o["id"]: o["ordStatus"] for o in r.json()} == {ids["Day"]: "Expired", ids["GTC"]: "Working"}


def test_updatemaxnetliq_when_the_floor_rises_above_net_liq_then_the_breach_is_found_on_that_change(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    a = world.demo_account_ids[5]
    settings(client, admin_headers, a, trailingMaxDrawdown=1000)
    price(client, admin_headers, 5000)
    order(client, trader_headers, a, "Buy", 1)
    r = client.post(
        "/v1/accountRiskStatus/updatemaxnetliq",
        json={"accountId": a, "maxNetLiq": 51_500},
        headers=admin_headers,
    )
    assert r.json()["accountRiskStatus"]["minNetLiq"] == 50_500  # above the net liq of 50,000
    assert (
        net(client, trader_headers, a) == 0
        and layer(client, trader_headers, a)["rule"] == "trailingMaxDrawdown"
    )


def test_reset_when_the_rule_is_still_breached_then_the_next_price_change_acts_again(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    """A reset clears the lock, not the loss: the rule watches prices again at once."""
    a = world.demo_account_ids[6]
    settings(client, admin_headers, a, dailyLossAutoLiq=1000)
    price(client, admin_headers, 5000)
    order(client, trader_headers, a, "Buy", 2)
    price(client, admin_headers, 4990)  # -$1,000 realized by the liquidation
    r = client.post("/v1/accountRiskStatus/resetautoliqstatus", json={"accountId": a}, headers=admin_headers)
    assert r.status_code == 200 and layer(client, trader_headers, a)["state"] == "Normal"
    # A new position: its fill finds the day's loss at the limit already.
    order(client, trader_headers, a, "Buy", 1)
    assert net(client, trader_headers, a) == 0 and layer(client, trader_headers, a)["state"] == "Locked"


def test_price_change_when_other_contracts_or_far_from_limits_then_only_reached_accounts_evaluated(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World, services: Services
) -> None:
    """Scale: a price change re-evaluates only accounts holding that contract whose price triggers it
    reaches, and the breach's alert is published as an event after commit."""
    near, far, other = world.demo_account_ids[7:10]
    settings(client, admin_headers, near, dailyLossAutoLiq=300)
    settings(client, admin_headers, far, dailyLossAutoLiq=5000)
    settings(client, admin_headers, other, dailyLossAutoLiq=1)
    price(client, admin_headers, 5000)
    price(client, admin_headers, 20_000, "NQZ6")
    order(client, trader_headers, near, "Buy", 1)
    order(client, trader_headers, far, "Buy", 1)
    body = {"accountId": other, "action": "Buy", "symbol": "NQZ6", "orderQty": 1, "orderType": "Market"}
    assert client.post("/v1/order/placeorder", json=body, headers=trader_headers).json().get("orderId")
    es = services.market.contract_by_name("ESZ6")

    def reached(ticks: int) -> list[int]:
        return services.uow.read_sync(lambda s: s.candidates(es.id, ticks))

    assert reached(int(4999 / 0.25)) == []  # -$50: nobody's trigger
    assert reached(int(4993 / 0.25)) == [near]  # -$350: only the near account; never the NQ holder
    assert reached(int(4899 / 0.25)) == [near, far]
    events = event_queue(services.publisher)
    price(client, admin_headers, 4993)
    published = []
    while not events.empty():
        published.append(events.get_nowait())
    raised = [e for e in published if isinstance(e, AlertRaised)]
    assert [(e.alert.account_id, e.alert.rule) for e in raised] == [(near, "dailyLossAutoLiq")]
    assert layer(client, trader_headers, far)["state"] == "Normal"
    assert (
        layer(client, trader_headers, other)["state"] == "Normal" and net(client, trader_headers, other) == 1
    )
