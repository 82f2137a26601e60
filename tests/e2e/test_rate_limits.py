"""`autoliq serve --rate-limits tradovate`: Tradovate's user-level 429s and endpoint-level penalty
tickets. The profile's real numbers are used where a test needs only a handful of calls; smaller
limits are injected (`Services.rate_limits`) where the real ones would take thousands."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from autoliq.api.app import create_app
from autoliq.bootstrap import bootstrap
from autoliq.domain.login_throttle import LoginPolicy, LoginThrottle
from autoliq.domain.rate_limits import TRADOVATE, EndpointLimit, RateLimitProfile, WindowLimit
from autoliq.service.clock import ManualClock
from tests.conftest import ADMIN_PW, TRADER_PW, World, bearer, login, make_settings
from tests.server import ServerProcess

LOGIN = "/v1/auth/accesstokenrequest"
WRONG = {"name": "admin", "password": "not the password"}
RIGHT = {"name": "admin", "password": ADMIN_PW}


@contextmanager
def limited(
    world: World,
    clock: ManualClock,
    profile: RateLimitProfile | None = TRADOVATE,
    login_policy: LoginPolicy | None = None,
) -> Iterator[TestClient[Any]]:
    """A client of an app enforcing `profile` (and `login_policy`'s login penalties, when given)."""
    services = bootstrap(make_settings(world.database_url), clock=clock, run_migrations=False)
    services.rate_limits = profile
    if login_policy is not None:
        services.auth.throttle = LoginThrottle(login_policy)
    with TestClient(app=create_app(services)) as client:
        yield client


def is_ticket(body: Any) -> bool:
    return isinstance(body, dict) and set(body) == {"p-ticket", "p-time", "p-captcha"}


def test_rate_limits_when_sixth_failed_login_within_the_hour_then_penalty_ticket_and_back_off_doubles(
    world: World, clock: ManualClock
) -> None:
    with limited(world, clock) as client:
        failures = [client.post(LOGIN, json=WRONG).json() for _ in range(5)]

        sixth = client.post(LOGIN, json=RIGHT)
        seventh = client.post(LOGIN, json=RIGHT).json()

        assert all(f == {"errorText": "Incorrect username or password. Please try again."} for f in failures)
        assert sixth.status_code == 200 and is_ticket(sixth.json())
        # Not processed: no token handed out; Tradovate's back-off for this endpoint, then doubled.
        assert (sixth.json()["p-time"], sixth.json()["p-captcha"]) == (15, False)
        assert is_ticket(seventh) and seventh["p-time"] == 30
        # Other endpoints are not held back by it.
        assert client.get("/v1/auth/me").status_code == 401


def test_rate_limits_when_logins_succeed_then_they_do_not_count(world: World, clock: ManualClock) -> None:
    with limited(world, clock) as client:
        answers = [client.post(LOGIN, json=RIGHT).json() for _ in range(7)]

    assert all("accessToken" in a for a in answers)


def test_rate_limits_when_ticket_resent_after_p_time_then_processed(world: World, clock: ManualClock) -> None:
    login_limit = EndpointLimit(LOGIN, 1, 0, counts_success=False)
    profile = dataclasses.replace(TRADOVATE, endpoints={LOGIN: login_limit})
    with limited(world, clock, profile) as client:
        client.post(LOGIN, json=WRONG)
        ticket = client.post(LOGIN, json=RIGHT).json()
        assert is_ticket(ticket) and ticket["p-time"] == 0

        resent = client.post(LOGIN, json={**RIGHT, "p-ticket": ticket["p-ticket"]}).json()
        spent = client.post(LOGIN, json={**RIGHT, "p-ticket": ticket["p-ticket"]}).json()

    assert "accessToken" in resent
    assert is_ticket(spent)  # a ticket is good once: past the limit, each call needs its own


def test_rate_limits_when_a_user_passes_its_user_level_limit_then_429_empty_body_for_that_user_only(
    world: World, clock: ManualClock
) -> None:
    profile = dataclasses.replace(TRADOVATE, authenticated=(WindowLimit(3600, 3),))
    with limited(world, clock, profile) as client:
        admin = bearer(login(client, "admin", ADMIN_PW))
        trader = bearer(login(client, "trader", TRADER_PW))
        answers = [client.get("/v1/account/list", headers=admin) for _ in range(4)]
        write = client.post(
            "/v1/accountRiskStatus/setadminautoliqaction",
            json={
                "accountId": 1,
                "adminAction": "Normal",
                "adminActionReasonCode": "Other",
                "adminActionReason": "x",
            },
            headers=admin,
        )
        others = client.get("/v1/account/list", headers=trader)
        ours = client.get("/_autoliq/clock", headers=admin)

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[3].content == b"" and answers[3].headers["content-length"] == "0"
    assert (write.status_code, write.content) == (
        429,
        b"",
    )  # placeorder (an ASGI route handler) too, not processed
    assert others.status_code == 200  # counted per user id
    assert ours.status_code == 200  # autoliq's own /_autoliq routes are not Tradovate's: not counted


def test_rate_limits_when_anonymous_calls_pass_the_ip_limit_then_429(
    world: World, clock: ManualClock
) -> None:
    profile = dataclasses.replace(TRADOVATE, anonymous=(WindowLimit(60, 2),))
    with limited(world, clock, profile) as client:
        statuses = [client.post(LOGIN, json=RIGHT).status_code for _ in range(3)]
        forged = client.get("/v1/account/list", headers={"Authorization": "Bearer forged"})

    assert statuses == [200, 200, 429]
    assert (forged.status_code, forged.content) == (429, b"")  # an invalid token counts as anonymous


def test_rate_limits_when_off_then_nothing_is_counted(world: World, clock: ManualClock) -> None:
    # The login penalties (always on, tests/e2e/test_login_penalties.py) are set past 8 failures
    # here: this test is about the profile's endpoint-level counting.
    with limited(world, clock, None, LoginPolicy(free_failures=100)) as client:
        answers = [client.post(LOGIN, json=WRONG).json() for _ in range(8)]

    assert all("errorText" in a for a in answers)


@pytest.mark.slow
def test_serve_when_rate_limits_tradovate_then_the_eleventh_failed_me_gets_a_30_second_ticket(
    tmp_path: Path,
) -> None:
    with (
        ServerProcess(
            f"sqlite:///{tmp_path / 'limits.db'}", tmp_path, extra_args=["--rate-limits", "tradovate"]
        ) as server,
        server.client() as client,
    ):
        answers = [client.get("/v1/auth/me") for _ in range(11)]

    assert [a.status_code for a in answers[:10]] == [401] * 10
    assert answers[10].status_code == 200 and is_ticket(answers[10].json())
    assert answers[10].json()["p-time"] == 30
