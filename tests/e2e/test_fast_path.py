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
