"""The SDK's many-account writes against a scripted server (tests/unit/test_client.py's, on both twins):
autoliq's bulk route when the server has it, one request per account when it answers 404 (Tradovate,
remembered per client), each account's outcome as the single call's, read back by
`accountRiskStatus/items` in chunks."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from autoliq.client import (
    AccessDeniedError,
    ActionNotAppliedError,
    ActionResult,
    ApiError,
    AsyncClient,
    BulkUnavailableError,
    Client,
    NotFoundError,
    ServerError,
)
from tests.unit import test_client
from tests.unit.test_client import (
    DEPS,
    SET_ACTION,
    FakeClock,
    FakeTradovate,
    Twin,
    body_of,
    empty_reply,
    json_reply,
)

BULK = "/_autoliq/bulk/setadminautoliqaction"
ITEMS = "/v1/accountRiskStatus/items"
LOCK = "LockTradingImmediately"


# The scripted server and the two clients of tests/unit/test_client.py, as its own tests get them.
clock = test_client.clock
server = test_client.server
twin = test_client.twin


class Statuses:
    """A server's risk statuses: the bulk route, the single route and `items` over one dict."""

    def __init__(self, *account_ids: int) -> None:
        self.actions = dict.fromkeys(account_ids, "Normal")

    def status(self, account_id: int) -> dict[str, Any]:
        return {"id": account_id, "adminAction": self.actions[account_id]}

    def bulk(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        results = []
        for account_id in body["accountIds"]:
            if account_id not in self.actions:
                results.append({"accountId": account_id, "httpStatus": 404, "errorText": "Not found"})
                continue
            self.actions[account_id] = body["adminAction"]
            results.append(
                {"accountId": account_id, "httpStatus": 200, "accountRiskStatus": self.status(account_id)}
            )
        return json_reply({"results": results})

    def single(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        account_id = body["accountId"]
        if account_id not in self.actions:
            return json_reply({"errorText": "Not found"}, 404)
        self.actions[account_id] = body["adminAction"]
        return json_reply({"accountRiskStatus": self.status(account_id)})

    def items(self, request: httpx.Request) -> httpx.Response:
        ids = [int(i) for i in request.url.params["ids"].split(",")]
        return json_reply([self.status(i) for i in ids if i in self.actions])


def read_ids(server: FakeTradovate) -> list[list[int]]:
    return [[int(i) for i in r.url.params["ids"].split(",")] for r in server.sent(ITEMS)]


def test_many_when_server_has_the_bulk_route_then_one_write_one_read_and_each_accounts_outcome(
    twin: Callable[..., Twin], server: FakeTradovate
) -> None:
    statuses = Statuses(1, 3)
    server.on(BULK, statuses.bulk)
    server.on(ITEMS, statuses.items)
    client = twin()

    outcomes = client.lock_many([1, 2, 3], "desk halt", verify=True)

    assert [type(o) for o in outcomes] == [ActionResult, NotFoundError, ActionResult]
    assert all(o.applied and o.verified for o in outcomes if isinstance(o, ActionResult))
    assert outcomes[0].read_back == {"id": 1, "adminAction": LOCK}
    (write,) = server.sent(BULK)
    assert body_of(write) == {
        "accountIds": [1, 2, 3],
        "adminAction": LOCK,
        "adminActionReasonCode": "Other",
        "adminActionReason": "desk halt",
    }
    assert read_ids(server) == [[1, 3]]  # the refused account is not read back
    assert server.sent(SET_ACTION) == [] and server.sent(DEPS) == []
    assert client.bulk_route is True


def test_many_when_bulk_route_answers_404_then_one_request_per_account_and_remembered(
    twin: Callable[..., Twin], server: FakeTradovate
) -> None:
    statuses = Statuses(1, 2, 3)
    server.on(SET_ACTION, statuses.single)
    server.on(ITEMS, statuses.items)
    client = twin()

    first = client.unlock_many([1, 2], "review done", verify=True)
    second = client.lock_many([3], "risk", verify=True)

    assert all(isinstance(o, ActionResult) and o.applied for o in first + second)
    assert len(server.sent(BULK)) == 1  # asked once: the client remembers the 404
    assert client.bulk_route is False
    assert [body_of(r)["accountId"] for r in server.sent(SET_ACTION)] == [1, 2, 3]
    assert read_ids(server) == [[1, 2], [3]]  # one read per call, not one per account
    assert server.sent(DEPS) == []
    with pytest.raises(BulkUnavailableError):
        client.bulk_set_admin_auto_liq_action([1], LOCK, reason="x")


def test_many_when_per_account_statuses_then_the_single_calls_errors_and_5xx_settled_by_read_back(
    twin: Callable[..., Twin], server: FakeTradovate
) -> None:
    results = [
        {"accountId": 1, "httpStatus": 200, "errorText": "Admin Action Reason should be specified"},
        {"accountId": 2, "httpStatus": 401, "errorText": "Access is denied"},
        {"accountId": 3, "httpStatus": 503, "errorText": "Storage unavailable"},
        {"accountId": 4, "httpStatus": 503, "errorText": "Storage unavailable"},
    ]
    server.on(BULK, json_reply({"results": results}))
    server.on(ITEMS, json_reply([{"id": 3, "adminAction": LOCK}, {"id": 4, "adminAction": "Normal"}]))
    client = twin()

    outcomes = client.lock_many([1, 2, 3, 4], "x", verify=True)

    assert isinstance(outcomes[0], ApiError)
    assert outcomes[0].error_text == "Admin Action Reason should be specified"
    assert isinstance(outcomes[1], AccessDeniedError)
    applied, not_applied = outcomes[2], outcomes[3]
    assert isinstance(applied, ActionResult) and applied.applied
    assert isinstance(applied.write_error, ServerError) and applied.write_error.ambiguous
    assert isinstance(not_applied, ActionNotAppliedError)
    assert not_applied.result.write_error is not None
    assert read_ids(server) == [[3, 4]]  # only the unknown outcomes are read


def test_many_when_the_whole_write_fails_with_5xx_then_each_read_back_and_nothing_resent(
    twin: Callable[..., Twin], server: FakeTradovate
) -> None:
    server.on(BULK, empty_reply(502))
    server.on(ITEMS, json_reply([{"id": 1, "adminAction": LOCK}, {"id": 2, "adminAction": "Normal"}]))
    client = twin()

    outcomes = client.lock_many([1, 2], "x", verify=True)

    assert isinstance(outcomes[0], ActionResult) and isinstance(outcomes[0].write_error, ServerError)
    assert isinstance(outcomes[1], ActionNotAppliedError)
    assert len(server.sent(BULK)) == 1 and server.sent(SET_ACTION) == []


def test_many_when_read_back_fails_then_each_account_gets_the_read_error(
    twin: Callable[..., Twin], server: FakeTradovate
) -> None:
    statuses = Statuses(1, 2)
    server.on(BULK, statuses.bulk)
    server.on(ITEMS, empty_reply(500))
    client = twin()

    outcomes = client.lock_many([1, 2], "x", verify=True)

    assert all(isinstance(o, ServerError) and not o.ambiguous for o in outcomes)


def test_many_without_verify_then_applied_from_the_answer_and_no_read(
    twin: Callable[..., Twin], server: FakeTradovate
) -> None:
    statuses = Statuses(1)
    server.on(BULK, statuses.bulk)
    client = twin()

    (outcome,) = client.liquidate_only_many([1], "x")

    assert isinstance(outcome, ActionResult) and outcome.applied and not outcome.verified
    assert server.sent(ITEMS) == []


def test_many_when_more_ids_than_a_request_takes_then_chunked_writes_and_reads(
    twin: Callable[..., Twin], server: FakeTradovate
) -> None:
    ids = list(range(1, 10_002))
    statuses = Statuses(*ids)
    server.on(BULK, statuses.bulk)
    server.on(ITEMS, statuses.items)
    client = twin()

    outcomes = client.set_admin_auto_liq_action_many(ids, LOCK, reason="x", verify=True)

    assert all(isinstance(o, ActionResult) and o.applied for o in outcomes)
    assert [len(body_of(r)["accountIds"]) for r in server.sent(BULK)] == [10_000, 1]
    reads = read_ids(server)
    assert max(map(len, reads)) == 500 and sum(map(len, reads)) == len(ids)


@pytest.mark.parametrize("ids", [[], [1, 1], list(range(1, 10_002))], ids=["empty", "duplicate", "10001"])
def test_bulk_route_when_ids_out_of_bounds_then_value_error_before_sending(
    twin: Callable[..., Twin], server: FakeTradovate, ids: list[int]
) -> None:
    client = twin()

    with pytest.raises(ValueError):
        client.bulk_set_admin_auto_liq_action(ids, LOCK, reason="x")

    assert server.sent(BULK) == []


def test_many_when_bulk_route_answers_405_then_one_request_per_account(
    twin: Callable[..., Twin], server: FakeTradovate
) -> None:
    statuses = Statuses(1)
    server.on(BULK, json_reply({"errorText": "Method Not Allowed"}, 405))
    server.on(SET_ACTION, statuses.single)
    server.on(ITEMS, statuses.items)
    client = twin()

    (outcome,) = client.lock_many([1], "x", verify=True)

    assert isinstance(outcome, ActionResult) and outcome.applied
    assert client.bulk_route is False and len(server.sent(SET_ACTION)) == 1


@pytest.mark.parametrize("base_url", ["demo", "live", "https://demo.tradovateapi.com/v1"])
def test_many_when_tradovates_own_host_then_the_bulk_route_is_never_asked(
    server: FakeTradovate, clock: FakeClock, base_url: str
) -> None:
    statuses = Statuses(1, 2)
    server.on(SET_ACTION, statuses.single)
    server.on(ITEMS, statuses.items)
    transport = httpx.MockTransport(server)
    with Client(
        base_url, name="admin", password="pw", clock=clock, sleep=lambda _: None, transport=transport
    ) as client:
        assert client.bulk_route is False
        outcomes = client.lock_many([1, 2], "x", verify=True)
        with pytest.raises(BulkUnavailableError):
            client.set_admin_auto_liq_action_many([1], LOCK, reason="x", fallback=False)

    assert all(isinstance(o, ActionResult) and o.applied for o in outcomes)
    assert server.sent(BULK) == [] and len(server.sent(SET_ACTION)) == 2
    assert AsyncClient(base_url).bulk_route is False
