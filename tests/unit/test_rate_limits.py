"""The rate-limit profile: Tradovate's published numbers, and the rolling windows that apply them."""

from __future__ import annotations

import dataclasses

import pytest

from autoliq.config import Settings
from autoliq.domain.rate_limits import (
    PROFILES,
    TRADOVATE,
    EndpointLimit,
    RateLimiter,
    RateLimitProfile,
    WindowLimit,
)


def test_tradovate_profile_when_read_then_the_documented_numbers() -> None:
    assert TRADOVATE.authenticated == (WindowLimit(3600, 5000), WindowLimit(60, 5000), WindowLimit(1, 5000))
    assert TRADOVATE.anonymous == (WindowLimit(3600, 1000), WindowLimit(60, 1000), WindowLimit(1, 100))
    assert TRADOVATE.endpoint_window == 3600
    table = {(e.path, e.per_hour, e.backoff_seconds, e.counts_success) for e in TRADOVATE.endpoints.values()}
    assert table == {
        ("/v1/auth/accesstokenrequest", 5, 15, False),
        ("/v1/auth/renewaccesstoken", 15, 15, True),
        ("/v1/auth/me", 10, 30, False),
        ("/v1/user/createevaluationusers", 100, 1, False),
        ("/v1/user/createevaluationaccounts", 100, 1, False),
        ("/v1/user/syncrequest", 300, 3, True),
        ("/v1/accountriskstatus/switchriskcategory", 5000, 1, True),
        ("/v1/order/dryrun", 500, 1, True),
    }
    assert all(path == limit.path == path.lower() for path, limit in TRADOVATE.endpoints.items())
    assert PROFILES == {"off": None, "tradovate": TRADOVATE}


def test_settings_when_rate_limits_from_env_then_profile_name_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AUTOLIQ_RATE_LIMITS", "Tradovate")
    assert Settings.from_env().rate_limits == "tradovate"
    assert Settings().rate_limits == "off"
    with pytest.raises(ValueError, match="rate_limits must be off or tradovate"):
        Settings(rate_limits="strict")


def test_user_windows_when_full_then_refused_until_the_oldest_call_leaves_the_window() -> None:
    profile = RateLimitProfile("t", authenticated=(WindowLimit(10, 3), WindowLimit(1, 2)), anonymous=())
    limiter = RateLimiter(profile)

    admitted = [limiter.admit(7, authenticated=True, now=t) for t in (0.0, 0.5, 0.9, 1.5, 1.6, 9.9, 10.0)]

    # 0.9: the 1-second window is full; 1.5: room again there; 1.6 and 9.9: the 10-second one is full.
    assert admitted == [True, True, False, True, False, False, True]
    assert limiter.admit(8, authenticated=True, now=1.6)  # per key


def test_endpoint_when_past_its_hour_then_penalty_doubles_per_violation_and_only_failures_count() -> None:
    login = EndpointLimit("/v1/auth/accesstokenrequest", 2, 15, counts_success=False)
    limiter = RateLimiter(dataclasses.replace(TRADOVATE, endpoints={login.path: login}))

    for t in (0.0, 1.0, 2.0):
        assert limiter.penalty("ip", login, t) is None
        limiter.count("ip", login, t, failed=False)  # successes are not counted here
    limiter.count("ip", login, 3.0, failed=True)
    assert limiter.penalty("ip", login, 4.0) is None
    limiter.count("ip", login, 4.0, failed=True)

    backoffs = [limiter.penalty("ip", login, t) for t in (5.0, 6.0, 7.0)]

    assert backoffs == [15.0, 30.0, 60.0]
    assert limiter.penalty("other ip", login, 7.0) is None
    assert limiter.penalty("ip", login, 3604.0) is None  # the hour rolled past the failures


def test_endpoint_when_violations_keep_coming_then_back_off_capped_at_an_hour() -> None:
    limit = EndpointLimit("/v1/auth/me", 1, 30, counts_success=True)
    limiter = RateLimiter(dataclasses.replace(TRADOVATE, endpoints={limit.path: limit}))
    limiter.count("ip", limit, 0.0, failed=False)

    backoffs = [limiter.penalty("ip", limit, float(t)) for t in range(1, 12)]

    assert backoffs[:3] == [30.0, 60.0, 120.0] and backoffs[-1] == 3600.0


def test_limiter_when_swept_then_idle_keys_dropped() -> None:
    limiter = RateLimiter(RateLimitProfile("t", authenticated=(WindowLimit(1, 5),), anonymous=()))
    limiter.admit("a", authenticated=True, now=0.0)
    limiter.admit("b", authenticated=True, now=5.0)

    limiter.sweep(5.5)

    assert list(limiter._users) == ["b"]
