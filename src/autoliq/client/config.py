"""Where the SDK connects (base-URL presets) and how patient it is (`ClientSettings`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "DEMO_URL",
    "LIVE_URL",
    "LOCAL_URL",
    "MD_URL",
    "PRESETS",
    "ClientSettings",
    "market_data_url",
    "resolve_base_url",
    "websocket_url",
]

LOCAL_URL = "http://127.0.0.1:8080"
"""A local `autoliq serve` (its default address)."""
DEMO_URL = "https://demo.tradovateapi.com"
"""Tradovate's demo (simulation) environment: the only one where setadminautoliqaction works."""
LIVE_URL = "https://live.tradovateapi.com"
"""Tradovate's live environment (real money)."""

MD_URL = "wss://md.tradovateapi.com/v1/websocket"
"""Tradovate's market-data socket (its trading hosts do not serve `md/*`)."""

PRESETS: dict[str, str] = {"local": LOCAL_URL, "demo": DEMO_URL, "live": LIVE_URL}
"""Preset names a client accepts in place of a base URL."""


def resolve_base_url(base_url: str) -> str:
    """A preset name or a URL, as the scheme and host the SDK appends `/v1/...` to.

    A trailing `/` or `/v1` is dropped, so Tradovate's documented `https://demo.tradovateapi.com/v1`
    works as well.
    """
    url = PRESETS.get(base_url, base_url).rstrip("/")
    if url.endswith("/v1"):
        url = url[: -len("/v1")]
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"base_url must be one of {sorted(PRESETS)} or an http(s) URL, got {base_url!r}")
    return url


def websocket_url(base_url: str) -> str:
    """The WebSocket URL that goes with a base URL: `ws(s)://host/v1/websocket`."""
    parts = urlsplit(resolve_base_url(base_url))
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, parts.path + "/v1/websocket", "", ""))


def market_data_url(base_url: str, websocket: str | None = None) -> str:
    """Where market data is asked for: Tradovate's md host for its demo and live hosts (Tradovate's
    examples use the one host for both); anywhere else (autoliq serves `md/*` on its one socket)
    the trading socket, `websocket` when given."""
    if resolve_base_url(base_url) in (DEMO_URL, LIVE_URL):
        return MD_URL
    return websocket or websocket_url(base_url)


@dataclass(frozen=True, slots=True)
class ClientSettings:
    """How long a client waits and how often it retries; every wait goes through the injected sleep.

    The defaults suit a command-line tool: a request gives up after about a minute of 429s (Tradovate
    says a user-level 429 lasts an hour: waiting it out is for a caller who chooses so) and after
    three penalty tickets or five minutes of ticket waits.
    """

    renew_margin: timedelta = timedelta(minutes=15)
    """Renew the token before a request when it expires within this margin (Tradovate: 15 min)."""
    penalty_retries: int = 3
    """Resends with a penalty ticket per request, before `PenaltyTicketError`."""
    penalty_budget: float = 300.0
    """Seconds of `p-time` waits per request, before `PenaltyTicketError`."""
    rate_limit_budget: float = 60.0
    """Seconds of 429 back-off per request, before `RateLimitedError`; 0 fails at the first 429."""
    rate_limit_base: float = 1.0
    """First back-off after a 429 without `Retry-After`; doubled each time."""
    rate_limit_cap: float = 30.0
    """Longest single back-off after a 429 without `Retry-After`."""
    read_retries: int = 2
    """Retries of a read (GET) after a 5xx or a transport error; writes are never repeated."""
    read_retry_base: float = 0.5
    """First pause before such a retry; doubled each time."""
    read_retry_cap: float = 8.0
    """Longest pause before such a retry."""
    timeout: float = 10.0
    """Seconds httpx waits to connect, send or read."""

    def __post_init__(self) -> None:
        if self.renew_margin < timedelta(0):
            raise ValueError("renew_margin must not be negative")
        for name in _NON_NEGATIVE:
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.timeout <= 0:
            raise ValueError("timeout must be positive")


_NON_NEGATIVE = (
    "penalty_retries",
    "penalty_budget",
    "rate_limit_budget",
    "rate_limit_base",
    "rate_limit_cap",
    "read_retries",
    "read_retry_base",
    "read_retry_cap",
)
