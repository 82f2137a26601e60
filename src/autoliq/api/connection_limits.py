"""Connection limits of `autoliq serve`: the open-file limit, idle and slow connections, and the
concurrency limit, as uvicorn options (`connection_options`, merged into `serve`'s).

What uvicorn (0.55, httptools) does not do by itself, and `LimitedHttpProtocol` adds:
- its keep-alive timer starts only after a response, so a connection that never sends a byte stays
  open forever: here it also starts when the connection opens;
- it has no deadline for request headers (a slowloris client sending a byte now and then is kept
  forever): here the headers of each request must be complete within `header_timeout` seconds of the
  connection opening or of the previous response, else 408 and the connection is closed;
- `limit_concurrency` answers HTTP requests over the limit with 503 but upgrades WebSockets whatever
  the count, and logs one warning per refused request: here an upgrade over the limit is refused with
  503 too, and the refusals are logged at most once per `REFUSAL_LOG_SECONDS` with their count.

The subclass uses uvicorn's protocol internals (`app`, `pipeline`, `timeout_keep_alive_task`,
`on_response_complete`, `handle_websocket_upgrade`); tests/unit/test_connection_limits.py drives them,
so an uvicorn upgrade that changes them fails there.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import resource
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.flow_control import service_unavailable
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from autoliq.config import Settings

log = logging.getLogger(__name__)

MAX_CONNECTIONS_CAP = 10_000
"""The derived default of `Settings.max_connections` never exceeds this (memory, not files, is then
the bound); AUTOLIQ_MAX_CONNECTIONS sets any value."""
FD_RESERVE_MIN = 128
"""Open files kept out of the connection limit, at least: the database, the logs, and the
connections being answered 503 (each holds a file until it is closed)."""
REFUSAL_LOG_SECONDS = 10.0
"""At most one warning about refused connections per this many seconds (per process)."""

REQUEST_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: 15\r\nconnection: close\r\n\r\nRequest Timeout"
)
SERVICE_UNAVAILABLE_RESPONSE = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: 19\r\nconnection: close\r\n\r\nService Unavailable"
)


# -- open files --


def raise_open_file_limit() -> int:
    """Raise this process's soft open-file limit to its hard limit (worker processes inherit it) and
    return the soft limit now; logged at info, and kept as it was when it cannot be raised."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == hard:
        log.info("open-file limit: %s (the hard limit)", _limit_text(soft))
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError) as exc:
        log.info(
            "open-file limit: %s, kept (raising it to the hard limit %s failed: %s)",
            _limit_text(soft),
            _limit_text(hard),
            exc,
        )
        return soft
    log.info("open-file limit: raised from %s to %s (the hard limit)", _limit_text(soft), _limit_text(hard))
    return hard


def default_max_connections(open_files: int) -> int:
    """Connections one process keeps open before refusing: the open-file limit less an eighth (at least
    `FD_RESERVE_MIN`), at most `MAX_CONNECTIONS_CAP`."""
    if open_files == resource.RLIM_INFINITY:
        return MAX_CONNECTIONS_CAP
    return max(1, min(MAX_CONNECTIONS_CAP, open_files - max(FD_RESERVE_MIN, open_files // 8)))


def _limit_text(limit: int) -> str:
    return "unlimited" if limit == resource.RLIM_INFINITY else str(limit)


# -- refusals --


class RefusalLog:
    """Refusals over the connection limit, logged at most once per `interval` seconds with their count."""

    def __init__(self, interval: float = REFUSAL_LOG_SECONDS) -> None:
        self.interval = interval
        self.pending = 0
        """Refusals since the last line."""
        self._timer: asyncio.TimerHandle | None = None

    def refused(self, loop: asyncio.AbstractEventLoop, limit: int, what: str) -> None:
        """Note one refused request (`what`: `request` or `WebSocket`); the first of a quiet period is
        logged at once, the next ones together when the period ends."""
        if self._timer is None:
            log.warning(
                "connection limit reached: %s refused with 503 (more than %d connections or %d requests "
                "in flight in this process, AUTOLIQ_MAX_CONNECTIONS)",
                what,
                limit,
                limit,
            )
            self._timer = loop.call_later(self.interval, self._flush, loop, limit)
        else:
            self.pending += 1

    def _flush(self, loop: asyncio.AbstractEventLoop, limit: int) -> None:
        if not self.pending:
            self._timer = None
            return
        log.warning(
            "connection limit reached: %d more refused with 503 in the last %g s (limit %d, "
            "AUTOLIQ_MAX_CONNECTIONS)",
            self.pending,
            self.interval,
            limit,
        )
        self.pending = 0
        self._timer = loop.call_later(self.interval, self._flush, loop, limit)


REFUSALS = RefusalLog()
"""This process's refusals (one event loop per process)."""


# -- the protocol --


class LimitedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with an idle timer from the start, a deadline for request headers,
    and a concurrency limit that refuses WebSocket upgrades too (see the module's docstring)."""

    refusals = REFUSALS

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        header_timeout: float = 10.0,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.header_timeout = header_timeout
        self._app = self.app
        self.connection_limit = config.limit_concurrency
        # Checked here instead of by uvicorn: upgrades included, and one log line per interval.
        self.limit_concurrency = None
        self._header_timer: asyncio.TimerHandle | None = None
        self._header_deadline: float | None = None
        """When the awaited request's headers are due (loop time); None while a request is in."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # uvicorn arms it only after a response; any byte received cancels it (`data_received`).
        self.timeout_keep_alive_task = self.loop.call_later(
            self.timeout_keep_alive, self.timeout_keep_alive_handler
        )
        self._await_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def on_headers_complete(self) -> None:
        self._header_deadline = None
        # uvicorn runs `self.app` for this request; an upgrade goes on to `handle_websocket_upgrade`.
        upgrading = self.parser.should_upgrade() and self._should_upgrade()
        if not upgrading and self.over_limit():
            self.note_refusal("request")
            self.app = service_unavailable
        else:
            self.app = self._app
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        # A pipelined request's headers are already in: only an empty pipeline waits for new ones.
        awaiting_request = not self.pipeline
        super().on_response_complete()
        if awaiting_request and not self.transport.is_closing():
            self._await_headers()

    def handle_websocket_upgrade(self) -> None:
        if self.over_limit():
            self.note_refusal("WebSocket")
            self.transport.write(SERVICE_UNAVAILABLE_RESPONSE)
            self.transport.close()
            return
        super().handle_websocket_upgrade()

    def over_limit(self) -> bool:
        """Whether this connection's request is one too many: more than the limit's connections open
        (this one included) or the limit's requests in flight."""
        limit = self.connection_limit
        return limit is not None and (len(self.connections) > limit or len(self.tasks) >= limit)

    def note_refusal(self, what: str) -> None:
        """Count a refusal in the process's rate-limited log."""
        assert self.connection_limit is not None
        self.refusals.refused(self.loop, self.connection_limit, what)

    # -- the header deadline --
    # One deadline per connection, moved by each response; the timer is armed once and re-armed only
    # when it fires early (the deadline moved on meanwhile). Arming and cancelling a timer on every
    # request cost ~9 µs of CPU a request (py-spy, bench/set_admin_action.py).
    def _await_headers(self) -> None:
        deadline = self.loop.time() + self.header_timeout
        self._header_deadline = deadline
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout, self._header_deadline_check)

    def _cancel_header_timer(self) -> None:
        self._header_deadline = None
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_deadline_check(self) -> None:
        self._header_timer = None
        deadline = self._header_deadline
        if deadline is None or self.transport.is_closing():
            return  # a request is in: its response awaits the next headers again
        left = deadline - self.loop.time()
        if left > 0:
            self._header_timer = self.loop.call_later(left, self._header_deadline_check)
            return
        self._headers_too_slow()

    def _headers_too_slow(self) -> None:
        if self.transport.get_write_buffer_size():
            # A client that does not read its previous answer would hold `close()` forever.
            self.transport.abort()
            return
        self.transport.write(REQUEST_TIMEOUT_RESPONSE)
        self.transport.close()


# -- options --


def connection_options(settings: Settings) -> dict[str, Any]:
    """The uvicorn options that bound connections, to merge into `serve`'s (`http` replaces
    `"httptools"` by its subclass). Raises the open-file limit first: the default connection limit
    is derived from it."""
    open_files = raise_open_file_limit()
    derived = default_max_connections(open_files)
    limit = settings.max_connections or derived
    if limit > derived:
        log.warning(
            "AUTOLIQ_MAX_CONNECTIONS=%d is above what the open-file limit (%s) leaves room for (%d): "
            "past it, connections are reset instead of answered 503",
            limit,
            _limit_text(open_files),
            derived,
        )
    log.info(
        "connections: at most %d per process; idle ones closed after %g s; request headers due within %g s",
        limit,
        settings.keep_alive_seconds,
        settings.header_timeout_seconds,
    )
    return {
        "http": functools.partial(LimitedHttpProtocol, header_timeout=settings.header_timeout_seconds),
        "timeout_keep_alive": settings.keep_alive_seconds,
        "limit_concurrency": limit,
    }
