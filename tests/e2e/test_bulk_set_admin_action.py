"""POST /_autoliq/bulk/setadminautoliqaction over HTTP, on SQLite and PostgreSQL: each account gets
the single route's checks in the single route's order, with the single route's answer (its HTTP
status as `httpStatus`, its `errorText` or `accountRiskStatus`), one log row and one event per
changed account, and the request's own bounds (1..10,000 distinct ids) answer 400."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from autoliq.container import Services
from autoliq.domain import rules
from autoliq.domain.events import Event, RiskStatusChanged
from autoliq.domain.states import Environment
from autoliq.service.clock import ManualClock
from tests.conftest import ADMIN_PW, World, bearer, login
from tests.helpers import SET_ACTION, action_body, app_client, db_snapshot

BULK = "/_autoliq/bulk/setadminautoliqaction"
LOCK = "LockTradingImmediately"
UNKNOWN = 987654321


def bulk_body(account_ids: list[Any], **fields: Any) -> dict[str, Any]:
    body = action_body(0, **fields)
    del body["accountId"]
    return {"accountIds": account_ids, **body}


def single_answers(
    client: TestClient[Any], headers: dict[str, str], account_ids: list[Any], **fields: Any
) -> list[dict[str, Any]]:
    """What the single route answers for each id, in the bulk result's shape."""
    out = []
    for account_id in account_ids:
        r = client.post(SET_ACTION, json=action_body(account_id, **fields), headers=headers)
        out.append({"accountId": account_id, "httpStatus": r.status_code, **r.json()})
    return out


def collect_events(services: Services) -> list[Event]:
    seen: list[Event] = []
    services.publisher.add_listener(seen.extend)
    return seen


# -- per account: the single route's checks, order and answers --

REFUSED_FOR_EVERY_ACCOUNT = [
    pytest.param({"action": "Sideways"}, rules.ADMIN_ACTION_RANGE, id="action-unknown"),
    pytest.param({"action": None}, rules.ADMIN_ACTION_RANGE, id="action-missing"),
    pytest.param({"code": "Whatever"}, rules.REASON_CODE_RANGE, id="code-unknown"),
    pytest.param({"reason": "é" * 8193}, rules.REASON_TOO_LONG, id="reason-8193"),
    pytest.param({"reason": None}, rules.REASON_REQUIRED, id="reason-missing-with-other"),
    pytest.param({"reason": "   "}, rules.REASON_REQUIRED, id="reason-blank-with-other"),
]


@pytest.mark.parametrize(("fields", "error_text"), REFUSED_FOR_EVERY_ACCOUNT)
def test_bulk_when_body_refused_then_each_account_answered_as_the_single_route_in_its_order(
    client: TestClient[Any],
    admin_headers: dict[str, str],
    world: World,
    fields: dict[str, Any],
    error_text: str,
) -> None:
    """The id is checked first: id 0 gets the accountId text, every other id (ours, another firm's,
    unknown) the body's text, before any lookup, as the single route answers them."""
    ids = [world.demo_account_ids[0], 0, world.other_account_ids[0], UNKNOWN, -3]
    before = db_snapshot(world.database_url)

    r = client.post(BULK, json=bulk_body(ids, **fields), headers=admin_headers)

    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert results == single_answers(client, admin_headers, ids, **fields)
    texts = [x["errorText"] for x in results]
    assert texts == [error_text, rules.ACCOUNT_ID_POSITIVE, error_text, error_text, rules.ACCOUNT_ID_POSITIVE]
    assert {x["httpStatus"] for x in results} == {200}
    assert db_snapshot(world.database_url) == before


def test_bulk_when_good_and_bad_ids_mixed_then_per_account_results_in_request_order_and_only_good_change(
    client: TestClient[Any], admin_headers: dict[str, str], world: World, services: Services
) -> None:
    good = world.demo_account_ids[:2]
    other_firm = world.other_account_ids[0]
    ids = [good[0], other_firm, UNKNOWN, 0, good[1]]
    statuses_before, log_before = db_snapshot(world.database_url)
    events = collect_events(services)

    r = client.post(BULK, json=bulk_body(ids, reason="desk halt"), headers=admin_headers)

    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["accountId"] for x in results] == ids
    assert [x["httpStatus"] for x in results] == [200, 404, 404, 200, 200]
    assert results[1] == {"accountId": other_firm, "httpStatus": 404, "errorText": "Not found"}
    assert results[2] == {"accountId": UNKNOWN, "httpStatus": 404, "errorText": "Not found"}
    assert results[3] == {"accountId": 0, "httpStatus": 200, "errorText": rules.ACCOUNT_ID_POSITIVE}
    for result, account_id in ((results[0], good[0]), (results[4], good[1])):
        assert "errorText" not in result
        assert result["accountRiskStatus"]["id"] == account_id
        assert result["accountRiskStatus"]["adminAction"] == LOCK
        item = client.get(f"/v1/accountRiskStatus/item?id={account_id}", headers=admin_headers).json()
        assert item == result["accountRiskStatus"]
    statuses_after, log_after = db_snapshot(world.database_url)
    assert log_after == log_before + 2  # one log row per changed account
    changed = {a for a in statuses_after if statuses_after[a] != statuses_before.get(a)}
    assert changed == set(good)
    for account_id in good:
        audit = client.get(f"/_autoliq/audit?accountId={account_id}", headers=admin_headers).json()
        (entry,) = audit["entries"]
        assert (entry["adminAction"], entry["actor"], entry["reasonCode"], entry["reason"]) == (
            LOCK,
            "user",
            "Other",
            "desk halt",
        )
    published = [e for e in events if isinstance(e, RiskStatusChanged)]
    assert sorted(e.account_id for e in published) == sorted(good)
    assert all(e.status.admin_action.value == LOCK for e in published)


def test_bulk_when_same_requests_sent_to_the_single_route_then_the_same_answers_but_timestamps(
    client: TestClient[Any], admin_headers: dict[str, str], world: World, clock: ManualClock
) -> None:
    """The bulk answer is the single route's answer for each account (a change answered with the same
    `accountRiskStatus`, a refusal with the same status and text)."""
    ids = [world.demo_account_ids[2], world.other_account_ids[1], UNKNOWN, world.demo_account_ids[3]]
    liquidate_only = bulk_body(ids, action="LiquidateOnlyModeImmediately")
    bulk = client.post(BULK, json=liquidate_only, headers=admin_headers)
    unlocked = client.post(BULK, json=bulk_body(ids, action="Normal"), headers=admin_headers)
    assert unlocked.status_code == 200

    single = single_answers(client, admin_headers, ids, action="LiquidateOnlyModeImmediately")

    assert bulk.status_code == 200
    assert bulk.json()["results"] == single  # the manual clock did not move: same timestamps


def test_bulk_when_trader_calls_then_401_access_is_denied_for_own_firm_accounts_and_404_for_others(
    client: TestClient[Any], trader_headers: dict[str, str], world: World
) -> None:
    ids = [world.demo_account_ids[0], world.other_account_ids[0], UNKNOWN]
    before = db_snapshot(world.database_url)

    r = client.post(BULK, json=bulk_body(ids), headers=trader_headers)

    assert r.status_code == 200
    assert r.json()["results"] == [
        {"accountId": ids[0], "httpStatus": 401, "errorText": "Access is denied"},
        {"accountId": ids[1], "httpStatus": 404, "errorText": "Not found"},
        {"accountId": ids[2], "httpStatus": 404, "errorText": "Not found"},
    ]
    assert r.json()["results"] == single_answers(client, trader_headers, ids)
    assert db_snapshot(world.database_url) == before


def test_bulk_when_other_firms_admin_calls_then_our_accounts_are_not_found_and_unchanged(
    client: TestClient[Any], other_admin_headers: dict[str, str], world: World
) -> None:
    ids = [world.demo_account_ids[0], world.other_account_ids[2]]
    statuses_before, _ = db_snapshot(world.database_url)

    r = client.post(BULK, json=bulk_body(ids), headers=other_admin_headers)

    results = r.json()["results"]
    assert results[0] == {"accountId": ids[0], "httpStatus": 404, "errorText": "Not found"}
    assert results[1]["httpStatus"] == 200 and results[1]["accountRiskStatus"]["adminAction"] == LOCK
    statuses_after, _ = db_snapshot(world.database_url)
    assert statuses_after.get(ids[0]) == statuses_before.get(ids[0])


@pytest.mark.parametrize(
    ("environment", "status", "text"),
    [(Environment.REPLAY, 200, rules.CALL_ON_LIVE), (Environment.LIVE, 401, "Access is denied")],
    ids=["replay", "live"],
)
def test_bulk_when_server_environment_refuses_then_each_valid_account_answered_as_the_single_route(
    world: World, clock: ManualClock, environment: Environment, status: int, text: str
) -> None:
    before = db_snapshot(world.database_url)
    with app_client(world.database_url, clock, environment=environment) as c:
        headers = bearer(login(c, "admin", ADMIN_PW))
        ids = [world.demo_account_ids[0], 0]
        r = c.post(BULK, json=bulk_body(ids), headers=headers)
        assert r.status_code == 200
        assert r.json()["results"] == [
            {"accountId": ids[0], "httpStatus": status, "errorText": text},
            {"accountId": 0, "httpStatus": 200, "errorText": rules.ACCOUNT_ID_POSITIVE},
        ]
        assert r.json()["results"] == single_answers(c, headers, ids)
    assert db_snapshot(world.database_url)[0] == before[0]


# -- the request's own bounds --


@pytest.mark.parametrize(
    ("account_ids", "error_text"),
    [
        pytest.param([], "accountIds: Expected `array` of length >= 1", id="empty"),
        pytest.param(
            list(range(1, 10_002)), "accountIds: Expected `array` of length <= 10000", id="10001-ids"
        ),
        pytest.param([5, 6, 5], "accountIds: 5 is given more than once", id="duplicate"),
        pytest.param(["1"], "accountIds[0]: Expected `int`, got `str`", id="id-as-text"),
        pytest.param([2**63], "accountIds[0]: Expected `int` <= 9223372036854775807", id="id-over-int64"),
    ],
)
def test_bulk_when_account_ids_out_of_bounds_then_400_naming_the_field_and_nothing_changes(
    client: TestClient[Any],
    admin_headers: dict[str, str],
    world: World,
    account_ids: list[Any],
    error_text: str,
) -> None:
    before = db_snapshot(world.database_url)

    r = client.post(BULK, json=bulk_body(account_ids), headers=admin_headers)

    assert r.status_code == 400
    assert r.json() == {"errorText": error_text}
    assert db_snapshot(world.database_url) == before


def test_bulk_when_account_ids_missing_then_400(
    client: TestClient[Any], admin_headers: dict[str, str]
) -> None:
    r = client.post(BULK, json=action_body(1), headers=admin_headers)

    assert r.status_code == 400
    assert "accountIds" in r.json()["errorText"]


def test_bulk_when_10000_ids_then_accepted_and_each_answered(
    client: TestClient[Any], admin_headers: dict[str, str], world: World
) -> None:
    ids = [*world.demo_account_ids, *range(UNKNOWN, UNKNOWN + 10_000 - len(world.demo_account_ids))]
    _, log_before = db_snapshot(world.database_url)

    r = client.post(BULK, json=bulk_body(ids), headers=admin_headers)

    assert r.status_code == 200
    results = r.json()["results"]
    assert [x["accountId"] for x in results] == ids
    assert [x["httpStatus"] for x in results] == [200] * 10 + [404] * (10_000 - 10)
    assert db_snapshot(world.database_url)[1] == log_before + 10


def test_bulk_when_token_missing_then_401_before_the_body_is_read(client: TestClient[Any]) -> None:
    r = client.post(BULK, content=b"{not json", headers={"content-type": "application/json"})

    assert r.status_code == 401
    assert r.json() == {"errorText": "Access is denied"}
