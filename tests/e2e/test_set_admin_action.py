"""POST /v1/accountRiskStatus/setadminautoliqaction over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import update

from autoliq.adapters.db import create_admin_engine
from autoliq.adapters.tables import account
from autoliq.domain import rules
from autoliq.domain.states import AdminAction, Environment, ReasonCode
from autoliq.service.clock import ManualClock
from tests.conftest import ADMIN_PW, OTHER_ADMIN_PW, TRADER_PW, World, bearer, login
from tests.helpers import SET_ACTION, action_body, app_client, db_snapshot

# -- every documented errorText, with its HTTP code, changing nothing --

ERROR_CASES = [
    pytest.param(action_body(0), rules.ACCOUNT_ID_POSITIVE, id="account-id-zero"),
    pytest.param(action_body(-5), rules.ACCOUNT_ID_POSITIVE, id="account-id-negative"),
    pytest.param({"adminAction": "Normal", "adminActionReasonCode": "Other", "adminActionReason": "x"},
                 rules.ACCOUNT_ID_POSITIVE, id="account-id-missing"),
    pytest.param(action_body(1, action="Freeze"), rules.ADMIN_ACTION_RANGE, id="action-unknown"),
    pytest.param(action_body(1, action="normal"), rules.ADMIN_ACTION_RANGE, id="action-wrong-case"),
    pytest.param({"accountId": 1, "adminActionReasonCode": "Other", "adminActionReason": "x"},
                 rules.ADMIN_ACTION_RANGE, id="action-missing"),
    pytest.param(action_body(1, code="LowLiquidity"), rules.REASON_CODE_RANGE, id="code-superseded"),
    pytest.param({"accountId": 1, "adminAction": "Normal"}, rules.REASON_CODE_RANGE, id="code-missing"),
    pytest.param(action_body(1, reason="x" * 8193), rules.REASON_TOO_LONG, id="reason-8193"),
    pytest.param(action_body(1, reason="é" * 8193), rules.REASON_TOO_LONG, id="reason-8193-non-ascii"),
    pytest.param(action_body(1, reason=None), rules.REASON_REQUIRED, id="reason-null-with-other"),
    pytest.param({"accountId": 1, "adminAction": "Normal", "adminActionReasonCode": "Other"},
                 rules.REASON_REQUIRED, id="reason-missing-with-other"),
    pytest.param(action_body(1, reason=""), rules.REASON_REQUIRED, id="reason-empty-with-other"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "error_text"), ERROR_CASES)
def test_set_admin_action_when_documented_cause_then_200_with_exact_error_text_and_nothing_changes(
    client: TestClient[Any],
    admin_headers: dict[str, str],
    world: World,
    body: dict[str, Any],
    error_text: str,
) -> None:
    if body.get("accountId") == 1:
        body = {**body, "accountId": world.demo_account_ids[0]}
    before = db_snapshot(world.database_url)
    r = client.post(SET_ACTION, json=body, headers=admin_headers)
    assert r.status_code == 200
    assert r.json() == {"errorText": error_text}
    assert db_snapshot(world.database_url) == before


def test_set_admin_action_when_server_is_replay_then_200_call_on_live_text_and_nothing_changes(
    world: World, clock: ManualClock
) -> None:
    before = db_snapshot(world.database_url)
    with app_client(world.database_url, clock, environment=Environment.REPLAY) as c:
        r = c.post(
            SET_ACTION,
            json=action_body(world.demo_account_ids[0]),
            headers=bearer(login(c, "admin", ADMIN_PW)),
        )
    assert r.status_code == 200
    assert r.json() == {"errorText": "This endpoint should be called on live.tradovateapi.com"}
    assert db_snapshot(world.database_url)[0] == before[0]


def test_set_admin_action_when_server_is_live_then_401_access_is_denied_and_nothing_changes(
    world: World, clock: ManualClock
) -> None:
    before = db_snapshot(world.database_url)
    with app_client(world.database_url, clock, environment=Environment.LIVE) as c:
        r = c.post(
            SET_ACTION,
            json=action_body(world.demo_account_ids[0]),
            headers=bearer(login(c, "admin", ADMIN_PW)),
        )
    assert r.status_code == 401
    assert r.json() == {"errorText": "Access is denied"}
    assert db_snapshot(world.database_url)[0] == before[0]


def test_set_admin_action_when_account_does_not_exist_then_404_and_nothing_changes(
    client: TestClient[Any], admin_headers: dict[str, str], world: World
) -> None:
    before = db_snapshot(world.database_url)
    r = client.post(SET_ACTION, json=action_body(987654321), headers=admin_headers)
    assert r.status_code == 404
    assert "accountRiskStatus" not in r.json()
    assert db_snapshot(world.database_url) == before


def test_set_admin_action_when_trader_calls_then_401_access_is_denied_even_on_own_account(
    client: TestClient[Any], trader_headers: dict[str, str], world: World
) -> None:
    before = db_snapshot(world.database_url)
    r = client.post(SET_ACTION, json=action_body(world.demo_account_ids[0]), headers=trader_headers)
    assert r.status_code == 401
    assert r.json() == {"errorText": "Access is denied"}
    assert db_snapshot(world.database_url) == before


def test_set_admin_action_when_admin_of_other_organization_then_404_not_401(
    client: TestClient[Any], other_admin_headers: dict[str, str], world: World
) -> None:
    before = db_snapshot(world.database_url)
    r = client.post(SET_ACTION, json=action_body(world.demo_account_ids[0]), headers=other_admin_headers)
    assert r.status_code == 404
    assert db_snapshot(world.database_url) == before


# -- the order of checks --


def test_order_when_token_missing_and_body_malformed_then_401_first(client: TestClient[Any]) -> None:
    r = client.post(SET_ACTION, content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 401


def test_order_when_body_malformed_and_fields_invalid_then_400_first(
    client: TestClient[Any], admin_headers: dict[str, str]
) -> None:
    r = client.post(SET_ACTION, content=b'{"accountId": 0, "adminAction": ', headers=admin_headers)
    assert r.status_code == 400


def test_order_when_trader_sends_invalid_body_then_validation_text_before_permission(
    client: TestClient[Any], trader_headers: dict[str, str], world: World
) -> None:
    r = client.post(
        SET_ACTION, json=action_body(world.demo_account_ids[0], action="Nope"), headers=trader_headers
    )
    assert (r.status_code, r.json()) == (200, {"errorText": rules.ADMIN_ACTION_RANGE})


def test_order_when_replay_server_and_unknown_account_then_environment_text_before_404(
    world: World, clock: ManualClock
) -> None:
    with app_client(world.database_url, clock, environment=Environment.REPLAY) as c:
        r = c.post(SET_ACTION, json=action_body(987654321), headers=bearer(login(c, "admin", ADMIN_PW)))
    assert (r.status_code, r.json()) == (200, {"errorText": rules.CALL_ON_LIVE})


def test_order_when_other_org_account_and_trader_then_404_before_401(
    client: TestClient[Any], trader_headers: dict[str, str], world: World
) -> None:
    r = client.post(SET_ACTION, json=action_body(world.other_account_ids[0]), headers=trader_headers)
    assert r.status_code == 404


# -- success: every action, every code, the log and the audit --


@pytest.mark.parametrize("action", [a.value for a in AdminAction])
def test_set_admin_action_when_each_action_then_stored_reported_and_logged(
    client: TestClient[Any], admin_headers: dict[str, str], world: World, clock: ManualClock, action: str
) -> None:
    account_id = world.demo_account_ids[3]
    _, log_before = db_snapshot(world.database_url)
    r = client.post(
        SET_ACTION, json=action_body(account_id, action=action, reason=f"set {action}"), headers=admin_headers
    )
    assert r.status_code == 200
    status = r.json()["accountRiskStatus"]
    assert status["id"] == account_id
    assert status["adminAction"] == action
    assert status["adminTimestamp"] == clock.now().isoformat().replace("+00:00", "Z")
    assert "errorText" not in r.json()
    _, log_after = db_snapshot(world.database_url)
    assert log_after == log_before + 1
    item = client.get(f"/v1/accountRiskStatus/item?id={account_id}", headers=admin_headers).json()
    assert item == status


@pytest.mark.parametrize("code", [c.value for c in ReasonCode if c is not ReasonCode.OTHER])
def test_set_admin_action_when_code_is_not_other_then_reason_is_optional(
    client: TestClient[Any], admin_headers: dict[str, str], world: World, code: str
) -> None:
    body = {
        "accountId": world.demo_account_ids[1],
        "adminAction": "LockTradingImmediately",
        "adminActionReasonCode": code,
    }
    r = client.post(SET_ACTION, json=body, headers=admin_headers)
    assert r.status_code == 200
    assert r.json()["accountRiskStatus"]["adminAction"] == "LockTradingImmediately"
    audit = client.get(f"/_autoliq/audit?accountId={world.demo_account_ids[1]}", headers=admin_headers).json()
    assert audit["entries"][-1]["reasonCode"] == code
    assert audit["entries"][-1]["reason"] is None


def test_set_admin_action_when_reason_is_8192_non_ascii_chars_then_stored_exactly(
    client: TestClient[Any], admin_headers: dict[str, str], world: World
) -> None:
    reason = ("Kontrolle 风险 🚫 " * 1000)[:8192]
    account_id = world.demo_account_ids[2]
    r = client.post(SET_ACTION, json=action_body(account_id, reason=reason), headers=admin_headers)
    assert r.status_code == 200 and "accountRiskStatus" in r.json()
    audit = client.get(f"/_autoliq/audit?accountId={account_id}", headers=admin_headers).json()
    assert audit["entries"][-1]["reason"] == reason


def test_audit_when_actions_made_then_lists_actor_code_reason_and_time_oldest_first(
    client: TestClient[Any], admin_headers: dict[str, str], world: World, clock: ManualClock
) -> None:
    account_id = world.demo_account_ids[4]
    me = client.get("/v1/auth/me", headers=admin_headers).json()
    t1 = clock.now()
    client.post(
        SET_ACTION,
        json=action_body(account_id, "LiquidateOnlyModeImmediately", reason="first"),
        headers=admin_headers,
    )
    clock.advance(30)
    client.post(SET_ACTION, json=action_body(account_id, "Normal", "CloseFraud", None), headers=admin_headers)
    audit = client.get(f"/_autoliq/audit?accountId={account_id}", headers=admin_headers).json()
    assert audit["accountId"] == account_id
    entries = audit["entries"]
    assert [
        (e["adminAction"], e["reasonCode"], e["reason"], e["actor"], e["actorUserId"]) for e in entries
    ] == [
        ("LiquidateOnlyModeImmediately", "Other", "first", "user", me["userId"]),
        ("Normal", "CloseFraud", None, "user", me["userId"]),
    ]
    assert entries[0]["timestamp"] == t1.isoformat().replace("+00:00", "Z")
    assert entries[0]["id"] < entries[1]["id"]


def test_liquidate_only_when_set_then_liquidate_only_time_reported_and_normal_clears_it(
    client: TestClient[Any], admin_headers: dict[str, str], world: World, clock: ManualClock
) -> None:
    account_id = world.demo_account_ids[5]
    r = client.post(
        SET_ACTION, json=action_body(account_id, "LiquidateOnlyModeImmediately"), headers=admin_headers
    )
    assert r.json()["accountRiskStatus"]["liquidateOnly"] == clock.now().isoformat().replace("+00:00", "Z")
    clock.advance(5)
    r = client.post(SET_ACTION, json=action_body(account_id, "Normal"), headers=admin_headers)
    assert "liquidateOnly" not in r.json()["accountRiskStatus"]


def test_set_admin_action_when_account_archived_then_accepted_as_documented(
    client: TestClient[Any], admin_headers: dict[str, str], world: World
) -> None:
    account_id = world.demo_account_ids[6]
    engine = create_admin_engine(world.database_url)
    with engine.begin() as conn:
        conn.execute(update(account).where(account.c.id == account_id).values(archived=True))
    engine.dispose()
    r = client.post(SET_ACTION, json=action_body(account_id), headers=admin_headers)
    assert r.status_code == 200
    assert r.json()["accountRiskStatus"]["adminAction"] == "LockTradingImmediately"


def test_status_when_never_changed_then_normal_without_admin_timestamp(
    client: TestClient[Any], admin_headers: dict[str, str], world: World
) -> None:
    item = client.get(
        f"/v1/accountRiskStatus/item?id={world.demo_account_ids[9]}", headers=admin_headers
    ).json()
    assert item == {"id": world.demo_account_ids[9], "adminAction": "Normal", "userTriggeredLiqOnly": False}


def test_paths_when_spelled_in_other_case_then_served_like_tradovate(
    client: TestClient[Any], admin_headers: dict[str, str], world: World
) -> None:
    r = client.post(
        "/v1/accountriskstatus/setAdminAutoLiqAction",
        json=action_body(world.demo_account_ids[7]),
        headers=admin_headers,
    )
    assert r.status_code == 200 and r.json()["accountRiskStatus"]["adminAction"] == "LockTradingImmediately"


# -- every kind of request the endpoint answers, with its exact answer (moved from the removed
# test_fast_path.py, which compared the plain-ASGI path with the framework route) --

DENIED_ON_REPLAY = "This endpoint should be called on live.tradovateapi.com"
ACCESS_DENIED = "Access is denied"


def _kinds(world: World) -> list[tuple[str, str, bytes]]:
    """(who, description, raw body) for every kind of answer the endpoint gives."""
    a = world.demo_account_ids[0]
    big = json.dumps(action_body(a, reason="x" * (1024 * 1024))).encode()
    normal = action_body(a, "Normal", "CloseFraud", None)
    return [
        ("admin", "lock", json.dumps(action_body(a)).encode()),
        ("admin", "liquidate-only", json.dumps(action_body(a, "LiquidateOnlyModeImmediately")).encode()),
        ("admin", "normal, code without reason", json.dumps(normal).encode()),
        ("admin", "account id 0", json.dumps(action_body(0)).encode()),
        ("admin", "unknown action", json.dumps(action_body(a, "Nope")).encode()),
        ("admin", "unknown code", json.dumps(action_body(a, code="Nope")).encode()),
        ("admin", "reason 8193", json.dumps(action_body(a, reason="r" * 8193)).encode()),
        ("admin", "reason missing", json.dumps(action_body(a, reason=None)).encode()),
        ("admin", "malformed", b'{"accountId": '),
        ("admin", "wrong type", b'{"accountId": "1"}'),
        ("admin", "int64 overflow", b'{"accountId": 9223372036854775808}'),
        ("admin", "not an object", b"[]"),
        ("admin", "unknown account", json.dumps(action_body(987654321)).encode()),
        ("admin", "over 1 MiB", big),
        ("trader", "trader", json.dumps(action_body(a)).encode()),
        ("other", "other organization", json.dumps(action_body(a)).encode()),
        ("none", "no token", json.dumps(action_body(a)).encode()),
        ("forged", "forged token", json.dumps(action_body(a)).encode()),
    ]  # fmt: skip


_SAME_EVERYWHERE = {
    "account id 0": (200, rules.ACCOUNT_ID_POSITIVE),
    "unknown action": (200, rules.ADMIN_ACTION_RANGE),
    "unknown code": (200, rules.REASON_CODE_RANGE),
    "reason 8193": (200, rules.REASON_TOO_LONG),
    "reason missing": (200, rules.REASON_REQUIRED),
    "malformed": (400, "Malformed JSON body: Input data was truncated"),
    "wrong type": (400, "accountId: Expected `int | null`, got `str`"),
    "int64 overflow": (400, "accountId: Expected `int` <= 9223372036854775807"),
    "not an object": (400, "Expected `object`, got `array`"),
    "over 1 MiB": (413, "Request body too large"),
    "no token": (401, ACCESS_DENIED),
    "forged token": (401, ACCESS_DENIED),
}
KIND_ANSWERS: dict[Environment, dict[str, tuple[int, str | None]]] = {
    Environment.DEMO: {
        "lock": (200, None),
        "liquidate-only": (200, None),
        "normal, code without reason": (200, None),
        **_SAME_EVERYWHERE,
        "unknown account": (404, "Not found"),
        "trader": (401, ACCESS_DENIED),
        "other organization": (404, "Not found"),
    },
    Environment.REPLAY: {
        "lock": (200, DENIED_ON_REPLAY),
        "liquidate-only": (200, DENIED_ON_REPLAY),
        "normal, code without reason": (200, DENIED_ON_REPLAY),
        **_SAME_EVERYWHERE,
        "unknown account": (200, DENIED_ON_REPLAY),
        "trader": (200, DENIED_ON_REPLAY),
        "other organization": (200, DENIED_ON_REPLAY),
    },
    Environment.LIVE: {
        "lock": (401, ACCESS_DENIED),
        "liquidate-only": (401, ACCESS_DENIED),
        "normal, code without reason": (401, ACCESS_DENIED),
        **_SAME_EVERYWHERE,
        "unknown account": (401, ACCESS_DENIED),
        "trader": (401, ACCESS_DENIED),
        "other organization": (401, ACCESS_DENIED),
    },
}


@pytest.mark.parametrize("environment", [Environment.DEMO, Environment.REPLAY, Environment.LIVE])
def test_set_admin_action_when_every_kind_of_request_then_its_exact_answer(
    world: World, clock: ManualClock, environment: Environment
) -> None:
    log_before = db_snapshot(world.database_url)[1]
    answers: dict[str, tuple[int, Any]] = {}
    with app_client(world.database_url, clock, environment=environment) as c:
        headers = {
            "admin": bearer(login(c, "admin", ADMIN_PW)),
            "trader": bearer(login(c, "trader", TRADER_PW)),
            "other": bearer(login(c, "other-admin", OTHER_ADMIN_PW)),
            "none": {},
            "forged": bearer("forged-token"),
        }
        for who, label, raw in _kinds(world):
            r = c.post(SET_ACTION, content=raw, headers={**headers[who], "content-type": "application/json"})
            answers[label] = (r.status_code, r.json())
    expected = KIND_ANSWERS[environment]
    assert sorted(answers) == sorted(expected)
    for label, (status, text) in expected.items():
        code, body = answers[label]
        if text is None:
            assert (code, list(body)) == (status, ["accountRiskStatus"]), label
        else:
            assert (code, body) == (status, {"errorText": text}), label
    # Only the successful requests (Demo's three) wrote a log row each.
    written = 3 if environment is Environment.DEMO else 0
    assert db_snapshot(world.database_url)[1] == log_before + written
