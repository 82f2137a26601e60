"""`RiskService.set_admin_auto_liq_actions` (the bulk route's service) over the in-memory fakes: each
account's outcome is what the single call returns or raises for it, in the request's order, and one
account's failing write never takes its neighbours' changes with it."""

from __future__ import annotations

from typing import Any

import pytest

from autoliq.domain.errors import NotFound, Unauthorized
from autoliq.domain.events import RiskStatusChanged
from autoliq.domain.model import RiskStatus
from autoliq.domain.states import AdminAction, Environment
from tests.unit.service.test_set_admin_action import ERROR_CASES, LOCK, UNKNOWN, Env, run


@pytest.fixture
def env() -> Env:
    return Env()


def bulk(env: Env, caller: Any, account_ids: list[Any], *args: Any) -> list[Any]:
    action, code, reason = args or (LOCK, "Other", "test")
    return run(env.service.set_admin_auto_liq_actions(caller, account_ids, action, code, reason))


def single(env: Env, caller: Any, account_id: Any, *args: Any) -> Any:
    """The single call's outcome: its result, or what it raised."""
    try:
        return env.set(caller, account_id, *args)
    except (NotFound, Unauthorized) as exc:
        return exc


def same(a: Any, b: Any) -> bool:
    if isinstance(a, Exception) or isinstance(b, Exception):
        return type(a) is type(b) and str(a) == str(b)
    return bool(a == b)


BODY_CASES = [case for case in ERROR_CASES if case.values[0][0] == 1]  # type: ignore[index]
"""The documented refusals of the body's other fields (the ids are the test's)."""


@pytest.mark.parametrize(("args", "error_text"), BODY_CASES)
def test_bulk_when_documented_cause_then_each_account_gets_the_single_calls_outcome_and_nothing_changes(
    env: Env, args: tuple[Any, ...], error_text: str
) -> None:
    _, action, code, reason = args
    ids = [env.world.demo_account_ids[0], 0, env.world.other_account_ids[0], UNKNOWN]
    before = env.snapshot()

    outcomes = bulk(env, env.world.admin, ids, action, code, reason)

    assert env.snapshot() == before and env.world.uow.writes == 0
    expected = [single(env, env.world.admin, a, action, code, reason) for a in ids]
    assert all(same(o, e) for o, e in zip(outcomes, expected, strict=True))


@pytest.mark.parametrize("caller", ["admin", "trader", "other_admin"])
def test_bulk_when_callers_of_each_role_then_each_account_gets_the_single_calls_outcome(
    caller: str,
) -> None:
    bulk_env, single_env = Env(), Env()
    user = getattr(bulk_env.world, caller)
    ids = [bulk_env.world.demo_account_ids[0], bulk_env.world.other_account_ids[0], UNKNOWN, -1]

    outcomes = bulk(bulk_env, user, ids)

    expected = [single(single_env, user, a) for a in ids]
    assert all(same(o, e) for o, e in zip(outcomes, expected, strict=True)), (outcomes, expected)
    assert bulk_env.snapshot() == single_env.snapshot()  # the same statuses, log rows and events


@pytest.mark.parametrize("environment", [Environment.REPLAY, Environment.LIVE])
def test_bulk_when_server_is_not_demo_then_each_valid_account_gets_the_environment_refusal(
    environment: Environment,
) -> None:
    env = Env(environment)
    ids = [env.world.demo_account_ids[0], 0, UNKNOWN]

    outcomes = bulk(env, env.world.admin, ids)

    assert all(same(o, single(env, env.world.admin, a)) for o, a in zip(outcomes, ids, strict=True))
    assert env.world.uow.writes == 0


def test_bulk_when_one_accounts_write_fails_then_it_alone_fails_and_the_others_land_and_publish(
    env: Env,
) -> None:
    ids = env.world.demo_account_ids[:3]
    failing_account = ids[1]
    liquidate = env.engine.liquidate

    def fail_one(store: Any, account_id: int, *rest: Any) -> None:
        if account_id == failing_account:
            raise RuntimeError("engine down")
        liquidate(store, account_id, *rest)

    env.engine.liquidate = fail_one  # type: ignore[method-assign]

    outcomes = bulk(env, env.world.admin, ids, "LiquidateImmediately", "Other", "desk halt")

    assert isinstance(outcomes[1], RuntimeError)
    for outcome, account_id in ((outcomes[0], ids[0]), (outcomes[2], ids[2])):
        assert isinstance(outcome, RiskStatus) and outcome.id == account_id
        assert outcome.admin_action is AdminAction.LIQUIDATE_IMMEDIATELY
        assert len(env.log(account_id)) == 1
    assert env.log(failing_account) == []
    published = [e.account_id for e in env.world.uow.published if isinstance(e, RiskStatusChanged)]
    assert sorted(published) == sorted([ids[0], ids[2]])
