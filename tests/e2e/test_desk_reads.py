"""The risk desk's reads (`/_autoliq/desk/*`), in process on both engines: who is signed in, the
accounts table page by page (filters, sorts, scoping, bounds), each row's live figures, and the equity
history the risk engine keeps (one point per change, pruned after `AUTOLIQ_EQUITY_HISTORY_DAYS`, wiped
by a reset). The page itself is tested in a real browser (tests/browser)."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta
from typing import Any

import pytest
from litestar.testing import TestClient

from autoliq.bootstrap import Services
from autoliq.service import market as market_module
from tests.conftest import ADMIN_PW, TRADER_PW, World, bearer, login
from tests.helpers import action_body

H = dict[str, str]


def page(client: TestClient[Any], headers: H, **params: Any) -> dict[str, Any]:
    r = client.get("/_autoliq/desk/accounts", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


def names(found: dict[str, Any]) -> list[str]:
    return [row["name"] for row in found["rows"]]


def post(client: TestClient[Any], headers: H, path: str, body: dict[str, Any]) -> dict[str, Any]:
    r = client.post(path, json=body, headers=headers)
    assert r.status_code == 200, r.text
    assert "errorText" not in r.json(), r.text
    return dict(r.json())


def price(client: TestClient[Any], admin: H, value: float) -> None:
    post(client, admin, "/_autoliq/prices", {"prices": [{"symbol": "ESZ6", "price": value}]})


def equity(client: TestClient[Any], headers: H, account: int) -> list[dict[str, Any]]:
    r = client.get("/_autoliq/desk/equity", params={"accountId": account}, headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["accountId"] == account
    return list(body["points"])


def test_desk_session_when_admin_trader_and_another_firms_admin_sign_in(
    client: TestClient[Any], admin_headers: H, trader_headers: H, other_admin_headers: H
) -> None:
    def session(headers: H) -> dict[str, Any]:
        r = client.get("/_autoliq/desk/session", headers=headers)
        assert r.status_code == 200, r.text
        return dict(r.json())

    admin = session(admin_headers)
    assert (admin["name"], admin["organizationName"], admin["admin"], admin["operator"]) == (
        "admin", "Demo Prop Firm", True, True,
    )  # fmt: skip
    trader = session(trader_headers)
    assert (trader["name"], trader["admin"], trader["operator"]) == ("trader", False, False)
    other = session(other_admin_headers)
    assert (other["organizationName"], other["admin"], other["operator"]) == ("Other Firm", True, False)
    assert client.get("/_autoliq/desk/session").status_code == 401


def test_desk_accounts_when_paged_filtered_and_sorted_then_rows_match_and_scopes_hold(
    client: TestClient[Any], admin_headers: H, trader_headers: H, other_admin_headers: H, world: World
) -> None:
    everything = page(client, admin_headers)
    assert everything["total"] == 10 and len(everything["rows"]) == 10
    ordered = names(everything)
    assert ordered == sorted(ordered)
    first = everything["rows"][0]
    shown = (first["owner"], first["adminAction"], first["autoLiq"], first["netLiq"], first["openPositions"])
    assert shown == ("trader", "Normal", "Normal", 50000.0, 0)
    # Pages of 3, descending, cover the same names in reverse.
    seen: list[str] = []
    for offset in range(0, 12, 3):
        found = page(client, admin_headers, offset=offset, limit=3, sort="name", desc="true")
        assert found["total"] == 10
        seen += names(found)
    assert seen == ordered[::-1]
    # Patterns: contains, `*` and `?`, case-insensitive; `%` and `_` are literal characters.
    tail = ordered[6][-2:]
    assert names(page(client, admin_headers, name=tail)) == [n for n in ordered if tail in n]
    assert names(page(client, admin_headers, name="*" + ordered[6][-1].lower())) == [
        n for n in ordered if n.endswith(ordered[6][-1])
    ]
    assert names(page(client, admin_headers, name=ordered[3][:-1] + "?")) == [
        n for n in ordered if n[:-1] == ordered[3][:-1]
    ]
    assert page(client, admin_headers, name="%")["total"] == 0
    assert page(client, admin_headers, name="_")["total"] == 0
    # State filters and sorts.
    locked = world.demo_account_ids[4]
    post(
        client,
        admin_headers,
        "/v1/accountRiskStatus/setadminautoliqaction",
        action_body(locked, "LockTradingImmediately"),
    )
    only = page(client, admin_headers, adminAction="LockTradingImmediately")
    assert [r["id"] for r in only["rows"]] == [locked] and only["total"] == 1
    assert only["rows"][0]["adminTimestamp"] is not None
    assert page(client, admin_headers, adminAction="Normal")["total"] == 9
    assert page(client, admin_headers, autoLiq="Normal")["total"] == 10
    assert page(client, admin_headers, autoLiq="Locked")["total"] == 0
    by_action = page(client, admin_headers, sort="adminAction")  # LockTrading... before Normal
    assert by_action["rows"][0]["id"] == locked
    assert page(client, admin_headers, sort="adminAction", desc="true")["rows"][-1]["id"] == locked
    wanted = world.demo_account_ids[2:4]
    assert (
        sorted(r["id"] for r in page(client, admin_headers, ids=",".join(map(str, wanted)))["rows"]) == wanted
    )
    # Scopes: the trader owns the 10; another firm sees its 3 and none of these, even by id.
    assert page(client, trader_headers)["total"] == 10
    other = page(client, other_admin_headers)
    assert sorted(r["id"] for r in other["rows"]) == world.other_account_ids
    assert page(client, other_admin_headers, ids=str(locked))["total"] == 0


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"sort": "netLiq"}, "sort"),
        ({"adminAction": "locked"}, "adminAction"),
        ({"autoLiq": "Liquidated"}, "autoLiq"),
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"offset": -1}, "offset"),
        ({"name": "x" * 201}, "name"),
        ({"ids": ",".join(str(i) for i in range(1, 1002))}, "ids"),
        ({"ids": "1,x"}, "ids"),
    ],
)
def test_desk_accounts_when_a_parameter_is_out_of_bounds_then_400_names_it(
    client: TestClient[Any], admin_headers: H, params: dict[str, Any], field: str
) -> None:
    r = client.get("/_autoliq/desk/accounts", params=params, headers=admin_headers)
    assert r.status_code == 400, r.text
    assert field in r.json()["errorText"], r.text


def test_desk_rows_and_equity_when_prices_move_then_figures_points_per_change_and_the_auto_liq_show(
    client: TestClient[Any], admin_headers: H, trader_headers: H, other_admin_headers: H, world: World
) -> None:
    a = world.demo_account_ids[0]
    post(client, admin_headers, "/v1/userAccountAutoLiq/create", {"id": a, "trailingMaxDrawdown": 1000})
    price(client, admin_headers, 5000)
    body = {"accountId": a, "action": "Buy", "symbol": "ESZ6", "orderQty": 2, "orderType": "Market"}
    assert post(client, trader_headers, "/v1/order/placeorder", body).get("orderId")
    price(client, admin_headers, 5005)  # +$500 open: the high-water mark moves up, the floor with it
    [row] = page(client, admin_headers, ids=str(a))["rows"]
    assert (row["netLiq"], row["dayPnl"], row["openPositions"], row["balance"]) == (
        50500.0,
        500.0,
        1,
        50000.0,
    )
    assert (row["floor"], row["distanceToFloor"]) == (49500.0, 1000.0)
    points = equity(client, admin_headers, a)
    assert points, "the evaluations wrote no equity point"
    assert points[-1]["netLiq"] == 50500.0 and points[-1]["floor"] == 49500.0
    pairs = [(p["netLiq"], p["floor"]) for p in points]
    assert all(x != y for x, y in itertools.pairwise(pairs)), pairs  # one point per change
    before = len(points)
    price(client, admin_headers, 5005)  # the same price again: nothing changed, no point
    assert len(equity(client, admin_headers, a)) == before
    price(client, admin_headers, 4985)  # -$2,000 from the mark, past the floor: liquidated
    [row] = page(client, admin_headers, ids=str(a))["rows"]
    assert (row["autoLiq"], row["autoLiqRule"], row["openPositions"]) == ("Locked", "trailingMaxDrawdown", 0)
    assert row["autoLiqUntil"] is not None and row["adminAction"] == "Normal"
    assert page(client, admin_headers, autoLiq="Locked")["total"] == 1
    last = equity(client, trader_headers, a)[-1]
    assert (last["netLiq"], last["floor"]) == (48500.0, 49500.0)
    # Visibility: another firm's admin gets 404, as for every read of an account it cannot see.
    r = client.get("/_autoliq/desk/equity", params={"accountId": a}, headers=other_admin_headers)
    assert r.status_code == 404 and r.json() == {"errorText": "Not found"}


def test_equity_history_when_a_reset_comes_or_points_outlive_the_retention_then_they_are_gone(
    client: TestClient[Any],
    admin_headers: H,
    trader_headers: H,
    world: World,
    services: Services,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a = world.demo_account_ids[1]
    body = {"accountId": a, "action": "Buy", "symbol": "ESZ6", "orderQty": 1, "orderType": "Market"}

    def trade(admin: H, trader: H) -> int:
        post(client, admin, "/v1/userAccountAutoLiq/create", {"id": a, "trailingMaxDrawdown": 5000})
        price(client, admin, 5000)
        assert post(client, trader, "/v1/order/placeorder", body).get("orderId")
        price(client, admin, 5001)  # a new high: the trailing mark moves, a point
        points = equity(client, admin, a)
        assert len(points) >= 2, points
        return len(points)

    written = trade(admin_headers, trader_headers)
    reset = post(client, admin_headers, "/_autoliq/reset", {})
    assert reset["removed"]["equityHistory"] == written
    # (a reset of the whole server sets the clock back: sign in again)
    admin, trader = bearer(login(client, "admin", ADMIN_PW)), bearer(login(client, "trader", TRADER_PW))
    assert equity(client, admin, a) == []

    written = trade(admin, trader)
    monkeypatch.setattr(market_module, "PRUNE_INTERVAL", 0.0)  # every price write prunes
    price(client, admin, 5002)  # within the retention: nothing pruned
    assert len(equity(client, admin, a)) >= written
    days = services.settings.equity_history_days
    seconds = int(timedelta(days=days).total_seconds()) + 3600
    post(client, admin, "/_autoliq/clock", {"advanceSeconds": seconds})
    admin = bearer(login(client, "admin", ADMIN_PW))  # the tokens' clock moved too
    # ESZ6 has expired by then; a price of another contract is a price write all the same.
    post(client, admin, "/_autoliq/prices", {"prices": [{"symbol": "ESH7", "price": 5100}]})
    assert equity(client, bearer(login(client, "trader", TRADER_PW)), a) == []


def test_docs_and_desk_when_fetched_then_every_file_they_load_is_served_here_with_no_token(
    client: TestClient[Any],
) -> None:
    """`/_autoliq/docs` and `/desk/` load nothing from another host (the browser tests check the
    pages render offline; this checks what the HTML asks for, and that this server has it)."""
    for page_path, prefix in (("/_autoliq/docs", "/_autoliq/docs/assets/"), ("/desk/", "/desk/")):
        r = client.get(page_path)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), r.text
        loaded = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", r.text)
        assert loaded, r.text
        for url in loaded:
            assert url.startswith(prefix), f"{page_path} loads {url}"
            got = client.get(url)
            assert got.status_code == 200 and got.content, url
            if url.endswith(".js"):
                assert "javascript" in got.headers["content-type"], got.headers
    desk = client.get("/desk/")
    assert "default-src 'self'" in desk.headers["content-security-policy"]
    assert desk.headers["x-content-type-options"] == "nosniff"
    # The page's modules import only modules of their own folder.
    scripts = [u for u in re.findall(r"""src\s*=\s*["']([^"']+\.js)["']""", desk.text)]
    assert scripts, desk.text
    seen: set[str] = set()
    queue = list(scripts)
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        seen.add(url)
        got = client.get(url)
        assert got.status_code == 200, url
        for target in re.findall(r"""(?:import|from)\s*\(?\s*["']([^"']+)["']""", got.text):
            assert target.startswith("./") and target.endswith(".js"), f"{url} imports {target}"
            queue.append("/desk/js/" + target[2:])
    assert len(seen) > 3, seen
