"""The plain-ASGI setadminautoliqaction answers exactly as the framework route does."""

from __future__ import annotations

import json
from typing import Any

import pytest

from autoliq.domain.states import Environment
from autoliq.service.clock import ManualClock
from tests.conftest import ADMIN_PW, OTHER_ADMIN_PW, TRADER_PW, World, bearer, login
from tests.helpers import SET_ACTION, action_body, app_client, db_snapshot


def _requests(world: World) -> list[tuple[str, str, bytes]]:
    """(who, description, raw body) for every kind of answer the endpoint gives."""
    a = world.demo_account_ids[0]
    big = json.dumps(action_body(a, reason="x" * (1024 * 1024))).encode()
    return [
        ("admin", "lock", json.dumps(action_body(a)).encode()),
        ("admin", "liquidate-only", json.dumps(action_body(a, "LiquidateOnlyModeImmediately")).encode()),
        (
            "admin",
            "normal, code without reason",
            json.dumps(action_body(a, "Normal", "CloseFraud", None)).encode(),
        ),
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
    ]


def _answers(world: World, clock: ManualClock, fast: bool, **settings: Any) -> list[tuple[int, Any]]:
    out: list[tuple[int, Any]] = []
    with app_client(world.database_url, clock, fast_path=fast, **settings) as c:
        headers = {
            "admin": bearer(login(c, "admin", ADMIN_PW)),
            "trader": bearer(login(c, "trader", TRADER_PW)),
            "other": bearer(login(c, "other-admin", OTHER_ADMIN_PW)),
            "none": {},
            "forged": bearer("forged-token"),
        }
        for who, _, raw in _requests(world):
            r = c.post(SET_ACTION, content=raw, headers={**headers[who], "content-type": "application/json"})
            out.append((r.status_code, r.json()))
    return out


def test_fast_path_when_every_kind_of_request_then_same_answers_as_framework_route(
    world: World, clock: ManualClock
) -> None:
    framework = _answers(world, clock, fast=False)
    log_after_framework = db_snapshot(world.database_url)[1]
    fast = _answers(world, clock, fast=True)
    labels = [label for _, label, _ in _requests(world)]
    assert dict(zip(labels, fast, strict=True)) == dict(zip(labels, framework, strict=True))
    # The three successful requests wrote a log row each, on both paths.
    assert db_snapshot(world.database_url)[1] == 2 * log_after_framework == 6
    statuses = {label: code for label, (code, _) in zip(labels, fast, strict=True)}
    assert statuses["lock"] == 200 and statuses["over 1 MiB"] == 413 and statuses["no token"] == 401
    assert (
        statuses["wrong type"] == 400 and statuses["other organization"] == 404 and statuses["trader"] == 401
    )


@pytest.mark.parametrize("environment", [Environment.REPLAY, Environment.LIVE])
def test_fast_path_when_not_demo_then_same_answer_as_framework_route(
    world: World, clock: ManualClock, environment: Environment
) -> None:
    assert _answers(world, clock, fast=True, environment=environment) == _answers(
        world, clock, fast=False, environment=environment
    )


PLACE_ORDER = "/v1/order/placeorder"


def _order_requests(world: World) -> list[tuple[str, str, bytes]]:
    """(who, description, raw body) for every kind of answer placeorder gives."""
    free, locked = world.demo_account_ids[0], world.demo_account_ids[1]

    def body(account_id: int, **extra: Any) -> bytes:
        base = {"accountId": account_id, "action": "Buy", "symbol": "ESZ6", "orderQty": 1}
        return json.dumps({**base, "orderType": "Market", **extra}).encode()

    return [
        ("admin", "market fill", body(free)),
        ("admin", "limit rests", body(free, orderType="Limit", price=4000.25)),
        ("admin", "locked", body(locked)),
        ("admin", "no quote", body(free, symbol="NQZ6")),
        ("admin", "unknown contract", body(free, symbol="ZZZ9")),
        ("admin", "off-tick price", body(free, orderType="Limit", price=4000.1)),
        ("admin", "zero quantity", body(free, orderQty=0)),
        ("admin", "unknown time in force", body(free, timeInForce="Forever")),
        ("admin", "unknown account", body(987654321)),
        ("admin", "malformed", b'{"accountId": '),
        # One error per body: with several, the framework's decoder may name another one first.
        ("admin", "wrong type", body(free, accountId=str(free))),
        ("admin", "over 1 MiB", body(free, text="x" * (1024 * 1024))),
        ("trader", "trader", body(free)),
        ("other", "other organization", body(free)),
        ("none", "no token", body(free)),
        ("forged", "forged token", body(free)),
    ]


def _order_answers(world: World, clock: ManualClock, fast: bool) -> list[tuple[int, Any]]:
    out: list[tuple[int, Any]] = []
    with app_client(world.database_url, clock, fast_path=fast) as c:
        admin = bearer(login(c, "admin", ADMIN_PW))
        headers = {
            "admin": admin,
            "trader": bearer(login(c, "trader", TRADER_PW)),
            "other": bearer(login(c, "other-admin", OTHER_ADMIN_PW)),
            "none": {},
            "forged": bearer("forged-token"),
        }
        prices = {"prices": [{"symbol": "ESZ6", "price": 5000.25}]}
        assert c.post("/_autoliq/prices", json=prices, headers=admin).status_code == 200
        lock = c.post(SET_ACTION, json=action_body(world.demo_account_ids[1]), headers=admin)
        assert lock.status_code == 200
        for who, _, raw in _order_requests(world):
            r = c.post(PLACE_ORDER, content=raw, headers={**headers[who], "content-type": "application/json"})
            answer = r.json()
            if isinstance(answer, dict) and "orderId" in answer:
                answer = {**answer, "orderId": "an id"}  # ids differ between the two runs
            out.append((r.status_code, answer))
    return out


def test_fast_placeorder_when_every_kind_of_request_then_same_answers_as_framework_route(
    world: World, clock: ManualClock
) -> None:
    framework = _order_answers(world, clock, fast=False)
    orders_after_framework = _order_count(world)
    fast = _order_answers(world, clock, fast=True)
    labels = [label for _, label, _ in _order_requests(world)]
    assert dict(zip(labels, fast, strict=True)) == dict(zip(labels, framework, strict=True))
    answers = dict(zip(labels, fast, strict=True))
    assert answers["market fill"] == (200, {"orderId": "an id"})
    assert answers["locked"][1]["failureReason"] == "TradingLocked"
    assert answers["no quote"][1]["failureReason"] == "NoQuote"
    assert answers["over 1 MiB"][0] == 413 and answers["no token"][0] == 401
    assert answers["wrong type"][0] == 400
    # Each run stored the same orders: the fill and the resting limit (and the trader's, if accepted).
    assert _order_count(world) == 2 * orders_after_framework >= 4


def _order_count(world: World) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(world.database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM trade_order")).scalar_one())
    finally:
        engine.dispose()
