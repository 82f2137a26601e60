"""Tradovate's market replay on the socket: `replay/checkReplaySession`, `replay/initializeClock` and
`replay/changeSpeed`, mapped onto the sandbox clock, and the `clock` events of a replay socket.

The sandbox has one clock, so a replay is the whole sandbox's: only the sandbox operator's admins
may start one or change its speed, on a demo or replay server (anyone else's `checkReplaySession`
answers `Ineligible`, and `initializeClock`/`changeSpeed` a `SimpleResponse` with `ok: false` and
`errorText`). `initializeClock` is a fresh session: the sandbox reset (every account as seeded),
then the clock at `startTimestamp` running at `speed` percent of real time (`ClockService.start_replay`).

A socket that initialized the clock, or changed its speed, follows the clock: it gets a `clock`
event at once, then one every `AUTOLIQ_WS_CLOCK_SECONDS` while it lives, and one whenever the clock
moves or changes speed (whichever worker moved it). The event's `d` is a JSON **string**, as
Tradovate sends it: `{"e":"clock","d":"{\\"t\\":\\"2021-07-28T22:30:00.000Z\\",\\"s\\":400}"}`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated

import msgspec

from autoliq.api.params import decode_strict
from autoliq.api.websocket.hub import Connection, Hub
from autoliq.api.websocket.protocol import answer
from autoliq.api.websocket.socket_routes import SocketRequest, socket_route
from autoliq.domain.bounds import EARLIEST, LATEST
from autoliq.domain.errors import BadRequest, Unauthorized
from autoliq.domain.events import Event, SandboxClockMoved, SandboxReset
from autoliq.domain.sandbox import MAX_SPEED
from autoliq.domain.states import Environment

log = logging.getLogger(__name__)

STATE_KEY = "replay"
"""This module's key in `Connection.state`: the socket's clock follower task."""
REPLAY_ENVIRONMENTS = frozenset({Environment.DEMO, Environment.REPLAY})
TEXT_NOT_REPLAY = "Market replay is only available on a demo or replay server (this one plays {environment})"
MAX_INITIAL_BALANCE = 1e12
LATEST_START = LATEST.replace(year=LATEST.year - 1)
"""The latest start a session may have: a year before the bound, for the session to run in."""
_encode = msgspec.json.Encoder().encode

Speed = Annotated[int, msgspec.Meta(ge=0, le=MAX_SPEED)]


class CheckReplaySessionBody(msgspec.Struct, forbid_unknown_fields=False):
    """Tradovate's `CheckReplaySession` (the timestamp read as text: one beyond the bounds is
    answered with an adjusted start, not refused)."""

    startTimestamp: Annotated[str, msgspec.Meta(max_length=64)]


class InitializeClockBody(msgspec.Struct, forbid_unknown_fields=False):
    """Tradovate's `InitializeClock` (clients send 400 and 50000 when not told otherwise)."""

    startTimestamp: datetime
    speed: Speed = 100
    initialBalance: Annotated[float, msgspec.Meta(ge=0, le=MAX_INITIAL_BALANCE)] | None = None


class ChangeSpeedBody(msgspec.Struct, forbid_unknown_fields=False):
    """Tradovate's `ChangeSpeed`."""

    speed: Speed


def _body(request: SocketRequest) -> bytes:
    return request.frame.body.strip().encode() or b"{}"


def _utc(moment: datetime) -> datetime:
    """A timestamp without an offset is UTC (JavaScript's `toJSON` always sends `Z`)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def iso_millis(moment: datetime) -> str:
    """`2021-07-28T22:30:00.000Z`: what JavaScript's `Date.toJSON` prints and `new Date` reads."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def clock_message(now: datetime, speed: int) -> str:
    """A `clock` event message; its `d` is the JSON text of `{t, s}`, itself a JSON string."""
    inner = _encode({"t": iso_millis(now), "s": speed}).decode()
    return _encode({"e": "clock", "d": inner}).decode()


async def _eligible(request: SocketRequest) -> str | None:
    """None when the caller may drive the replay; else why not (an errorText)."""
    services = request.services
    environment = services.settings.environment
    if environment not in REPLAY_ENVIRONMENTS:
        return TEXT_NOT_REPLAY.format(environment=environment.value)
    caller = request.connection.caller
    if caller is None or not await services.sandbox.operator.operates(caller.user):
        return Unauthorized().message
    return None


def _simple(request: SocketRequest, error: str | None) -> str:
    """A `SimpleResponse` answer: `{ok: true}`, or `{ok: false, errorText}` (HTTP-style 200)."""
    data = {"ok": True} if error is None else {"ok": False, "errorText": error}
    return answer(200, request.frame.id, _encode(data).decode())


# -- endpoints --
@socket_route("replay/checkReplaySession")
async def check_replay_session(request: SocketRequest) -> str:
    """`{checkStatus: "OK"}`; `Ineligible` for a caller who may not drive the sandbox clock;
    `StartTimestampAdjusted` with the nearest start the sandbox can replay (2000-01-01 to a year
    before 2100) for one beyond it."""
    body = decode_strict(_body(request), CheckReplaySessionBody)
    start = _start(body.startTimestamp)
    data: dict[str, str] = {"checkStatus": "OK"}
    if await _eligible(request) is not None:
        data = {"checkStatus": "Ineligible"}
    elif not EARLIEST <= start <= LATEST_START:
        adjusted = EARLIEST if start < EARLIEST else LATEST_START
        data = {"checkStatus": "StartTimestampAdjusted", "startTimestamp": iso_millis(adjusted)}
    return answer(200, request.frame.id, _encode(data).decode())


def _start(text: str) -> datetime:
    """An ISO timestamp of any year (beyond the bounds too: it is adjusted, not refused)."""
    try:
        moment = msgspec.convert(text, datetime)
    except msgspec.ValidationError:
        raise BadRequest(f"startTimestamp: {text!r} is no ISO 8601 timestamp") from None
    try:
        return _utc(moment)
    except OverflowError:  # year 1 or 9999 moved by its offset
        return EARLIEST if moment.year < EARLIEST.year else LATEST


@socket_route("replay/initializeClock")
async def initialize_clock(request: SocketRequest) -> str | None:
    """A fresh replay session from `startTimestamp` at `speed`: `{ok: true}`, then this socket's
    `clock` events. `initialBalance` is read and bounded, not applied (see docs/api.md)."""
    body = decode_strict(_body(request), InitializeClockBody)
    services = request.services
    refusal = await _eligible(request)
    if refusal is not None:
        return _simple(request, refusal)
    start = _utc(body.startTimestamp)
    if not EARLIEST <= start <= LATEST_START:
        return _simple(request, f"startTimestamp: must lie within 2000-01-01..{LATEST_START.date()}")
    caller = request.connection.caller
    assert caller is not None
    await services.sandbox_clock.start_replay(caller.user, start, body.speed)
    request.connection.push_message(_simple(request, None))
    follow_clock(request.hub, request.connection)
    return None


@socket_route("replay/changeSpeed")
async def change_speed(request: SocketRequest) -> str | None:
    """The clock runs on at `speed` percent of real time: `{ok: true}`; every replay socket hears it."""
    body = decode_strict(_body(request), ChangeSpeedBody)
    services = request.services
    refusal = await _eligible(request)
    if refusal is not None:
        return _simple(request, refusal)
    caller = request.connection.caller
    assert caller is not None
    await services.sandbox_clock.change_speed(caller.user, body.speed)
    request.connection.push_message(_simple(request, None))
    follow_clock(request.hub, request.connection)
    return None


# -- clock events --
class ReplayClocks:
    """The sockets of one hub that follow the clock, and the one publisher listener that wakes them
    when any worker moves the clock or changes its speed."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.wakers: dict[Connection, asyncio.Event] = {}
        hub.services.publisher.add_listener(self.on_events)

    def on_events(self, events: Sequence[Event]) -> None:
        """Publisher listener: a move, a change of speed or a reset wakes every follower."""
        if self.wakers and any(isinstance(e, SandboxClockMoved | SandboxReset) for e in events):
            for waker in self.wakers.values():
                waker.set()

    async def tick(self, connection: Connection, waker: asyncio.Event) -> None:
        """The socket's clock events: now, every interval, and after every move (once this worker
        has taken the stored clock)."""
        services = self.hub.services
        interval = self.hub.settings.clock_seconds
        while not connection.done.is_set():
            connection.push_message(clock_message(services.clock.now(), services.sandbox_clock.speed))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waker.wait(), interval)
            if waker.is_set():
                waker.clear()
                await services.sandbox_clock.settled()


_CLOCKS: weakref.WeakKeyDictionary[Hub, ReplayClocks] = weakref.WeakKeyDictionary()


def follow_clock(hub: Hub, connection: Connection) -> None:
    """Start the socket's clock events (once; they end with the socket)."""
    if STATE_KEY in connection.state or connection.done.is_set():
        return
    clocks = _CLOCKS.get(hub)
    if clocks is None:
        clocks = _CLOCKS[hub] = ReplayClocks(hub)
    waker = clocks.wakers[connection] = asyncio.Event()
    task = asyncio.get_running_loop().create_task(clocks.tick(connection, waker), name="autoliq-ws-clock")
    connection.state[STATE_KEY] = task

    def stop() -> None:
        clocks.wakers.pop(connection, None)
        task.cancel()

    connection.on_close.append(stop)
