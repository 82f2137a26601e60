"""`LimitedHttpProtocol` without a server: bytes fed to the protocol, a transport that records what
it is told, and timers that fire when the test says so (no waiting, no timing)."""

from __future__ import annotations

import asyncio
import logging
import resource
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from uvicorn.config import Config
from uvicorn.server import ServerState

from autoliq.api import connection_limits
from autoliq.api.connection_limits import (
    MAX_CONNECTIONS_CAP,
    REQUEST_TIMEOUT_RESPONSE,
    SERVICE_UNAVAILABLE_RESPONSE,
    LimitedHttpProtocol,
    RefusalLog,
    default_max_connections,
    raise_open_file_limit,
)

KEEP_ALIVE = 5.0
HEADER_TIMEOUT = 10.0
GET = b"GET /_autoliq/health HTTP/1.1\r\nHost: autoliq\r\n\r\n"
UPGRADE = (
    b"GET /v1/websocket HTTP/1.1\r\nHost: autoliq\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


# -- stand-ins --


class Timer:
    """A `call_later` handle that fires only when the test fires it."""

    def __init__(
        self, due: float, delay: float, callback: Callable[..., None], args: tuple[Any, ...]
    ) -> None:
        self.due = due
        self.delay = delay
        self.callback = callback
        self.args = args
        self.cancelled = False
        self.fired = False

    def cancel(self) -> None:
        self.cancelled = True

    def fire(self) -> None:
        self.fired = True
        self.callback(*self.args)


class Timers:
    """The protocol's loop: a clock and timers held for the test (firing one moves the clock to its
    due time), tasks run on the real loop."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.all: list[Timer] = []
        self.now = 1000.0

    def time(self) -> float:
        return self.now

    def call_later(self, delay: float, callback: Callable[..., None], *args: Any) -> Timer:
        timer = Timer(self.now + delay, delay, callback, args)
        self.all.append(timer)
        return timer

    def create_task(self, coro: Coroutine[Any, Any, None], **kwargs: Any) -> asyncio.Task[None]:
        return self.loop.create_task(coro, **kwargs)

    def live(self, delay: float) -> list[Timer]:
        """Timers of `delay` seconds neither cancelled nor fired."""
        return [t for t in self.all if t.delay == delay and not t.cancelled and not t.fired]

    def fire(self, delay: float) -> None:
        """Fire every live timer of `delay` seconds (there must be one)."""
        live = self.live(delay)
        assert live, f"no live {delay} s timer"
        for timer in live:
            self.now = max(self.now, timer.due)
            timer.fire()


class Transport:
    """What the protocol writes, and whether it closed or aborted the connection."""

    def __init__(self) -> None:
        self.written = bytearray()
        self.closed = False
        self.aborted = False
        self.buffered = 0
        self.protocol_set = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8080), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def write(self, data: bytes) -> None:
        assert not self.closed, "written after close"
        self.written += data

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = self.aborted = True

    def is_closing(self) -> bool:
        return self.closed

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def set_protocol(self, protocol: Any) -> None:
        self.protocol_set = True


async def _health(scope: Any, receive: Any, send: Any) -> None:
    body = b'{"status":"ok"}'
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _protocol(
    timers: Timers, *, limit: int | None = None, others: int = 0
) -> tuple[LimitedHttpProtocol, Transport]:
    """A connected protocol; `others` connections already open on the same server."""
    config = Config(
        app=_health,
        lifespan="off",
        log_config=None,
        timeout_keep_alive=KEEP_ALIVE,  # type: ignore[arg-type]  # a float works (call_later)
        limit_concurrency=limit,
    )
    state = ServerState()
    state.connections.update(object() for _ in range(others))  # type: ignore[misc]
    protocol = LimitedHttpProtocol(config, state, {}, timers, header_timeout=HEADER_TIMEOUT)  # type: ignore[arg-type]
    transport = Transport()
    protocol.connection_made(transport)  # type: ignore[arg-type]
    return protocol, transport


async def _settle(condition: Callable[[], bool]) -> None:
    """Let the request's task run until `condition` holds (bounded in steps, not in time)."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0)
    pytest.fail("the request's task did not get there")


# -- idle and slow connections --


def test_protocol_when_nothing_is_sent_then_closed_by_keep_alive_timer_without_answer() -> None:
    async def scenario() -> None:
        # Arrange
        timers = Timers()
        _, transport = _protocol(timers)
        # Act: the keep-alive timer armed at connection_made fires (uvicorn arms it after a response only)
        timers.fire(KEEP_ALIVE)
        # Assert
        assert transport.closed and transport.written == b""

    asyncio.run(scenario())


def test_protocol_when_headers_trickle_past_deadline_then_408_and_closed() -> None:
    async def scenario() -> None:
        # Arrange: a byte now and then, headers never complete
        timers = Timers()
        protocol, transport = _protocol(timers)
        protocol.data_received(b"GET /_autoliq/health HTTP/1.1\r\nHost: a\r\n")
        for _ in range(3):
            protocol.data_received(b"X-Slow: 1\r\n")
        assert timers.live(KEEP_ALIVE) == []  # any byte ends the idle timer: only the deadline is left
        # Act
        timers.fire(HEADER_TIMEOUT)
        # Assert
        assert bytes(transport.written) == REQUEST_TIMEOUT_RESPONSE
        assert transport.closed

    asyncio.run(scenario())


def test_protocol_when_only_blank_lines_trickle_then_408_at_deadline() -> None:
    async def scenario() -> None:
        # Arrange: CRLFs before a request start no message (the parser skips them)
        timers = Timers()
        protocol, transport = _protocol(timers)
        for _ in range(3):
            protocol.data_received(b"\r\n")
        # Act
        timers.fire(HEADER_TIMEOUT)
        # Assert
        assert bytes(transport.written) == REQUEST_TIMEOUT_RESPONSE and transport.closed

    asyncio.run(scenario())


def test_protocol_when_headers_complete_then_answered_and_deadline_moved_for_next_request() -> None:
    async def scenario() -> None:
        # Arrange
        timers = Timers()
        protocol, transport = _protocol(timers)
        # Act: a request 4 s after the connection opened, answered at once
        timers.now += 4
        protocol.data_received(GET)
        await _settle(lambda: transport.written.endswith(b'{"status":"ok"}'))
        # Assert: answered; one timer for the connection, not one per request
        assert transport.written.startswith(b"HTTP/1.1 200 OK")
        assert not transport.closed
        assert [t.delay for t in timers.all if t.delay == HEADER_TIMEOUT] == [HEADER_TIMEOUT]
        # The first deadline passes: the next request's headers are due 4 s later, so no 408 yet
        timers.fire(HEADER_TIMEOUT)
        assert not transport.closed and transport.written.endswith(b'{"status":"ok"}')
        rearmed = timers.live(4.0)
        assert len(rearmed) == 1 and rearmed[0].due == 1000.0 + 4 + HEADER_TIMEOUT
        # Then the moved deadline passes
        timers.fire(4.0)
        assert transport.written.endswith(REQUEST_TIMEOUT_RESPONSE) and transport.closed

    asyncio.run(scenario())


def test_protocol_when_deadline_timer_fires_while_request_in_flight_then_no_408_and_rearmed_after() -> None:
    async def scenario() -> None:
        # Arrange: a request whose answer is not sent yet when the deadline timer fires
        timers = Timers()
        gate = asyncio.Event()

        async def slow(scope: Any, receive: Any, send: Any) -> None:
            await gate.wait()
            await _health(scope, receive, send)

        protocol, transport = _protocol(timers)
        protocol._app = slow
        protocol.data_received(GET)
        await asyncio.sleep(0)
        # Act
        timers.fire(HEADER_TIMEOUT)
        # Assert: a request is in, so no deadline: nothing written, nothing armed
        assert transport.written == b"" and not transport.closed
        assert timers.live(HEADER_TIMEOUT) == []
        # The answer goes out: the next request's headers are due from then
        gate.set()
        await _settle(lambda: transport.written.endswith(b'{"status":"ok"}'))
        assert [t.due for t in timers.live(HEADER_TIMEOUT)] == [timers.now + HEADER_TIMEOUT]
        timers.fire(HEADER_TIMEOUT)
        assert transport.written.endswith(REQUEST_TIMEOUT_RESPONSE) and transport.closed

    asyncio.run(scenario())


def test_protocol_when_deadline_passes_while_previous_answer_unread_then_aborted() -> None:
    async def scenario() -> None:
        # Arrange: the client does not read; close() would wait for it forever
        timers = Timers()
        _, transport = _protocol(timers)
        transport.buffered = 64 * 1024
        # Act
        timers.fire(HEADER_TIMEOUT)
        # Assert
        assert transport.aborted and transport.written == b""

    asyncio.run(scenario())


# -- the concurrency limit --


def test_protocol_when_over_the_limit_then_503_and_one_warning_for_many_refusals(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        # Arrange: 3 connections open already, a limit of 3
        timers = Timers()
        monkeypatch.setattr(LimitedHttpProtocol, "refusals", RefusalLog())
        refused = []
        # Act: three connections over the limit
        for _ in range(3):
            protocol, transport = _protocol(timers, limit=3, others=3)
            protocol.data_received(GET)
            await _settle(lambda t=transport: t.closed)  # type: ignore[misc]
            refused.append(bytes(transport.written))
        first_lines = [r.getMessage() for r in caplog.records if r.name == connection_limits.__name__]
        timers.fire(connection_limits.REFUSAL_LOG_SECONDS)
        # Assert
        assert all(r.startswith(b"HTTP/1.1 503 Service Unavailable") for r in refused), refused
        assert len(first_lines) == 1 and "request refused with 503" in first_lines[0]
        lines = [r.getMessage() for r in caplog.records if r.name == connection_limits.__name__]
        assert len(lines) == 2 and "2 more refused with 503" in lines[1]

    caplog.set_level(logging.WARNING, logger=connection_limits.__name__)
    asyncio.run(scenario())


def test_protocol_when_at_the_limit_then_request_answered() -> None:
    async def scenario() -> None:
        # Arrange: 2 open, a limit of 3: this one is the third
        timers = Timers()
        protocol, transport = _protocol(timers, limit=3, others=2)
        # Act
        protocol.data_received(GET)
        await _settle(lambda: transport.written.endswith(b'{"status":"ok"}'))
        # Assert
        assert transport.written.startswith(b"HTTP/1.1 200 OK")

    asyncio.run(scenario())


def test_protocol_when_websocket_upgrade_over_the_limit_then_503_not_upgraded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def scenario() -> None:
        # Arrange
        timers = Timers()
        monkeypatch.setattr(LimitedHttpProtocol, "refusals", RefusalLog())
        protocol, transport = _protocol(timers, limit=3, others=3)
        # Act
        protocol.data_received(UPGRADE)
        # Assert
        assert bytes(transport.written) == SERVICE_UNAVAILABLE_RESPONSE
        assert transport.closed and not transport.protocol_set
        assert LimitedHttpProtocol.refusals.pending == 0  # logged, as the first refusal

    asyncio.run(scenario())


# -- the open-file limit --


@pytest.mark.parametrize(
    ("open_files", "expected"),
    [
        (1024, 896),
        (4096, 3584),
        (20_000, MAX_CONNECTIONS_CAP),
        (resource.RLIM_INFINITY, MAX_CONNECTIONS_CAP),
        (64, 1),
    ],
)
def test_default_max_connections_when_open_file_limit_given_then_leaves_a_reserve(
    open_files: int, expected: int
) -> None:
    assert default_max_connections(open_files) == expected


def test_raise_open_file_limit_when_soft_below_hard_then_soft_set_to_hard_and_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Arrange
    calls: list[tuple[int, int]] = []
    monkeypatch.setattr(resource, "getrlimit", lambda _which: (1024, 524_288))
    monkeypatch.setattr(resource, "setrlimit", lambda _which, limits: calls.append(limits))
    caplog.set_level(logging.INFO, logger=connection_limits.__name__)
    # Act
    now = raise_open_file_limit()
    # Assert
    assert now == 524_288 and calls == [(524_288, 524_288)]
    assert "raised from 1024 to 524288" in caplog.text


def test_raise_open_file_limit_when_refused_then_kept_and_no_error(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Arrange
    def refuse(_which: int, _limits: tuple[int, int]) -> None:
        raise ValueError("not allowed")

    monkeypatch.setattr(resource, "getrlimit", lambda _which: (1024, 524_288))
    monkeypatch.setattr(resource, "setrlimit", refuse)
    caplog.set_level(logging.INFO, logger=connection_limits.__name__)
    # Act
    now = raise_open_file_limit()
    # Assert
    assert now == 1024
    assert "1024, kept" in caplog.text and all(r.levelno == logging.INFO for r in caplog.records)
