"""Tradovate's rate limits as a profile, and the rolling windows that apply it (no I/O; times are
seconds of a monotonic clock, given by the caller).

Two tiers, as Tradovate's rate-limit page describes them:

- user level, per user id (per client IP for calls without a valid token), over every `/v1` call:
  a call past any of the windows is answered HTTP 429 with an empty body and is not processed;
- endpoint level, per client IP and endpoint, over a rolling hour: a call past the endpoint's limit
  gets a penalty ticket instead of an answer. Some endpoints count only failed calls ("Count
  Success: No"). Each further violation within the hour doubles the back-off (`p-time`), up to an
  hour. A resend carrying a valid ticket goes through and is counted like any call.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

HOUR = 3600.0
MAX_BACKOFF = 3600.0
_SWEEP_EVERY = 10_000
"""Calls between two sweeps of the keys that have been idle for longer than every window."""


@dataclass(frozen=True, slots=True)
class WindowLimit:
    """At most `limit` calls in any `seconds`-long rolling window."""

    seconds: float
    limit: int


@dataclass(frozen=True, slots=True)
class EndpointLimit:
    """One endpoint's hourly limit per IP and the back-off of its penalty tickets."""

    path: str
    """Lowercased `/v1/...` path."""
    per_hour: int
    backoff_seconds: float
    counts_success: bool
    """False: only failed calls (non-2xx, or a 200 with `errorText`) are counted."""


@dataclass(frozen=True, slots=True)
class RateLimitProfile:
    """The limits of one server family."""

    name: str
    authenticated: tuple[WindowLimit, ...]
    anonymous: tuple[WindowLimit, ...]
    endpoints: Mapping[str, EndpointLimit] = field(default_factory=dict)
    endpoint_window: float = HOUR


def _endpoints(*limits: EndpointLimit) -> dict[str, EndpointLimit]:
    return {limit.path: limit for limit in limits}


TRADOVATE = RateLimitProfile(
    name="tradovate",
    # Authenticated: 5,000 an hour, a minute and a second; anonymous: 1,000 / 1,000 / 100.
    authenticated=(WindowLimit(HOUR, 5000), WindowLimit(60.0, 5000), WindowLimit(1.0, 5000)),
    anonymous=(WindowLimit(HOUR, 1000), WindowLimit(60.0, 1000), WindowLimit(1.0, 100)),
    endpoints=_endpoints(
        EndpointLimit("/v1/auth/accesstokenrequest", 5, 15.0, counts_success=False),
        EndpointLimit("/v1/auth/renewaccesstoken", 15, 15.0, counts_success=True),
        EndpointLimit("/v1/auth/me", 10, 30.0, counts_success=False),
        EndpointLimit("/v1/user/createevaluationusers", 100, 1.0, counts_success=False),
        EndpointLimit("/v1/user/createevaluationaccounts", 100, 1.0, counts_success=False),
        EndpointLimit("/v1/user/syncrequest", 300, 3.0, counts_success=True),
        EndpointLimit("/v1/accountriskstatus/switchriskcategory", 5000, 1.0, counts_success=True),
        EndpointLimit("/v1/order/dryrun", 500, 1.0, counts_success=True),
    ),
)
"""Tradovate's published numbers (docs: FACTS.md section 2). setadminautoliqaction and placeorder
have no endpoint-level limit."""

PROFILES: dict[str, RateLimitProfile | None] = {"off": None, "tradovate": TRADOVATE}
"""`--rate-limits` values."""


class _Window:
    """Times of the calls counted within the last `seconds`."""

    __slots__ = ("limit", "seconds", "times")

    def __init__(self, limit: WindowLimit) -> None:
        self.seconds = limit.seconds
        self.limit = limit.limit
        self.times: deque[float] = deque()

    def expire(self, now: float) -> int:
        """Forget what is older than the window; how many calls are left in it."""
        horizon = now - self.seconds
        times = self.times
        while times and times[0] <= horizon:
            times.popleft()
        return len(times)


class RateLimiter:
    """The profile's counters for one process (each worker counts the calls it serves)."""

    def __init__(self, profile: RateLimitProfile) -> None:
        self.profile = profile
        self._users: dict[object, list[_Window]] = {}
        self._calls: dict[tuple[str, str], _Window] = {}
        self._violations: dict[tuple[str, str], _Window] = {}
        self._since_sweep = 0

    # -- user level --
    def admit(self, key: object, *, authenticated: bool, now: float) -> bool:
        """Count a call of `key` (a user id, or a client IP without a valid token) and True, or False
        (not counted) when any window is full: answer 429."""
        windows = self._users.get(key)
        if windows is None:
            limits = self.profile.authenticated if authenticated else self.profile.anonymous
            windows = self._users[key] = [_Window(limit) for limit in limits]
        for window in windows:
            if window.expire(now) >= window.limit:
                return False
        for window in windows:
            window.times.append(now)
        self._since_sweep += 1
        if self._since_sweep >= _SWEEP_EVERY:
            self.sweep(now)
        return True

    # -- endpoint level --
    def endpoint(self, path: str) -> EndpointLimit | None:
        """The endpoint-level limit of a lowercased path, if it has one."""
        return self.profile.endpoints.get(path)

    def penalty(self, ip: str, limit: EndpointLimit, now: float) -> float | None:
        """None when the endpoint's hour has room for a call from `ip`; else the call is a violation
        (recorded) and this is its back-off in seconds: the endpoint's, doubled for each earlier
        violation within the hour, at most an hour."""
        calls = self._calls.get((ip, limit.path))
        if calls is None or calls.expire(now) < limit.per_hour:
            return None
        key = (ip, limit.path)
        violations = self._violations.get(key)
        if violations is None:
            violations = self._violations[key] = _Window(WindowLimit(self.profile.endpoint_window, 0))
        earlier = violations.expire(now)
        violations.times.append(now)
        return float(min(MAX_BACKOFF, limit.backoff_seconds * 2**earlier))

    def count(self, ip: str, limit: EndpointLimit, now: float, *, failed: bool) -> None:
        """Count a processed call of the endpoint (only a failed one where successes do not count)."""
        if not failed and not limit.counts_success:
            return
        key = (ip, limit.path)
        calls = self._calls.get(key)
        if calls is None:
            calls = self._calls[key] = _Window(WindowLimit(self.profile.endpoint_window, limit.per_hour))
        calls.expire(now)
        calls.times.append(now)

    # -- housekeeping --
    def sweep(self, now: float) -> None:
        """Drop the counters of keys with no call left in any window."""
        self._since_sweep = 0
        for key, windows in list(self._users.items()):
            if all(w.expire(now) == 0 for w in windows):
                del self._users[key]
        for table in (self._calls, self._violations):
            for ep_key, window in list(table.items()):
                if window.expire(now) == 0:
                    del table[ep_key]
