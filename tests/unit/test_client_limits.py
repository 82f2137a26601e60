"""The SDK's pre-trade limit methods against a scripted server (tests/unit/test_client.py's, on both
twins): Tradovate's routes and bodies, reads in `ldeps` chunks, creates never repeated blindly,
updates retried after a lost answer, a refused delete raised with its errorText."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from autoliq.client import ApiError, PositionLimit, RiskParameter, ServerError
from tests.unit import test_client
from tests.unit.test_client import FakeTradovate, Twin, body_of, json_reply

LIMIT = "/v1/userAccountPositionLimit"
PARAMETER = "/v1/userAccountRiskParameter"

clock = test_client.clock
server = test_client.server
twin = test_client.twin


def test_position_limits_when_many_accounts_then_ldeps_in_chunks_of_500(
    twin: Callable[..., Twin], server: FakeTradovate
) -> None:
    def rows(request: httpx.Request) -> httpx.Response:
        ids = [int(i) for i in request.url.params["masterids"].split(",")]
        return json_reply([{"id": i, "accountId": i, "active": True, "totalBy": "Overall"} for i in ids])

    server.on(f"{LIMIT}/ldeps", rows)
    found = twin().position_limits(list(range(1, 1202)))
    assert [row["accountId"] for row in found] == list(range(1, 1202))
    assert [len(r.url.params["masterids"].split(",")) for r in server.sent(f"{LIMIT}/ldeps")] == [
        500,
        500,
        201,
    ]


def test_create_position_limit_when_sent_then_the_body_is_tradovates_and_the_answer_returned(
    twin: Callable[..., Twin], server: FakeTradovate
) -> None:
    limit: PositionLimit = {
        "accountId": 3,
        "active": True,
        "totalBy": "Contract",
        "contractId": 9,
        "longLimit": 2,
    }
    server.on(f"{LIMIT}/create", json_reply({**limit, "id": 41}))
    assert twin().create_position_limit(limit) == {**limit, "id": 41}
    assert body_of(server.sent(f"{LIMIT}/create")[0]) == limit


def test_create_position_limit_when_the_answer_is_lost_then_not_repeated(
    twin: Callable[..., Twin], server: FakeTradovate
) -> None:
    server.on(f"{LIMIT}/create", json_reply({"errorText": "Bad gateway"}, 502))
    with pytest.raises(ServerError):
        twin().create_position_limit({"accountId": 3, "active": True, "totalBy": "Overall"})
    assert len(server.sent(f"{LIMIT}/create")) == 1


def test_update_risk_parameter_when_the_first_answer_is_a_502_then_retried_once_more(
    twin: Callable[..., Twin], server: FakeTradovate
) -> None:
    parameter: RiskParameter = {"id": 5, "userAccountPositionLimitId": 41, "maxOpeningOrderQty": 3}
    server.on(f"{PARAMETER}/update", json_reply({"errorText": "Bad gateway"}, 502), json_reply(parameter))
    assert twin().update_risk_parameter(parameter) == parameter
    assert len(server.sent(f"{PARAMETER}/update")) == 2


def test_delete_when_refused_then_api_error_with_the_error_text_and_accepted_then_none(
    twin: Callable[..., Twin], server: FakeTradovate
) -> None:
    client = twin()
    server.on(f"{LIMIT}/deleteuseraccountpositionlimit", json_reply({"success": True}))
    assert client.delete_position_limit(41) is None
    assert body_of(server.sent(f"{LIMIT}/deleteuseraccountpositionlimit")[0]) == {
        "userAccountPositionLimitId": 41
    }
    server.on(
        f"{LIMIT}/deleteuseraccountriskparameter",
        json_reply({"success": False, "errorText": "Risk parameter not found"}),
    )
    with pytest.raises(ApiError, match="Risk parameter not found"):
        client.delete_risk_parameter(5)
    sent = server.sent(f"{LIMIT}/deleteuseraccountriskparameter")
    assert [json.loads(r.content) for r in sent] == [{"userAccountRiskParameterId": 5}]


def test_risk_parameters_when_read_then_ldeps_of_the_position_limits(
    twin: Callable[..., Twin], server: FakeTradovate
) -> None:
    server.on(f"{PARAMETER}/ldeps", json_reply([{"id": 5, "userAccountPositionLimitId": 41}]))
    assert twin().risk_parameters([41]) == [{"id": 5, "userAccountPositionLimitId": 41}]
    assert server.sent(f"{PARAMETER}/ldeps")[0].url.params["masterids"] == "41"
