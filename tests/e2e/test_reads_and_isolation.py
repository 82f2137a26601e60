"""Reads scoped to the caller's organization; a trader sees only the accounts it owns."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from tests.conftest import TRADER_PW, World, bearer, login
from tests.helpers import SET_ACTION, TRADER2_PW, action_body, add_second_demo_trader


def _lock(
    client: TestClient[Any], headers: dict[str, str], account_id: int, action: str = "LockTradingImmediately"
) -> None:
    r = client.post(SET_ACTION, json=action_body(account_id, action), headers=headers)
    assert r.status_code == 200 and "accountRiskStatus" in r.json(), r.text


def test_action_when_returned_then_visible_through_deps_item_items_list_and_log(
    client: TestClient[Any], admin_headers: dict[str, str], world: World
) -> None:
    a = world.demo_account_ids[0]
    _lock(client, admin_headers, a)
    deps = client.get(f"/v1/accountRiskStatus/deps?masterid={a}", headers=admin_headers).json()
    item = client.get(f"/v1/accountRiskStatus/item?id={a}", headers=admin_headers).json()
    items = client.get(f"/v1/accountRiskStatus/items?ids={a}", headers=admin_headers).json()
    ldeps = client.get(f"/v1/accountRiskStatus/ldeps?masterids={a}", headers=admin_headers).json()
    listed = client.get("/v1/accountRiskStatus/list", headers=admin_headers).json()
    assert [s["adminAction"] for s in deps] == ["LockTradingImmediately"]
    assert item["adminAction"] == "LockTradingImmediately"
    assert items == deps == ldeps == [item]
    assert {s["id"]: s["adminAction"] for s in listed}[a] == "LockTradingImmediately"
    log = client.get(f"/v1/accountRiskStatusLog/deps?masterid={a}", headers=admin_headers).json()
    assert len(log) == 1
    assert log[0]["accountId"] == a and log[0]["adminAction"] == "LockTradingImmediately"
    assert log[0]["adminTimestamp"] == item["adminTimestamp"]
    assert (
        client.get(f"/v1/accountRiskStatusLog/item?id={log[0]['id']}", headers=admin_headers).json() == log[0]
    )


def test_log_when_several_changes_then_one_row_each_oldest_first_across_reads(
    client: TestClient[Any], admin_headers: dict[str, str], world: World
) -> None:
    a, b = world.demo_account_ids[:2]
    for action in ("LockTradingImmediately", "LiquidateImmediately", "Normal"):
        _lock(client, admin_headers, a, action)
    _lock(client, admin_headers, b, "LiquidateOnlyModeImmediately")
    log_a = client.get(f"/v1/accountRiskStatusLog/deps?masterid={a}", headers=admin_headers).json()
    assert [e["adminAction"] for e in log_a] == ["LockTradingImmediately", "LiquidateImmediately", "Normal"]
    both = client.get(f"/v1/accountRiskStatusLog/ldeps?masterids={a},{b}", headers=admin_headers).json()
    assert len(both) == 4 and [e["id"] for e in both] == sorted(e["id"] for e in both)
    all_rows = client.get("/v1/accountRiskStatusLog/list", headers=admin_headers).json()
    assert {e["id"] for e in all_rows} == {e["id"] for e in both}
    ids = ",".join(str(e["id"]) for e in log_a[:2])
    assert client.get(f"/v1/accountRiskStatusLog/items?ids={ids}", headers=admin_headers).json() == log_a[:2]


def test_items_when_ids_repeated_or_comma_separated_then_same_answer(
    client: TestClient[Any], admin_headers: dict[str, str], world: World
) -> None:
    a, b = world.demo_account_ids[:2]
    comma = client.get(f"/v1/account/items?ids={a},{b}", headers=admin_headers).json()
    repeated = client.get(f"/v1/account/items?ids={a}&ids={b}", headers=admin_headers).json()
    assert [x["id"] for x in comma] == [a, b]
    assert comma == repeated


def test_account_reads_when_admin_then_whole_organization_and_find_by_name(
    client: TestClient[Any], admin_headers: dict[str, str], world: World
) -> None:
    accounts = client.get("/v1/account/list", headers=admin_headers).json()
    assert [a["id"] for a in accounts] == world.demo_account_ids
    first = accounts[0]
    assert client.get(f"/v1/account/find?name={first['name']}", headers=admin_headers).json() == first
    assert client.get(f"/v1/account/item?id={first['id']}", headers=admin_headers).json() == first
    owned = client.get(f"/v1/account/deps?masterid={first['userId']}", headers=admin_headers).json()
    assert [a["id"] for a in owned] == world.demo_account_ids
    assert client.get("/v1/account/find?name=NO-SUCH", headers=admin_headers).status_code == 404


def test_trader_when_reading_then_sees_only_accounts_it_owns(client: TestClient[Any], world: World) -> None:
    # A second trader in the same organization owns two accounts of its own.
    add_second_demo_trader(world.database_url, 2)
    t1 = bearer(login(client, "trader", TRADER_PW))
    t2 = bearer(login(client, "trader2", TRADER2_PW))
    mine = [a["id"] for a in client.get("/v1/account/list", headers=t1).json()]
    theirs = [a["id"] for a in client.get("/v1/account/list", headers=t2).json()]
    assert mine == world.demo_account_ids
    assert len(theirs) == 2 and not set(theirs) & set(mine)
    assert [s["id"] for s in client.get("/v1/accountRiskStatus/list", headers=t2).json()] == theirs
    assert client.get(f"/v1/accountRiskStatus/item?id={mine[0]}", headers=t2).status_code == 404
    assert client.get(f"/v1/account/item?id={mine[0]}", headers=t2).status_code == 404
    assert client.get(f"/v1/accountRiskStatus/deps?masterid={mine[0]}", headers=t2).json() == []
    assert (
        client.get(f"/v1/accountRiskStatus/items?ids={mine[0]},{theirs[0]}", headers=t2).json()[0]["id"]
        == theirs[0]
    )
    trader_id = client.get("/v1/auth/me", headers=t1).json()["userId"]
    assert client.get(f"/v1/account/deps?masterid={trader_id}", headers=t2).json() == []
    assert client.get(f"/_autoliq/audit?accountId={mine[0]}", headers=t2).status_code == 404


OTHER_ORG_READS = [
    "/v1/accountRiskStatus/item?id={a}",
    "/v1/account/item?id={a}",
    "/_autoliq/audit?accountId={a}",
]
OTHER_ORG_LISTS = [
    "/v1/accountRiskStatus/items?ids={a}",
    "/v1/accountRiskStatus/deps?masterid={a}",
    "/v1/accountRiskStatus/ldeps?masterids={a}",
    "/v1/accountRiskStatusLog/deps?masterid={a}",
    "/v1/accountRiskStatusLog/ldeps?masterids={a}",
    "/v1/account/items?ids={a}",
]


@pytest.mark.parametrize("path", OTHER_ORG_READS)
def test_admin_of_other_organization_when_reading_our_account_then_404(
    client: TestClient[Any],
    admin_headers: dict[str, str],
    other_admin_headers: dict[str, str],
    world: World,
    path: str,
) -> None:
    a = world.demo_account_ids[0]
    _lock(client, admin_headers, a)
    assert client.get(path.format(a=a), headers=admin_headers).status_code == 200
    assert client.get(path.format(a=a), headers=other_admin_headers).status_code == 404


@pytest.mark.parametrize("path", OTHER_ORG_LISTS)
def test_admin_of_other_organization_when_listing_our_account_then_nothing(
    client: TestClient[Any],
    admin_headers: dict[str, str],
    other_admin_headers: dict[str, str],
    world: World,
    path: str,
) -> None:
    a = world.demo_account_ids[0]
    _lock(client, admin_headers, a)
    assert client.get(path.format(a=a), headers=admin_headers).json() != []
    assert client.get(path.format(a=a), headers=other_admin_headers).json() == []


def test_lists_when_two_organizations_then_each_admin_sees_only_its_own(
    client: TestClient[Any], admin_headers: dict[str, str], other_admin_headers: dict[str, str], world: World
) -> None:
    _lock(client, admin_headers, world.demo_account_ids[0])
    _lock(client, other_admin_headers, world.other_account_ids[0])
    ours = client.get("/v1/accountRiskStatus/list", headers=admin_headers).json()
    theirs = client.get("/v1/accountRiskStatus/list", headers=other_admin_headers).json()
    assert [s["id"] for s in ours] == world.demo_account_ids
    assert [s["id"] for s in theirs] == world.other_account_ids
    our_log = client.get("/v1/accountRiskStatusLog/list", headers=admin_headers).json()
    their_log = client.get("/v1/accountRiskStatusLog/list", headers=other_admin_headers).json()
    assert [e["accountId"] for e in our_log] == [world.demo_account_ids[0]]
    assert [e["accountId"] for e in their_log] == [world.other_account_ids[0]]
    ids = ",".join(str(e["id"]) for e in our_log)
    assert client.get(f"/v1/accountRiskStatusLog/items?ids={ids}", headers=other_admin_headers).json() == []
    assert (
        client.get(
            f"/v1/accountRiskStatusLog/item?id={our_log[0]['id']}", headers=other_admin_headers
        ).status_code
        == 404
    )
    other_account = client.get(
        f"/v1/account/item?id={world.other_account_ids[0]}", headers=other_admin_headers
    ).json()
    assert (
        client.get(f"/v1/account/find?name={other_account['name']}", headers=admin_headers).status_code == 404
    )
