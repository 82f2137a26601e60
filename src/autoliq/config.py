"""Settings: one frozen object, validated at start; each field documented and read from AUTOLIQ_*."""

from __future__ import annotations

import hashlib
import ipaddress
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from autoliq.domain.limits import DEFAULT_MAX_ORDER_QTY, DEFAULT_MAX_POSITION, OrderLimits
from autoliq.domain.passwords import password_problem
from autoliq.domain.states import Environment

DEFAULT_DATABASE_FILE = "autoliq.db"
ONE_MIB = 1024 * 1024
LOG_FORMATS = ("text", "json")
RATE_LIMIT_PROFILES = ("off", "tradovate")
MARKET_HOURS = ("cme", "always")


def parse_trusted_proxies(text: str) -> tuple[str, ...]:
    """Comma-separated addresses or CIDR networks, normalized; a `ValueError` names a bad one."""
    out: list[str] = []
    for part in text.split(","):
        item = part.strip()
        if item:
            try:
                out.append(str(ipaddress.ip_network(item, strict=False)))
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or CIDR network") from None
    return tuple(out)


def default_database_url() -> str:
    """A SQLite file in the working directory."""
    return f"sqlite:///{Path.cwd() / DEFAULT_DATABASE_FILE}"


_T = TypeVar("_T")


def _env_value(name: str, parse: Callable[[str], _T], expected: str) -> _T:
    """Variable `name` parsed; a `ValueError` naming the variable, its value and what was `expected`."""
    raw = os.environ[name]
    try:
        return parse(raw.strip())
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not {expected}") from None


MIN_METRICS_TOKEN = 16
"""The fewest characters a static metrics scrape token may have (AUTOLIQ_METRICS_TOKEN)."""
MAX_SECRET_FILE_BYTES = 64 * 1024


def secret_from_env(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """Secret setting `name`: from the file variable `<name>_FILE` names (its content, one trailing
    newline dropped: what `echo` and most secret stores write), else from `name`; None when neither
    is set or the value is empty. Both set, or a file that cannot be read, is a `ValueError` naming
    the variable (never the secret)."""
    env = os.environ if env is None else env
    file_name = env.get(f"{name}_FILE", "").strip()
    if file_name and env.get(name):
        raise ValueError(f"set {name} or {name}_FILE, not both")
    if not file_name:
        return env.get(name) or None
    try:
        with open(file_name, "rb") as secret_file:
            raw = secret_file.read(MAX_SECRET_FILE_BYTES + 1)
    except OSError as exc:
        raise ValueError(f"{name}_FILE={file_name!r} cannot be read ({exc.strerror})") from None
    if len(raw) > MAX_SECRET_FILE_BYTES:
        raise ValueError(f"{name}_FILE={file_name!r} is larger than {MAX_SECRET_FILE_BYTES} bytes")
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        raise ValueError(f"{name}_FILE={file_name!r} is not UTF-8 text") from None
    text = text.removesuffix("\n").removesuffix("\r")
    return text or None


def secret_given_or_from_file(
    given: str | None, name: str, env: Mapping[str, str] | None = None
) -> str | None:
    """A command's secret: `given` (its flag, or the variable `name` the flag reads) when given, else
    the file `<name>_FILE` names (`secret_from_env`). `name` and `<name>_FILE` both set is a
    `ValueError` naming them (never the secret), as for the server's settings."""
    from_env = secret_from_env(name, env)  # raises when both are set
    return given if given is not None else from_env


def metrics_token_digest(token: str | None) -> str | None:
    """The SHA-256 (hex) kept of a metrics scrape token (the token itself is not kept); a
    `ValueError` when it is shorter than MIN_METRICS_TOKEN characters."""
    if token is None:
        return None
    if len(token) < MIN_METRICS_TOKEN:
        raise ValueError(f"AUTOLIQ_METRICS_TOKEN must have at least {MIN_METRICS_TOKEN} characters")
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class WebSocketSettings:
    """The socket's timing and bounds. Each is read from an AUTOLIQ_WS_* variable (`from_env`)."""

    heartbeat_seconds: float = 2.5
    """Interval of the server's `h` frames (AUTOLIQ_WS_HEARTBEAT_SECONDS); Tradovate's is ~2.5 s."""
    timeout_seconds: float = 10.0
    """A client that sends no frame for this long is closed with `c[4001,"Heartbeat timeout"]`
    (AUTOLIQ_WS_TIMEOUT_SECONDS): four of Tradovate's 2.5-second heartbeat periods."""
    send_queue_max: int = 1000
    """Messages waiting for a slow client before it is cut off with `c[4002,"Send queue full"]`
    (AUTOLIQ_WS_SEND_QUEUE)."""
    send_queue_bytes: int = 16 * 1024 * 1024
    """Characters waiting for a slow client before it is cut off (AUTOLIQ_WS_SEND_QUEUE_BYTES); a
    single larger answer (a big snapshot) is still sent when nothing else waits."""
    max_in_flight: int = 64
    """Requests of one socket running at once; the socket's next frames are read when one ends."""
    authorize_seconds: float = 10.0
    """A socket not authorized this long after it opened is closed with
    `c[4004,"Authorization timeout"]`, whatever it sent (AUTOLIQ_WS_AUTHORIZE_SECONDS)."""
    clock_seconds: float = 1.0
    """Interval of the `clock` events a replay socket gets (AUTOLIQ_WS_CLOCK_SECONDS), besides one
    on every move or change of speed of the sandbox clock."""

    def __post_init__(self) -> None:
        if self.heartbeat_seconds <= 0 or self.timeout_seconds <= 0 or not 0 < self.clock_seconds < math.inf:
            raise ValueError("WebSocket intervals must be positive")
        if not 0 < self.authorize_seconds < math.inf:
            raise ValueError(f"authorize_seconds must be a positive number, got {self.authorize_seconds}")
        if self.send_queue_max <= 0 or self.send_queue_bytes <= 0 or self.max_in_flight <= 0:
            raise ValueError("WebSocket bounds must be positive")

    @classmethod
    def from_env(cls) -> WebSocketSettings:
        """The defaults, overridden by AUTOLIQ_WS_HEARTBEAT_SECONDS, AUTOLIQ_WS_TIMEOUT_SECONDS,
        AUTOLIQ_WS_SEND_QUEUE, AUTOLIQ_WS_SEND_QUEUE_BYTES, AUTOLIQ_WS_AUTHORIZE_SECONDS and
        AUTOLIQ_WS_CLOCK_SECONDS; a bad
        value is a `ValueError` naming its variable."""
        values: dict[str, float | int] = {}
        for name, key, parse in (
            ("AUTOLIQ_WS_HEARTBEAT_SECONDS", "heartbeat_seconds", float),
            ("AUTOLIQ_WS_TIMEOUT_SECONDS", "timeout_seconds", float),
            ("AUTOLIQ_WS_SEND_QUEUE", "send_queue_max", int),
            ("AUTOLIQ_WS_SEND_QUEUE_BYTES", "send_queue_bytes", int),
            ("AUTOLIQ_WS_AUTHORIZE_SECONDS", "authorize_seconds", float),
            ("AUTOLIQ_WS_CLOCK_SECONDS", "clock_seconds", float),
        ):
            if name in os.environ:
                values[key] = _env_value(name, parse, "an integer" if parse is int else "a number")
        try:
            return cls(**values)  # type: ignore[arg-type]
        except ValueError as exc:
            raise ValueError(f"AUTOLIQ_WS_*: {exc}") from None


def _text(raw: str) -> str:
    return raw


def _lower(raw: str) -> str:
    return raw.lower()


DEFAULT_GC_GEN0_THRESHOLD = 50_000
"""See `Settings.gc_gen0_threshold` (Python's own: 700)."""

_PARSED_VARIABLES: tuple[tuple[str, str, Callable[[str], object], str], ...] = (
    ("AUTOLIQ_HOST", "host", _text, "an interface"),
    ("AUTOLIQ_PORT", "port", int, "an integer"),
    ("AUTOLIQ_DATABASE_URL", "database_url", _text, "a database URL"),
    ("AUTOLIQ_ENVIRONMENT", "environment", Environment, "demo, live or replay"),
    ("AUTOLIQ_TOKEN_MINUTES", "token_minutes", float, "a number"),
    ("AUTOLIQ_MAX_BODY_BYTES", "max_body_bytes", int, "an integer"),
    ("AUTOLIQ_WRITE_BATCH_MAX", "write_batch_max", int, "an integer"),
    ("AUTOLIQ_LOG_FORMAT", "log_format", _lower, "text or json"),
    ("AUTOLIQ_RATE_LIMITS", "rate_limits", _lower, "off or tradovate"),
    ("AUTOLIQ_KEEP_ALIVE_SECONDS", "keep_alive_seconds", float, "a number"),
    ("AUTOLIQ_HEADER_TIMEOUT_SECONDS", "header_timeout_seconds", float, "a number"),
    ("AUTOLIQ_MAX_CONNECTIONS", "max_connections", int, "an integer"),
    ("AUTOLIQ_MAX_ORDER_QTY", "max_order_qty", int, "an integer"),
    ("AUTOLIQ_MAX_POSITION", "max_position", int, "an integer"),
    ("AUTOLIQ_MARKET_HOURS", "market_hours", _lower, "cme or always"),
    ("AUTOLIQ_MAX_ORDER_STRATEGIES", "max_order_strategies", int, "an integer"),
    ("AUTOLIQ_PRICE_HISTORY_DAYS", "price_history_days", float, "a number"),
    ("AUTOLIQ_EQUITY_HISTORY_DAYS", "equity_history_days", float, "a number"),
    ("AUTOLIQ_WEBHOOK_MAX_ATTEMPTS", "webhook_max_attempts", int, "an integer"),
    ("AUTOLIQ_WEBHOOK_RETRY_SECONDS", "webhook_retry_seconds", float, "a number"),
    ("AUTOLIQ_MD_MAX_SUBSCRIPTIONS", "md_max_subscriptions", int, "an integer"),
    ("AUTOLIQ_MD_CHART_MAX_BARS", "md_chart_max_bars", int, "an integer"),
    ("AUTOLIQ_MD_FIRST_DATA_DELAY_MS", "md_first_data_delay_ms", int, "an integer"),
    ("AUTOLIQ_GC_GEN0_THRESHOLD", "gc_gen0_threshold", int, "an integer"),
    ("AUTOLIQ_OUTBOX_POLL_SECONDS", "outbox_poll_seconds", float, "a number"),
    (
        "AUTOLIQ_TRUSTED_PROXIES",
        "trusted_proxies",
        parse_trusted_proxies,
        "comma-separated IP addresses or CIDR networks",
    ),
)
"""(variable, Settings field, parser of the stripped value, what a good value is): the settings read
from the environment when set (a value the parser refuses is a `ValueError` naming the variable)."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a server needs to start."""

    host: str = "127.0.0.1"
    """Interface to bind (AUTOLIQ_HOST); loopback unless told otherwise."""
    port: int = 8080
    """TCP port (AUTOLIQ_PORT)."""
    database_url: str = field(default_factory=default_database_url)
    """SQLAlchemy URL (AUTOLIQ_DATABASE_URL): sqlite:///FILE or postgresql://..."""
    environment: Environment = Environment.DEMO
    """The Tradovate environment played (AUTOLIQ_ENVIRONMENT): demo, live or replay."""
    token_minutes: float = 90.0
    """Access-token lifetime in minutes (AUTOLIQ_TOKEN_MINUTES)."""
    max_body_bytes: int = ONE_MIB
    """Largest request body accepted; larger ones get 413 (AUTOLIQ_MAX_BODY_BYTES)."""
    admin_password: str | None = None
    """Password of the seeded `admin` user (AUTOLIQ_ADMIN_PASSWORD); generated when unset."""
    trader_password: str | None = None
    """Password of the seeded `trader` user (AUTOLIQ_TRADER_PASSWORD); generated when unset."""
    write_batch_max: int = 256
    """Most writes committed by one fsync (AUTOLIQ_WRITE_BATCH_MAX)."""
    log_format: str = "text"
    """Server log lines (AUTOLIQ_LOG_FORMAT): `text`, or `json` (one JSON object per line)."""
    rate_limits: str = "off"
    """Rate limits the server enforces (AUTOLIQ_RATE_LIMITS): `off`, or `tradovate`: Tradovate's
    published user-level (429) and endpoint-level (penalty ticket) limits, counted by each process."""
    websocket: WebSocketSettings = field(default_factory=WebSocketSettings)
    """The WebSocket's timing and bounds (AUTOLIQ_WS_*)."""
    sandbox_operator: str | None = None
    """The organization whose admins operate the sandbox (AUTOLIQ_SANDBOX_OPERATOR, its name): they
    alone move prices and the clock and reset the whole server. Default: the organization seeded
    first (the demo organization); a name no organization has is an error at start."""
    trusted_proxies: tuple[str, ...] = ()
    """Reverse proxies whose `X-Forwarded-For` / `Forwarded` headers name the client
    (AUTOLIQ_TRUSTED_PROXIES: comma-separated addresses or CIDR networks). Default none: the headers
    are ignored and the TCP peer is the client (rate limits, login penalties, logs)."""
    metrics_token_sha256: str | None = None
    """SHA-256 (hex) of the static token that may scrape `/_autoliq/metrics` besides an organization
    admin's access token (AUTOLIQ_METRICS_TOKEN or AUTOLIQ_METRICS_TOKEN_FILE, at least 16
    characters); None: admins only."""
    metrics_dir: str | None = None
    """Directory where the workers of one server share their metrics (AUTOLIQ_METRICS_DIR): set by
    `autoliq serve --workers N` for its workers, not by hand; None: each process answers its own."""
    gc_gen0_threshold: int = DEFAULT_GC_GEN0_THRESHOLD
    """The server process's garbage collector runs its youngest generation after this many net
    allocations of container objects (AUTOLIQ_GC_GEN0_THRESHOLD, 100 to 10,000,000; Python's own is
    700), once start-up is done and frozen (`api/gc_settle.py`, docs/performance.md)."""
    outbox_poll_seconds: float | None = None
    """SQLite: seconds between two reads of the event outbox by a process's relay
    (AUTOLIQ_OUTBOX_POLL_SECONDS, above 0, at most 60; PostgreSQL notifies instead). None: 0.1 in a
    worker of `autoliq serve --workers N` (metrics_dir set), 1 in a single process (no sibling
    writes events; only another server on the same file would)."""
    keep_alive_seconds: float = 5.0
    """A connection with no request under way is closed after this long idle, from when it opened or
    its last answer was sent (AUTOLIQ_KEEP_ALIVE_SECONDS; uvicorn's `timeout_keep_alive`)."""
    header_timeout_seconds: float = 10.0
    """A request's headers must be complete this long after the connection opened or its previous
    answer was sent, else 408 and the connection is closed (AUTOLIQ_HEADER_TIMEOUT_SECONDS)."""
    max_connections: int | None = None
    """Connections open (and requests in flight) per process beyond which requests and WebSocket
    upgrades get 503 (AUTOLIQ_MAX_CONNECTIONS); None: derived from the open-file limit
    (`api/connection_limits.py`)."""
    max_order_qty: int = DEFAULT_MAX_ORDER_QTY
    """Largest `orderQty` of a placeorder or modifyorder (AUTOLIQ_MAX_ORDER_QTY, 1 to 1,000,000);
    larger ones are refused `MaxOrderQtyLimitReached`."""
    max_position: int = DEFAULT_MAX_POSITION
    """Largest net position per account and contract, working orders on the order's side included
    (AUTOLIQ_MAX_POSITION, 1 to 1,000,000); an order past it is refused `MaxPosLimitReached`."""
    market_hours: str = "cme"
    """When orders are taken (AUTOLIQ_MARKET_HOURS): `cme`, each contract's CME Globex sessions
    (`domain/cme_calendar.py`: an order placed or modified outside them is refused `SessionClosed`,
    as Tradovate does, and prices sent then fill no order), or `always`: a market that never shuts
    (a sandbox for tests and simulations at any hour)."""
    max_order_strategies: int = 10
    """Order strategies running at once per account (AUTOLIQ_MAX_ORDER_STRATEGIES, 1 to 1,000); one
    more is refused with errorText "Limit of running order strategies reached"."""
    price_history_days: float = 7.0
    """Days of recorded prices kept for md charts and quotes (AUTOLIQ_PRICE_HISTORY_DAYS, > 0); older
    ones are pruned by the price writes, in bounded batches."""
    equity_history_days: float = 30.0
    """Days of equity points kept for the risk desk's equity curves (AUTOLIQ_EQUITY_HISTORY_DAYS, > 0):
    one point each time the risk engine re-evaluates an account and its net liquidation value or
    trailing-drawdown floor changed; older ones are pruned by the price writes, in bounded batches."""
    webhook_max_attempts: int = 8
    """Tries of one webhook delivery before it goes to the dead letters (AUTOLIQ_WEBHOOK_MAX_ATTEMPTS,
    1 to 100)."""
    webhook_retry_seconds: float = 1.0
    """Wait before a failed webhook delivery's second try, doubling for each next one, at most 5
    minutes (AUTOLIQ_WEBHOOK_RETRY_SECONDS, 0.01 to 300)."""
    md_max_subscriptions: int = 100
    """Market-data subscriptions (quotes, DOMs, histograms, charts) one socket may hold
    (AUTOLIQ_MD_MAX_SUBSCRIPTIONS, 1 to 100,000); one more is answered 400."""
    md_chart_max_bars: int = 5000
    """Bars (or ticks) of history one `md/getChart` sends at most (AUTOLIQ_MD_CHART_MAX_BARS, 1 to
    100,000); a client pages further back with `closestTimestamp`."""
    md_first_data_delay_ms: int = 250
    """Milliseconds between an md subscription's answer and its first data (the current quote, DOM
    or histogram, a chart's history) (AUTOLIQ_MD_FIRST_DATA_DELAY_MS, 0 to 10,000; changes arriving
    meanwhile are held and follow it). Tradovate's own examples start listening only after a REST
    lookup that follows the answer, which works against Tradovate because its first data takes that
    long; 0 sends the data with the answer."""

    def __post_init__(self) -> None:
        if not 0 < self.price_history_days < math.inf:
            raise ValueError(
                f"AUTOLIQ_PRICE_HISTORY_DAYS must be a positive number, got {self.price_history_days}"
            )
        if not 0 < self.equity_history_days < math.inf:
            raise ValueError(
                f"AUTOLIQ_EQUITY_HISTORY_DAYS must be a positive number, got {self.equity_history_days}"
            )
        if not 1 <= self.webhook_max_attempts <= 100:
            raise ValueError(
                f"AUTOLIQ_WEBHOOK_MAX_ATTEMPTS must be 1 to 100, got {self.webhook_max_attempts}"
            )
        if not 0.01 <= self.webhook_retry_seconds <= 300:
            raise ValueError(
                f"AUTOLIQ_WEBHOOK_RETRY_SECONDS must be 0.01 to 300, got {self.webhook_retry_seconds}"
            )
        if not 0 < self.md_max_subscriptions <= 100_000:
            raise ValueError(
                f"AUTOLIQ_MD_MAX_SUBSCRIPTIONS must be 1 to 100000, got {self.md_max_subscriptions}"
            )
        if not 0 <= self.md_first_data_delay_ms <= 10_000:
            raise ValueError(
                f"AUTOLIQ_MD_FIRST_DATA_DELAY_MS must be 0 to 10000, got {self.md_first_data_delay_ms}"
            )
        if not 0 < self.md_chart_max_bars <= 100_000:
            raise ValueError(f"AUTOLIQ_MD_CHART_MAX_BARS must be 1 to 100000, got {self.md_chart_max_bars}")
        if not 0 < self.port < 65536:
            raise ValueError(f"port must be 1-65535, got {self.port}")
        if self.token_minutes <= 0:
            raise ValueError("token_minutes must be positive")
        if self.max_body_bytes <= 0:
            raise ValueError("max_body_bytes must be positive")
        if self.write_batch_max <= 0:
            raise ValueError("write_batch_max must be positive")
        if self.log_format not in LOG_FORMATS:
            raise ValueError(f"log_format must be text or json, got {self.log_format!r}")
        if self.market_hours not in MARKET_HOURS:
            raise ValueError(f"market_hours must be cme or always, got {self.market_hours!r}")
        if self.rate_limits not in RATE_LIMIT_PROFILES:
            raise ValueError(f"rate_limits must be off or tradovate, got {self.rate_limits!r}")
        if not 0 < self.keep_alive_seconds < math.inf:
            raise ValueError(
                f"AUTOLIQ_KEEP_ALIVE_SECONDS must be a positive number, got {self.keep_alive_seconds}"
            )
        if not 0 < self.header_timeout_seconds < math.inf:
            raise ValueError(
                f"AUTOLIQ_HEADER_TIMEOUT_SECONDS must be a positive number, got {self.header_timeout_seconds}"
            )
        if self.max_connections is not None and self.max_connections <= 0:
            raise ValueError(f"AUTOLIQ_MAX_CONNECTIONS must be positive, got {self.max_connections}")
        for variable, password in (
            ("AUTOLIQ_ADMIN_PASSWORD", self.admin_password),
            ("AUTOLIQ_TRADER_PASSWORD", self.trader_password),
        ):
            problem = None if password is None else password_problem(password)
            if problem is not None:
                raise ValueError(f"{variable} {problem}")
        for proxy in self.trusted_proxies:
            ipaddress.ip_network(proxy, strict=False)  # a ValueError names it
        if self.outbox_poll_seconds is not None and not 0 < self.outbox_poll_seconds <= 60:
            raise ValueError(
                f"AUTOLIQ_OUTBOX_POLL_SECONDS must be above 0 and at most 60, got {self.outbox_poll_seconds}"
            )
        if not 100 <= self.gc_gen0_threshold <= 10_000_000:
            raise ValueError(
                f"AUTOLIQ_GC_GEN0_THRESHOLD must be 100 to 10,000,000, got {self.gc_gen0_threshold}"
            )
        if not 1 <= self.max_order_strategies <= 1000:
            raise ValueError(
                f"AUTOLIQ_MAX_ORDER_STRATEGIES must be 1 to 1,000, got {self.max_order_strategies}"
            )
        self.order_limits  # noqa: B018 - validates max_order_qty and max_position

    @property
    def order_limits(self) -> OrderLimits:
        """The order path's limits (`domain/limits.py`)."""
        return OrderLimits(self.max_order_qty, self.max_position, self.market_hours == "cme")

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Settings from AUTOLIQ_* variables, then `overrides` (None values ignored)."""
        env = os.environ
        values: dict[str, object] = {}
        for name, key, parse, expected in _PARSED_VARIABLES:
            if name in env:
                values[key] = _env_value(name, parse, expected)
        values["admin_password"] = secret_from_env("AUTOLIQ_ADMIN_PASSWORD", env)
        values["trader_password"] = secret_from_env("AUTOLIQ_TRADER_PASSWORD", env)
        values["metrics_token_sha256"] = metrics_token_digest(secret_from_env("AUTOLIQ_METRICS_TOKEN", env))
        values["metrics_dir"] = env.get("AUTOLIQ_METRICS_DIR") or None
        values["sandbox_operator"] = env.get("AUTOLIQ_SANDBOX_OPERATOR", "").strip() or None
        values["websocket"] = WebSocketSettings.from_env()
        values.update({k: v for k, v in overrides.items() if v is not None})
        env_value = values.get("environment")
        if isinstance(env_value, str) and not isinstance(env_value, Environment):
            values["environment"] = Environment(env_value)
        return cls(**values)  # type: ignore[arg-type]
