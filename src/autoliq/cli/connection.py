"""How the operator commands connect: options, the paced transport, the SDK client, clean failures.

`--url` (a preset `local`, `demo`, `live` or a base URL), `--user` and `--password` (or
AUTOLIQ_URL, AUTOLIQ_USER, AUTOLIQ_PASSWORD; without a password and on a terminal, it is asked for,
never echoed). Tradovate's app registration is read from AUTOLIQ_APP_ID, AUTOLIQ_APP_VERSION,
AUTOLIQ_DEVICE_ID, AUTOLIQ_CID and AUTOLIQ_SEC (autoliq ignores them).

Every request a command sends goes through `PacedTransport`: at most `--rate` requests per second,
evenly spaced, whatever the concurrency (logins, reads, writes, read-backs and retries all count,
as Tradovate counts them). A request for many accounts (autoliq's bulk setadminautoliqaction, an
`accountRiskStatus/items` read) counts as one request per account it names: the pace of a run in
accounts is the same whichever way they are sent.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import signal
import ssl
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated
from urllib.parse import urlsplit

import httpx
import typer

from autoliq.client import (
    AsyncClient,
    AuthError,
    AutoliqClientError,
    ClientSettings,
    HTTPStatusError,
    PenaltyTicketError,
    RateLimitedError,
    Token,
    TransportError,
    resolve_base_url,
)
from autoliq.config import secret_from_env, secret_given_or_from_file

__all__ = [
    "BULK_CONCURRENCY",
    "DEFAULT_URL",
    "REMOTE_CONCURRENCY",
    "REMOTE_RATE",
    "CliError",
    "Connection",
    "JsonOption",
    "Pace",
    "PacedTransport",
    "PasswordOption",
    "UrlOption",
    "UserOption",
    "base_transport",
    "connection_or_exit",
    "fail",
    "is_loopback",
    "login",
    "make_client",
    "make_stream_client",
    "pacing_defaults",
    "run_command",
]

REMOTE_RATE = 1.2
"""Default requests per second to a host that is not loopback: Tradovate allows a user 5,000
requests an hour (1.39/s) over all its tools; 1.2/s (4,320 an hour) leaves room for the others."""
REMOTE_CONCURRENCY = 4
LOCAL_CONCURRENCY = 32
"""Defaults against a loopback host (a local autoliq): no pacing, 32 accounts in flight."""
BULK_CONCURRENCY = 1000
"""Accounts in flight by default in an unpaced run while the server takes them in bulk (autoliq):
each bulk request carries up to this many."""

DEFAULT_URL = "local"

UrlOption = Annotated[
    str,
    typer.Option(
        "--url",
        envvar="AUTOLIQ_URL",
        help="Base URL (http://HOST:PORT) or a preset: local, demo, live.",
        show_default=True,
    ),
]
UserOption = Annotated[
    str | None, typer.Option("--user", envvar="AUTOLIQ_USER", help="Login name (an organization admin).")
]
PasswordOption = Annotated[
    str | None,
    typer.Option(
        "--password",
        envvar="AUTOLIQ_PASSWORD",
        help="Its password (prefer AUTOLIQ_PASSWORD or AUTOLIQ_PASSWORD_FILE, or the prompt on a terminal).",
        show_default=False,
    ),
]


def pacing_defaults(loopback: bool) -> tuple[float, int]:
    """(`--rate`, `--concurrency`) when not given: unpaced and wide on loopback, Tradovate's pace
    elsewhere."""
    return (0.0, LOCAL_CONCURRENCY) if loopback else (REMOTE_RATE, REMOTE_CONCURRENCY)


JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


class CliError(Exception):
    """A failure shown as one line, with the exit code it ends the command with."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True, slots=True)
class Connection:
    """Where and as whom a command connects."""

    url: str
    """The resolved base URL (scheme and host)."""
    user: str
    password: str = field(repr=False)
    app_id: str | None = None
    app_version: str | None = None
    device_id: str | None = None
    cid: str | None = None
    sec: str | None = field(default=None, repr=False)

    @classmethod
    def from_options(cls, url: str, user: str | None, password: str | None) -> Connection:
        """Validate the options (asking for the password on a terminal); `CliError` otherwise."""
        try:
            base = resolve_base_url(url)
        except ValueError:
            raise CliError(f"--url {url!r}: give local, demo, live or an http(s):// URL") from None
        if not user:
            raise CliError("no user: give --user or set AUTOLIQ_USER")
        try:  # the secrets may come from files: AUTOLIQ_PASSWORD_FILE, AUTOLIQ_SEC_FILE
            password = secret_given_or_from_file(password, "AUTOLIQ_PASSWORD")
            sec = secret_from_env("AUTOLIQ_SEC")
        except ValueError as exc:
            raise CliError(str(exc)) from None
        if password is None:
            if not sys.stdin.isatty():
                raise CliError(
                    "no password: set AUTOLIQ_PASSWORD (or AUTOLIQ_PASSWORD_FILE) or give --password"
                )
            password = typer.prompt(f"password for {user}", hide_input=True, err=True)
        env = os.environ.get
        return cls(
            base,
            user,
            password,
            app_id=env("AUTOLIQ_APP_ID"),
            app_version=env("AUTOLIQ_APP_VERSION"),
            device_id=env("AUTOLIQ_DEVICE_ID"),
            cid=env("AUTOLIQ_CID"),
            sec=sec,
        )

    @property
    def loopback(self) -> bool:
        """True for a server on this machine (127.0.0.0/8, ::1, localhost)."""
        return is_loopback(self.url)


def is_loopback(base_url: str) -> bool:
    """True when the URL's host is a loopback address or `localhost`."""
    host = urlsplit(base_url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# -- pacing --


class Pace:
    """At most `rate` requests per second, evenly spaced, shared by every task (0: no limit).

    Each request takes the next free slot (`1 / rate` seconds after the previous one) and waits for
    it, so over any span of T seconds at most `T * rate + 1` requests start. `clock` and `sleep` are
    test seams.
    """

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate < 0:
            raise ValueError("rate must not be negative")
        self.rate = rate
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._clock = clock
        self._sleep = sleep
        self._next = float("-inf")
        self.sent = 0
        """Requests let through so far."""

    async def acquire(self, weight: int = 1) -> None:
        """Wait for this request's slot; a request weighing `weight` takes that many slots (the next
        request waits for them all)."""
        self.sent += 1
        if not self._interval:
            return
        now = self._clock()
        slot = max(now, self._next)
        self._next = slot + self._interval * max(weight, 1)
        if slot > now:
            await self._sleep(slot - now)


BULK_PATH = "/_autoliq/bulk/setadminautoliqaction"
ITEMS_PATH = "/v1/accountRiskStatus/items"


def request_weight(request: httpx.Request) -> int:
    """How many requests `request` stands for in the pace: the accounts a bulk write or an `items`
    read names, else 1."""
    path = request.url.path
    if path == ITEMS_PATH:
        ids = request.url.params.get("ids", "")
        return max(1, len([part for part in ids.split(",") if part.strip()]))
    if path == BULK_PATH and request.method == "POST":
        try:
            account_ids = json.loads(request.content).get("accountIds")
        except (ValueError, AttributeError):
            return 1
        return max(1, len(account_ids)) if isinstance(account_ids, list) else 1
    return 1


class PacedTransport(httpx.AsyncBaseTransport):
    """An httpx transport that waits for a `Pace` slot before each request."""

    def __init__(self, inner: httpx.AsyncBaseTransport, pace: Pace) -> None:
        self._inner = inner
        self.pace = pace

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await self.pace.acquire(request_weight(request) if self.pace.rate else 1)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


class ShardedTransport(httpx.AsyncBaseTransport):
    """Spreads requests over several small connection pools, to the least busy.

    httpcore's pool looks at every one of its connections (a poll() each) whenever a request starts
    or ends: with 32 connections in one pool that costs the client more CPU than the requests. Pools
    of `SHARD_CONNECTIONS` keep that cost flat, whatever the concurrency.
    """

    def __init__(self, shards: list[httpx.AsyncBaseTransport]) -> None:
        if not shards:
            raise ValueError("at least one shard")
        self._shards = shards
        self._busy = [0] * len(shards)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        index = min(range(len(self._busy)), key=self._busy.__getitem__)
        self._busy[index] += 1
        try:
            return await self._shards[index].handle_async_request(request)
        finally:
            self._busy[index] -= 1

    async def aclose(self) -> None:
        for shard in self._shards:
            await shard.aclose()


SHARD_CONNECTIONS = 4


def _env_proxy(base_url: str) -> str | None:
    """The proxy the environment (HTTPS_PROXY, HTTP_PROXY, NO_PROXY) names for this URL."""
    parts = urlsplit(base_url)
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if proxy is None or urllib.request.proxy_bypass(parts.netloc):
        return None
    return proxy


def base_transport(connection: Connection, connections: int) -> httpx.AsyncBaseTransport:
    """The real HTTP transport: keep-alive for `connections`, the environment's proxy for remote
    hosts (never for loopback). A seam: tests replace it with an `httpx.MockTransport`."""
    proxy = None if connection.loopback else _env_proxy(connection.url)
    # One TLS context for every pool (each would load the CA bundle again); none needed for http://.
    tls: ssl.SSLContext | bool = httpx.create_ssl_context() if connection.url.startswith("https:") else False
    shards = []
    for start in range(0, max(connections, 1), SHARD_CONNECTIONS):
        size = min(SHARD_CONNECTIONS, connections - start) or 1
        limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
        shards.append(httpx.AsyncHTTPTransport(verify=tls, limits=limits, proxy=proxy))
    return shards[0] if len(shards) == 1 else ShardedTransport(list(shards))


def make_client(
    connection: Connection,
    *,
    rate: float = 0.0,
    connections: int = 8,
    settings: ClientSettings | None = None,
) -> tuple[AsyncClient, Pace]:
    """The SDK's `AsyncClient` over the paced transport, and its `Pace` (which counts requests)."""
    pace = Pace(rate)
    transport = PacedTransport(base_transport(connection, connections + 2), pace)
    # trust_env=False: httpx would send requests for a proxy from the environment through its own
    # transport, past the pacing; `base_transport` applies that proxy itself.
    client = _client(connection, settings=settings, transport=transport, trust_env=False)
    return client, pace


def make_stream_client(connection: Connection) -> AsyncClient:
    """An `AsyncClient` for `subscribe` (not paced); the environment's proxy for remote hosts only."""
    return _client(connection, settings=None, transport=None, trust_env=not connection.loopback)


def _client(
    connection: Connection,
    *,
    settings: ClientSettings | None,
    transport: httpx.AsyncBaseTransport | None,
    trust_env: bool,
) -> AsyncClient:
    return AsyncClient(
        connection.url,
        name=connection.user,
        password=connection.password,
        app_id=connection.app_id,
        app_version=connection.app_version,
        device_id=connection.device_id,
        cid=connection.cid,
        sec=connection.sec,
        settings=settings,
        transport=transport,
        trust_env=trust_env,
    )


async def login(client: AsyncClient, connection: Connection) -> Token:
    """Log in now, so that a wrong URL or password fails first: `CliError` (exit 2) with one line."""
    try:
        return await client.login()
    except AuthError as exc:
        raise CliError(f"{connection.url}: {exc.error_text or exc} (user {connection.user!r})") from None
    except TransportError as exc:
        cause = exc.__cause__
        why = f"{type(cause).__name__}: {cause}" if cause is not None else str(exc)
        raise CliError(f"cannot connect to {connection.url} ({why})") from None
    except HTTPStatusError as exc:
        raise CliError(
            f"{connection.url} answered the login with HTTP {exc.status_code}"
            + (f": {exc.error_text}" if exc.error_text else "")
            + " (is it autoliq or Tradovate?)"
        ) from None
    except (PenaltyTicketError, RateLimitedError) as exc:
        raise CliError(f"{connection.url}: the login was not processed: {exc}") from None
    except AutoliqClientError as exc:
        raise CliError(f"{connection.url}: login failed: {exc}") from None


# -- running a command --


def fail(error: CliError) -> typer.Exit:
    """Print the error's one line on stderr; the `typer.Exit` to raise with its exit code."""
    from autoliq.cli.render import error_line

    error_line(str(error))
    return typer.Exit(error.exit_code)


def connection_or_exit(url: str, user: str | None, password: str | None) -> Connection:
    """`Connection.from_options`, or exit 2 with its one line."""
    try:
        return Connection.from_options(url, user, password)
    except CliError as exc:
        raise fail(exc) from None


def run_command(main: Callable[[], Awaitable[int]], *, interrupted: int = 128 + signal.SIGINT) -> int:
    """Run a command's coroutine, its exit code: a `CliError` ends it with its one line and code, an
    SDK error that escaped the command with exit 1 (a login or renewal refused: 2), Ctrl-C (outside an
    action run, which handles it itself) with `interrupted`."""
    try:
        return asyncio.run(_guarded(main))
    except CliError as exc:
        raise fail(exc) from None
    except KeyboardInterrupt:
        return interrupted


async def _guarded(main: Callable[[], Awaitable[int]]) -> int:
    try:
        return await main()
    except AuthError as exc:
        raise CliError(f"no longer logged in: {exc}") from None
    except AutoliqClientError as exc:
        raise CliError(str(exc), 1) from None
