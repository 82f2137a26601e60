"""POST /v1/accountRiskStatus/setadminautoliqaction over HTTP, on SQLite and PostgreSQL: what only HTTP
shows (status codes, the errorText answers, missing and null fields, the order of the token and body
checks, wire shapes, paths). The rules themselves (every validation text and its order, environment,
organization isolation, roles, each action's effect, the audit row, events after commit) are tested
over the fakes in tests/unit/service/test_set_admin_action.py."""

from __future__ import annotations

import json
from typing import Any

import pytest
from litestar.testing import TestClient

from autoliq.domain import rules
from autoliq.domain.states import AdminAction, Environment
from autoliq.service.clock import ManualClock
from tests.conftest import ADMIN_PW, OTHER_ADMIN_PW, TRADER_PW, World, bearer, login
from tests.helpers import SET_ACTION, action_body, app_client, db_snapshot

# -- every documented errorText, with its HTTP code, changing nothing --

ERROR_CASES = [
    pytest.param(action_body(0), rules.ACCOUNT_ID_POSITIVE, id="account-id-zero"),
    pytest.param({"adminAction": "Normal", "adminActionReasonCode": "Other", "adminActionReason": "x"},
                 rules.ACCOUNT_ID_POSITIVE, id="account-id-missing"),
    pytest.param({"accountId": 1, "adminActionReasonCode": "Other", "adminActionReason": "x"},
                 rules.ADMIN_ACTION_RANGE, id="action-missing"),
    pytest.param({"accountId": 1, "adminAction": "Normal"}, rules.REASON_CODE_RANGE, id="code-missing"),
    pytest.param(action_body(1, reason="é" * 8193), rules.REASON_TOO_LONG, id="reason-8193-non-ascii"),
    pytest.param(action_body(1, reason=None), rules.REASON_REQUIRED, id="reason-null-with-other"),
    pytest.param({"accountId": 1, "adminAction": "Normal", "adminActionReasonCode": "Other"},
                 rules.REASON_REQUIRED, id="reason-missing-with-other"),
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


# -- the order of checks --


def test_order_when_token_missing_and_body_malformed_then_401_first(client: TestClient[Any]) -> None:
    r = client.post(SET_ACTION, content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 401


def test_order_when_body_malformed_and_fields_invalid_then_400_first(
    client: TestClient[Any], admin_headers: dict[str, str]
) -> None:
    r = client.post(SET_ACTION, content=b'{"accountId": 0, "adminAction": ', headers=admin_headers)
    assert r.status_code == 400


# -- success: the wire shape of every action, the log row, the audit --


def test_set_admin_action_when_each_action_then_answered_stored_reported_and_logged(
    client: TestClient[Any], admin_headers: dict[str, str], world: World, clock: ManualClock
) -> None:
    """Every action through HTTP on one account: the answer's `accountRiskStatus` (its `adminTimestamp`
    in UTC with `Z`, `liquidateOnly` only while set), the same as `/item` reads, one log row each. The
    last call leaves `adminActionReason` out with a code other than `Other` (the reason is optional)."""
    account_id = world.demo_account_ids[3]
    actions = [a.value for a in AdminAction if a is not AdminAction.NORMAL] + ["Normal"]
    for n, action in enumerate(actions):
        clock.advance(1)
        _, log_before = db_snapshot(world.database_url)
        body = action_body(account_id, action=action, reason=f"set {action}")
        if action == "Normal":
            body = {"accountId": account_id, "adminAction": "Normal", "adminActionReasonCode": "CloseFraud"}
        r = client.post(SET_ACTION, json=body, headers=admin_headers)
        assert r.status_code == 200, action
        assert "errorText" not in r.json()
        status = r.json()["accountRiskStatus"]
        assert status["id"] == account_id
        assert status["adminAction"] == action
        assert status["adminTimestamp"] == clock.now().isoformat().replace("+00:00", "Z")
        if action == "LiquidateOnlyModeImmediately":
            assert status["liquidateOnly"] == clock.now().isoformat().replace("+00:00", "Z")
        if action == "Normal":
            assert "liquidateOnly" not in status
        assert db_snapshot(world.database_url)[1] == log_before + 1, action
        item = client.get(f"/v1/accountRiskStatus/item?id={account_id}", headers=admin_headers).json()
        assert item == status, (n, action)
    audit = client.get(f"/_autoliq/audit?accountId={account_id}", headers=admin_headers).json()
    assert (audit["entries"][-1]["reasonCode"], audit["entries"][-1]["reason"]) == ("CloseFraud", None)


def test_audit_when_actions_made_then_lists_actor_code_reason_and_time_oldest_first(
    client: TestClient[Any], admin_headers: dict[str, str], world: World, clock: ManualClock
) -> None:
    account_id = world.demo_account_ids[4]
    me = client.get("/v1/auth/me", headers=admin_headers).json()
    reason = ("Kontrolle 风险 🚫 " * 1000)[:8192]  # 8192 characters, not bytes, stored exactly
    t1 = clock.now()
    r = client.post(
        SET_ACTION,
        json=action_body(account_id, "LiquidateOnlyModeImmediately", reason=reason),
        headers=admin_headers,
    )
    assert r.status_code == 200 and "accountRiskStatus" in r.json()
    clock.advance(30)
    client.post(SET_ACTION, json=action_body(account_id, "Normal", "CloseFraud", None), headers=admin_headers)
    audit = client.get(f"/_autoliq/audit?accountId={account_id}", headers=admin_headers).json()
    assert audit["accountId"] == account_id
    entries = audit["entries"]
    assert [
        (e["adminAction"], e["reasonCode"], e["reason"], e["actor"], e["actorUserId"]) for e in entries
    ] == [
        ("LiquidateOnlyModeImmediately", "Other", reason, "user", me["userId"]),
        ("Normal", "CloseFraud", None, "user", me["userId"]),
    ]
    assert entries[0]["timestamp"] == t1.isoformat().replace("+00:00", "Z")
    assert entries[0]["id"] < entries[1]["id"]


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
    "malformed": (400, "body: is not valid JSON (Input data was truncated)"),
    "wrong type": (400, "accountId: Expected `int | null`, got `str`"),
    "int64 overflow": (400, "accountId: Expected `int` <= 9223372036854775807"),
    "not an object": (400, "body: Expected `object`, got `array`"),
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


def test_set_admin_action_when_the_service_fails_unexpectedly_then_500_without_internals_and_logged(
    client: TestClient[Any],
    admin_headers: dict[str, str],
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Arrange: a defect behind the hot route (answered by the edge's direct dispatch)
    services = client.app.state.services

    async def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(services.risk, "set_admin_auto_liq_action", broken)
    # Act
    r = client.post(SET_ACTION, json=action_body(world.demo_account_ids[0]), headers=admin_headers)
    # Assert: Litestar's own answer for a bug, through the same error table
    assert (r.status_code, r.json()) == (500, {"errorText": "Internal server error"})
    assert "secret" not in r.text
    assert any(
        "unhandled error on POST /v1/accountRiskStatus/setadminautoliqaction" in m for m in caplog.messages
    )
