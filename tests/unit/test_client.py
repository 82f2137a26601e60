"""The SDK (`autoliq.client`) against a scripted Tradovate (httpx.MockTransport): auth and renewal,
penalty tickets, 429 back-off, retries, read-back verification. Every scenario runs on both twins,
`Client` and `AsyncClient`, with an injected clock and sleep: nothing waits for real.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, get_type_hints

import httpx
import pytest

import autoliq.client
from autoliq.client import (
    DEMO_URL,
    LIVE_URL,
    LOCAL_URL,
    AccessDeniedError,
    AccessTokenResponse,
    Account,
    AccountRiskStatus,
    ActionNotAppliedError,
    AdminAction,
    ApiError,
    AsyncClient,
    AuthError,
    Client,
    ClientSettings,
    NotFoundError,
    OAuthMeResponse,
    OrderAction,
    OrderType,
    PenaltyTicketError,
    PlaceOrderResult,
    RateLimitedError,
    ReasonCode,
    ServerError,
    TimeInForce,
    TransportError,
    resolve_base_url,
    websocket_url,
)
from autoliq.client import errors as client_errors
from tests.contract import SERVED_BEYOND_OPENAPI, tradovate_document

BASE = "http://autoliq.test"
START = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
LOGIN = "/v1/auth/accesstokenrequest"
RENEW = "/v1/auth/renewaccesstoken"
ME = "/v1/auth/me"
SET_ACTION = "/v1/accountRiskStatus/setadminautoliqaction"
DEPS = "/v1/accountRiskStatus/deps"
ACCOUNTS = "/v1/account/list"
INCORRECT = "Incorrect username or password. Please try again."

# -- a scripted server --

Reply = httpx.Response | Callable[[httpx.Request], httpx.Response]


class FakeTradovate:
    """Answers each path from a script (the last reply repeats) and records every request."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.requests: list[httpx.Request] = []
        self.tokens_issued = 0
        self.routes: dict[str, list[Reply]] = {
            LOGIN: [self._grant],
            RENEW: [self._grant],
            ME: [json_reply({"userId": 7, "name": "admin"})],
        }

    def on(self, path: str, *replies: Reply) -> None:
        """Answer `path` with `replies` in turn, the last one from then on."""
        self.routes[path] = list(replies)

    def _grant(self, request: httpx.Request) -> httpx.Response:
        self.tokens_issued += 1
        expires = self.clock.now + timedelta(minutes=90)
        return json_reply(
            {
                "accessToken": f"t{self.tokens_issued}",
                "expirationTime": expires.isoformat().replace("+00:00", "Z"),
                "userId": 7,
                "name": "admin",
                "userStatus": "Active",
            }
        )

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        replies = self.routes.get(request.url.path)
        if replies is None:
            return json_reply({"errorText": "Not found"}, 404)
        reply = replies.pop(0) if len(replies) > 1 else replies[0]
        return reply(request) if callable(reply) else reply

    def sent(self, path: str) -> list[httpx.Request]:
        """The requests made to `path`, in order."""
        return [r for r in self.requests if r.url.path == path]


def json_reply(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def empty_reply(status: int, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, content=b"", headers=headers)


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content) if request.content else None


class FakeClock:
    """A clock that moves only when told."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


# -- both twins behind one synchronous face --


class Twin:
    """A `Client` or an `AsyncClient`; every method called synchronously (the async one on a loop)."""

    def __init__(self, kind: str, server: FakeTradovate, clock: FakeClock, **options: Any) -> None:
        self.kind = kind
        self.sleeps: list[float] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        options.setdefault("name", "admin")
        options.setdefault("password", "pw")
        if kind == "sync":
            self.client: Client | AsyncClient = Client(
                BASE, clock=clock, sleep=self.sleeps.append, transport=httpx.MockTransport(server), **options
            )
        else:

            async def sleep(seconds: float) -> None:
                self.sleeps.append(seconds)

            self._loop = asyncio.new_event_loop()
            self.client = AsyncClient(
                BASE, clock=clock, sleep=sleep, transport=httpx.MockTransport(server), **options
            )

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.client, name)
        if self._loop is None or not inspect.iscoroutinefunction(attribute):
            return attribute
        loop = self._loop
        return lambda *args, **kwargs: loop.run_until_complete(attribute(*args, **kwargs))

    def close(self) -> None:
        if isinstance(self.client, Client):
            self.client.close()
        else:
            assert self._loop is not None
            self._loop.run_until_complete(self.client.aclose())
            self._loop.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def server(clock: FakeClock) -> FakeTradovate:
    return FakeTradovate(clock)


@pytest.fixture(params=["sync", "async"])
def twin(
    request: pytest.FixtureRequest, server: FakeTradovate, clock: FakeClock
) -> Iterator[Callable[..., Twin]]:
    """Makes the client under test: `Client` or `AsyncClient` (each test runs on both)."""
    made: list[Twin] = []

    def make(**options: Any) -> Twin:
        made.append(Twin(request.param, server, clock, **options))
        return made[-1]

    yield make
    for t in made:
        t.close()


# -- login --


def test_client_when_login_refused_then_auth_error_carrying_the_error_text(
    twin: Callable[..., Twin], server: FakeTradovate
) -> None:
    server.on(LOGIN, json_reply({"errorText": INCORRECT}))
    client = twin(password="wrong", app_id="risk-desk", app_version="1.0", cid=0)

    with pytest.raises(AuthError) as caught:
        client.login()

    assert caught.value.error_text == INCORRECT
    assert client.token is None
    assert body_of(server.sent(LOGIN)[0]) == {
        "name": "admin",
        "password": "wrong",
        "appId": "risk-desk",
        "appVersion": "1.0",
        "cid": 0,
    }
    assert "Authorization" not in server.sent(LOGIN)[0].headers


def test_client_when_first_request_without_login_then_logs_in_and_sends_the_bearer_token(
    twin: Callable[..., Twin], server: FakeTradovate
) -> None:
    client = twin()

    me = client.me()

    assert me == {"userId": 7, "name": "admin"}
    assert [r.url.path for r in server.requests] == [LOGIN, ME]
    assert server.sent(ME)[0].headers["Authorization"] == "Bearer t1"
    assert client.token.expiration_time == START + timedelta(minutes=90)


def test_client_when_no_credentials_and_no_token_then_auth_error_and_nothing_sent(
    twin: Callable[..., Twin], server: FakeTradovate
) -> None:
    client = twin(name=None, password=None)

    with pytest.raises(AuthError):
        client.accounts()

    assert server.requests == []


# -- renewal --


def test_client_when_clock_passes_expiry_minus_margin_then_renewed_once_and_request_carries_new_token(
    twin: Callable[..., Twin], server: FakeTradovate, clock: FakeClock
) -> None:
    client = twin()
    client.login()
    client.me()
    assert server.sent(RENEW) == []  # 90 minutes left: nothing to renew

    clock.advance(minutes=75, seconds=1)  # 14 min 59 s left, inside the 15 min margin
    client.me()
    client.me()

    assert len(server.sent(RENEW)) == 1
    assert server.sent(RENEW)[0].headers["Authorization"] == "Bearer t1"
    assert [r.headers["Authorization"] for r in server.sent(ME)] == ["Bearer t1", "Bearer t2", "Bearer t2"]
    assert client.token.expiration_time == clock.now + timedelta(minutes=90)
    assert len(server.sent(LOGIN)) == 1


def test_client_when_answers_carry_md_access_token_then_token_keeps_it_and_a_renewal_without_one_too(
    twin: Callable[..., Twin], server: FakeTradovate, clock: FakeClock
) -> None:
    # Arrange: autoliq's login answer has mdAccessToken; a renewal answer here has none
    granted = {"accessToken": "t1", "mdAccessToken": "md1", "userId": 7, "name": "admin"}
    server.on(LOGIN, json_reply({**granted, "expirationTime": "2026-11-24T16:30:00Z"}))
    server.on(RENEW, json_reply({"accessToken": "t1", "expirationTime": "2026-11-24T18:00:00Z"}))
    client = twin()
    # Act
    logged_in = client.login()
    renewed = client.renew()
    # Assert
    assert (logged_in.md_access_token, renewed.md_access_token) == ("md1", "md1")
    assert "md1" not in repr(renewed)  # a secret, as the access token


def test_client_when_renew_margin_configured_then_renewal_waits_for_it(
    twin: Callable[..., Twin], server: FakeTradovate, clock: FakeClock
) -> None:
    client = twin(settings=ClientSettings(renew_margin=timedelta(minutes=5)))
    client.login()

    clock.advance(minutes=80)  # 10 min left: outside a 5 min margin
    client.me()
    assert server.sent(RENEW) == []
    clock.advance(minutes=6)  # 4 min left
    client.me()

    assert len(server.sent(RENEW)) == 1


def test_client_when_renewal_fails_then_logs_in_again_and_uses_the_new_token(
    twin: Callable[..., Twin], server: FakeTradovate, clock: FakeClock
) -> None:
    server.on(RENEW, json_reply({"errorText": "Access is denied"}, 401))
    client = twin()
    client.login()
    clock.advance(minutes=80)

    client.me()

    assert len(server.sent(RENEW)) == 1
    assert len(server.sent(LOGIN)) == 2
    assert server.sent(ME)[0].headers["Authorization"] == "Bearer t2"


def test_client_when_token_already_expired_then_logs_in_again_without_renewing(
    twin: Callable[..., Twin], server: FakeTradovate, clock: FakeClock
) -> None:
    client = twin()
    client.login()
    clock.advance(minutes=91)

    client.me()

    assert server.sent(RENEW) == []
    assert len(server.sent(LOGIN)) == 2
    assert server.sent(ME)[0].headers["Authorization"] == "Bearer t2"


def test_client_when_async_tasks_share_a_fresh_client_then_one_login_and_one_renewal(
    server: FakeTradovate, clock: FakeClock
) -> None:
    async def suspending(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0)  # the other tasks run while this request is in flight
        return server(request)

    async def run() -> list[str]:
        async with AsyncClient(
            BASE, name="admin", password="pw", clock=clock, transport=httpx.MockTransport(suspending)
        ) as client:
            await asyncio.gather(*(client.me() for _ in range(3)))
            clock.advance(minutes=80)
            await asyncio.gather(*(client.me() for _ in range(3)))
            return [r.headers["Authorization"] for r in server.sent(ME)]

    bearers = asyncio.run(run())

    assert len(server.sent(LOGIN)) == 1  # a third login would close the first session
    assert len(server.sent(RENEW)) == 1
    assert bearers[:3] == ["Bearer t1"] * 3
    # while one task renews, the others go on with t1, which is still valid
    assert set(bearers[3:]) <= {"Bearer t1", "Bearer t2"}
    assert "Bearer t2" in bearers[3:]


# -- penalty tickets --


def test_client_when_penalty_ticket_then_waits_p_time_and_resends_the_body_with_the_ticket(
    twin: Callable[..., Twin], server: FakeTradovate
) -> None:
    server.on(
        SET_ACTION,
        json_reply({"p-ticket": "tk-1", "p-time": 7, "p-captcha": False}),
        json_reply({"accountRiskStatus": {"id": 42, "adminAction": "LockTradingImmediately"}}),
    )
    client = twin()

    result = client.lock(42, "risk review")

    first, second = server.sent(SET_ACTION)
    expected = {
        "accountId": 42,
        "adminAction": "LockTradingImmediately",
        "adminActionReasonCode": "Other",
        "adminActionReason": "risk review",
    }
    assert body_of(first) == expected
    assert body_of(second) == {**expected, "p-ticket": "tk-1"}
    assert client.sleeps == [7]
    assert result.applied
    assert result.status == {"id": 42, "adminAction": "LockTradingImmediately"}


def test_client_when_penalty_ticket_on_a_get_then_resent_with_the_ticket_as_query_parameter(
    twin: Callable[..., Twin], server: FakeTradovate
) -> None:
    server.on(ACCOUNTS, json_reply({"p-ticket": "tk-2", "p-time": 3}), json_reply([{"id": 1, "name": "A1"}]))
    client = twin()

    accounts = client.accounts()

    first, second = server.sent(ACCOUNTS)
    assert "p-ticket" not in first.url.params
    assert second.url.params["p-ticket"] == "tk-2"
    assert accounts == [{"id": 1, "name": "A1"}]
    assert client.sleeps == [3]


def test_client_when_penalty_ticket_asks_for_captcha_then_error_and_no_retry(
    twin: Callable[..., Twin], server: FakeTradovate
) -> None:
    server.on(SET_ACTION, json_reply({"p-ticket": "tk-3", "p-time": 60, "p-captcha": True}))
    client = twin()

    with pytest.raises(PenaltyTicketError) as caught:
        client.lock(42, "risk review")

    assert caught.value.captcha is True
    assert caught.value.ticket == "tk-3"
    assert len(server.sent(SET_ACTION)) == 1
    assert client.sleeps == []


def test_client_when_penalty_tickets_keep_coming_then_error_after_the_allowed_resends(
    twin: Callable[..., Twin], server: FakeTradovate
) -> None:
    server.on(SET_ACTION, json_reply({"p-ticket": "tk-4", "p-time": 2}))
    client = twin(settings=ClientSettings(penalty_retries=2))

    with pytest.raises(PenaltyTicketError) as caught:
        client.lock(42, "risk review")

    assert caught.value.captcha is False
    assert len(server.sent(SET_ACTION)) == 3
    assert client.sleeps == [2, 2]


def test_client_when_p_time_beyond_the_penalty_budget_then_error_without_waiting(
    twin: Callable[..., Twin], server: FakeTradovate
) -> None:
    server.on(ACCOUNTS, json_reply({"p-ticket": "tk-5", "p-time": 3600}))
    client = twin()

    with pytest.raises(PenaltyTicketError):
        client.accounts()

    assert client.sleeps == []
    assert len(server.sent(ACCOUNTS)) == 1


# -- 429 --


def test_client_when_429_then_backs_off_exponentially_or_per_retry_after_then_succeeds(
    twin: Callable[..., Twin], server: FakeTradovate
) -> None:
    server.on(
        ACCOUNTS,
        empty_reply(429),
        empty_reply(429),
        empty_reply(429, {"Retry-After": "5"}),
        json_reply([{"id": 1}]),
    )
    client = twin()

    accounts = client.accounts()

    assert accounts == [{"id": 1}]
    assert client.sleeps == [1.0, 2.0, 5.0]
    assert len(server.sent(ACCOUNTS)) == 4


def test_client_when_429_past_the_budget_then_rate_limited_error(
    twin: Callable[..., Twin], server: FakeTradovate
) -> None:
    server.on(SET_ACTION, empty_reply(429))
    client = twin(settings=ClientSettings(rate_limit_budget=10.0, rate_limit_base=1.0, rate_limit_cap=30.0))

    with pytest.raises(RateLimitedError) as caught:
        client.lock(42, "risk review")

    assert client.sleeps == [1.0, 2.0, 4.0]  # the next, 8 s, would pass 10 s
    assert caught.value.waited == 7.0
    assert caught.value.retry_after is None
    assert len(server.sent(SET_ACTION)) == 4


def test_client_when_429_says_retry_in_an_hour_then_gives_up_at_once_by_default(
    twin: Callable[..., Twin], server: FakeTradovate
) -> None:
    server.on(ACCOUNTS, empty_reply(429, {"Retry-After": "3600"}))
    client = twin()

    with pytest.raises(RateLimitedError) as caught:
        client.accounts()

    assert caught.value.retry_after == 3600.0
    assert client.sleeps == []


# -- retries: reads yes, writes never blindly --


def test_client_when_read_gets_5xx_then_retried(twin: Callable[..., Twin], server: FakeTradovate) -> None:
    server.on(ACCOUNTS, empty_reply(503), json_reply([{"id": 1}]))
    client = twin()

    assert client.accounts() == [{"id": 1}]
    assert client.sleeps == [0.5]


def test_client_when_read_loses_its_answer_then_retried(
    twin: Callable[..., Twin], server: FakeTradovate
) -> None:
    def lost(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no answer", request=request)

    server.on(ACCOUNTS, lost, json_reply([{"id": 1}]))
    client = twin()

    assert client.accounts() == [{"id": 1}]
    assert len(server.sent(ACCOUNTS)) == 2


def test_client_when_write_gets_5xx_without_verify_then_server_error_marked_ambiguous_and_not_repeated(
    twin: Callable[..., Twin], server: FakeTradovate
) -> None:
    server.on(SET_ACTION, empty_reply(503))
    client = twin()

    with pytest.raises(ServerError) as caught:
        client.lock(42, "risk review")

    assert caught.value.ambiguous is True
    assert len(server.sent(SET_ACTION)) == 1
    assert server.sent(DEPS) == []


def test_client_when_write_loses_its_answer_without_verify_then_transport_error_and_not_repeated(
    twin: Callable[..., Twin], server: FakeTradovate
) -> None:
    def lost(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no answer", request=request)

    server.on(SET_ACTION, lost)
    client = twin()

    with pytest.raises(TransportError) as caught:
        client.lock(42, "risk review")

    assert caught.value.ambiguous is True
    assert len(server.sent(SET_ACTION)) == 1


# -- verify: read-back --


def test_client_when_verify_and_read_back_shows_another_admin_action_then_not_applied_error(
    twin: Callable[..., Twin], server: FakeTradovate
) -> None:
    server.on(
        SET_ACTION, json_reply({"accountRiskStatus": {"id": 42, "adminAction": "LockTradingImmediately"}})
    )
    server.on(DEPS, json_reply([{"id": 42, "adminAction": "Normal"}]))
    client = twin()

    with pytest.raises(ActionNotAppliedError) as caught:
        client.lock(42, "risk review", verify=True)

    result = caught.value.result
    assert result.applied is False
    assert result.verified is True
    assert result.read_back == {"id": 42, "adminAction": "Normal"}
    assert server.sent(DEPS)[0].url.params["masterid"] == "42"
    assert "asked LockTradingImmediately" in str(caught.value)
    assert "shows Normal" in str(caught.value)


def test_client_when_verify_and_read_back_confirms_then_applied_result(
    twin: Callable[..., Twin], server: FakeTradovate
) -> None:
    server.on(SET_ACTION, json_reply({"accountRiskStatus": {"id": 42, "adminAction": "Normal"}}))
    server.on(DEPS, json_reply([{"id": 42, "adminAction": "Normal"}]))
    client = twin()

    result = client.unlock(42, "review done", verify=True)

    assert (result.applied, result.verified, result.write_error) == (True, True, None)
    assert result.read_back == {"id": 42, "adminAction": "Normal"}


def test_client_when_verify_and_write_answer_lost_then_read_back_decides_applied(
    twin: Callable[..., Twin], server: FakeTradovate
) -> None:
    server.on(SET_ACTION, empty_reply(502))
    server.on(DEPS, json_reply([{"id": 42, "adminAction": "LiquidateImmediately"}]))
    client = twin()

    result = client.liquidate(42, "margin call", verify=True)

    assert result.applied is True
    assert result.status is None
    assert isinstance(result.write_error, ServerError)
    assert len(server.sent(SET_ACTION)) == 1  # never repeated blindly


def test_client_when_verify_and_write_answer_lost_and_read_back_differs_then_not_applied_error(
    twin: Callable[..., Twin], server: FakeTradovate
) -> None:
    server.on(SET_ACTION, empty_reply(502))
    server.on(DEPS, json_reply([{"id": 42, "adminAction": "Normal"}]))
    client = twin()

    with pytest.raises(ActionNotAppliedError) as caught:
        client.liquidate_only(42, "review", verify=True)

    assert isinstance(caught.value.__cause__, ServerError)
    assert "the write failed" in str(caught.value)


def test_client_when_business_error_then_api_error_with_the_text_and_no_read_back(
    twin: Callable[..., Twin], server: FakeTradovate
) -> None:
    server.on(SET_ACTION, json_reply({"errorText": "Admin Action Reason should be specified"}))
    client = twin()

    with pytest.raises(ApiError) as caught:
        client.set_admin_auto_liq_action(42, AdminAction.LOCK_TRADING_IMMEDIATELY, verify=True)

    assert caught.value.error_text == "Admin Action Reason should be specified"
    assert "adminActionReason" not in body_of(server.sent(SET_ACTION)[0])
    assert server.sent(DEPS) == []


# -- other answers --


def test_client_when_401_or_404_then_access_denied_or_not_found(
    twin: Callable[..., Twin], server: FakeTradovate
) -> None:
    server.on("/v1/account/item", json_reply({"errorText": "Not found"}, 404))
    server.on(ACCOUNTS, json_reply({"errorText": "Access is denied"}, 401))
    client = twin()

    with pytest.raises(NotFoundError) as not_found:
        client.account(999)
    with pytest.raises(AccessDeniedError) as denied:
        client.accounts()

    assert not_found.value.status_code == 404
    assert denied.value.error_text == "Access is denied"
    assert len(server.sent(ACCOUNTS)) == 1  # a 401 is not retried


def test_client_when_order_refused_then_failure_returned_as_a_value(
    twin: Callable[..., Twin], server: FakeTradovate
) -> None:
    refusal = {"failureReason": "TradingLocked", "failureText": "Trading is locked"}
    server.on("/v1/order/placeorder", json_reply(refusal))
    client = twin()

    result = client.place_order(
        42, OrderAction.BUY, "ESZ6", 1, OrderType.LIMIT, price=5012.25, time_in_force=TimeInForce.GTC
    )

    assert result == refusal
    assert body_of(server.sent("/v1/order/placeorder")[0]) == {
        "accountId": 42,
        "action": "Buy",
        "symbol": "ESZ6",
        "orderQty": 1,
        "orderType": "Limit",
        "price": 5012.25,
        "timeInForce": "GTC",
    }


def test_client_when_generic_request_then_same_handling_and_paths_resolved(
    twin: Callable[..., Twin], server: FakeTradovate
) -> None:
    server.on("/_autoliq/clock", empty_reply(429), json_reply({"now": "2026-11-24T15:00:00Z"}))
    server.on("/v1/riskCategory/list", json_reply([{"id": 1, "name": "Default"}]))
    client = twin()

    clock_answer = client.request("GET", "/_autoliq/clock")
    categories = client.request("GET", "riskCategory/list")

    assert clock_answer == {"now": "2026-11-24T15:00:00Z"}
    assert categories == [{"id": 1, "name": "Default"}]
    assert client.sleeps == [1.0]


def test_client_when_risk_reads_then_tradovate_paths_and_parameters(
    twin: Callable[..., Twin], server: FakeTradovate
) -> None:
    server.on("/v1/accountRiskStatusLog/deps", json_reply([{"id": 1, "accountId": 42}]))
    server.on("/_autoliq/audit", json_reply({"accountId": 42, "entries": []}))
    server.on("/v1/accountRiskStatus/item", json_reply({"id": 42, "adminAction": "Normal"}))
    server.on("/v1/accountRiskStatus/list", json_reply([]))
    client = twin()

    client.risk_status_log(42)
    client.audit(42)
    client.risk_status(42)
    client.risk_statuses()

    sent = [(r.method, r.url.path, dict(r.url.params)) for r in server.requests if r.url.path != LOGIN]
    assert sent == [
        ("GET", "/v1/accountRiskStatusLog/deps", {"masterid": "42"}),
        ("GET", "/_autoliq/audit", {"accountId": "42"}),
        ("GET", "/v1/accountRiskStatus/item", {"id": "42"}),
        ("GET", "/v1/accountRiskStatus/list", {}),
    ]


# -- the surface --


STREAMS = {
    "subscribe",
    "subscribe_quote",
    "subscribe_dom",
    "subscribe_histogram",
    "stream_chart",
    "stream_ticks",
}
"""The methods that return a stream (`with` / `async with` it) rather than an answer."""


def test_client_when_twins_compared_then_same_methods_with_the_same_parameters() -> None:
    def surface(cls: type) -> dict[str, inspect.Signature]:
        return {
            name: inspect.signature(member)
            for name, member in vars(cls).items()
            if callable(member) and not name.startswith("_")
        }

    sync, async_ = surface(Client), surface(AsyncClient)
    assert set(sync) - {"close"} == set(async_) - {"aclose"}
    for name in set(sync) - {"close"}:
        # the streams are returned on both, not awaited; only the async ones take their heartbeat's sleep
        assert inspect.iscoroutinefunction(getattr(AsyncClient, name)) == (name not in STREAMS), name
        sync_params = list(sync[name].parameters.values())
        async_params = [p for p in async_[name].parameters.values() if p.name != "heartbeat_sleep"]
        assert [(p.name, p.kind, p.default) for p in sync_params] == [
            (p.name, p.kind, p.default) for p in async_params
        ], name
        if name != "subscribe":  # its docstring names `with` and `async with`
            assert inspect.getdoc(getattr(Client, name)) == inspect.getdoc(getattr(AsyncClient, name)), name


def test_client_when_presets_given_then_tradovate_hosts_and_websocket_urls() -> None:
    assert resolve_base_url("local") == LOCAL_URL == "http://127.0.0.1:8080"
    assert resolve_base_url("demo") == DEMO_URL == "https://demo.tradovateapi.com"
    assert resolve_base_url("live") == LIVE_URL == "https://live.tradovateapi.com"
    assert resolve_base_url("https://demo.tradovateapi.com/v1/") == DEMO_URL
    assert websocket_url("demo") == "wss://demo.tradovateapi.com/v1/websocket"
    assert websocket_url("live") == "wss://live.tradovateapi.com/v1/websocket"
    assert websocket_url("local") == "ws://127.0.0.1:8080/v1/websocket"
    with pytest.raises(ValueError):
        resolve_base_url("staging")


def _openapi() -> dict[str, Any]:
    return tradovate_document()


@pytest.mark.parametrize(
    ("enum", "schema"),
    [
        (AdminAction, "SetAdminAutoLiqActionAdminAction"),
        (AdminAction, "AccountRiskStatusAdminAction"),
        (ReasonCode, "SetAdminAutoLiqActionAdminActionReasonCode"),
        (OrderAction, "PlaceOrderAction"),
        (OrderType, "PlaceOrderOrderType"),
        (TimeInForce, "PlaceOrderTimeInForce"),
    ],
)
def test_client_enums_when_compared_with_tradovate_openapi_then_the_same_strings(
    enum: Any, schema: str
) -> None:
    assert sorted(m.value for m in enum) == sorted(_openapi()["components"]["schemas"][schema]["enum"])


@pytest.mark.parametrize(
    ("model", "schema"),
    [
        (AccessTokenResponse, "AccessTokenResponse"),
        (OAuthMeResponse, "OAuthMeResponse"),
        (Account, "Account"),
        (AccountRiskStatus, "AccountRiskStatus"),
        (PlaceOrderResult, "PlaceOrderResult"),
    ],
)
def test_client_models_when_compared_with_tradovate_openapi_then_the_same_field_names(
    model: Any, schema: str
) -> None:
    # The official schema's fields, and those autoliq serves beyond it (docs/api.md)
    official = set(_openapi()["components"]["schemas"][schema]["properties"])
    assert set(get_type_hints(model)) == official | set(SERVED_BEYOND_OPENAPI.get(schema, {}))


def test_client_settings_when_negative_then_refused() -> None:
    with pytest.raises(ValueError):
        ClientSettings(rate_limit_budget=-1)
    with pytest.raises(ValueError):
        ClientSettings(renew_margin=timedelta(minutes=-1))


def test_client_docs_when_read_then_name_every_method_setting_and_error() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "sdk.md").read_text(encoding="utf-8")
    methods = {n for n in vars(Client) if not n.startswith("_") and callable(vars(Client)[n])} - {"close"}
    settings = {f.name for f in dataclasses.fields(ClientSettings)}
    missing = sorted(
        name
        for name in methods | {"subscribe"} | settings | set(client_errors.__all__)
        if not re.search(rf"(?<!\w){re.escape(name)}(?!\w)", doc)
    )
    assert missing == []
    assert set(client_errors.__all__) <= set(autoliq.client.__all__)
