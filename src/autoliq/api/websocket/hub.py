"""The process's WebSocket hub: every open socket's bounded send queue, the heartbeats and the
liveness check, and the fan-out of committed events as `props` messages.

One listener on the publisher per process (not one subscription per socket): each event's entity is
read and JSON-encoded once. The synced sockets are grouped by audience (`Subscription.audience`:
sockets that may see the same events), so an event is checked once per audience, not per socket,
and each audience's frame is built once per batch; the same string is then written to every socket
of the audience. A socket with nothing waiting gets it written at once, from the fan-out's own step
(`eager.start_now`: no task switch per socket); a socket with frames waiting, or whose transport
cannot take more, has it queued behind them, drained by that socket's own sender task. A socket
whose queue is full (a client that does not read) is cut off with `c[4002,"Send queue full"]`, so it
never slows the others, the hub or the publisher. Events of other workers reach this publisher
through the outbox relay, so with several workers every socket hears every worker's events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from litestar import Litestar

from autoliq.api.websocket.eager import Rest, start_now
from autoliq.api.websocket.protocol import (
    EVENT_BACKLOG_FULL,
    HEARTBEAT_FRAME,
    HEARTBEAT_TIMEOUT,
    OPEN_FRAME,
    SEND_QUEUE_FULL,
    SERVER_SHUTDOWN,
    CloseReason,
    WebSocketSettings,
    array_frame,
    props_message,
    shutdown_message,
)
from autoliq.api.websocket.sync import (
    Audience,
    Change,
    Subscription,
    interesting,
    read_entities,
    risk_status_changes,
)
from autoliq.container import Services
from autoliq.domain.events import Event, RiskStatusChanged, TradingEntityChanged
from autoliq.service.auth import Caller

log = logging.getLogger(__name__)

SendText = Callable[[str], Coroutine[Any, Any, None]]
"""Sends one text frame on the socket (a coroutine function: `Connection.write_now` starts it)."""

EVENT_BACKLOG_MAX = 200_000
"""Events waiting for the fan-out at most; beyond, the following sockets are closed."""
MAX_JOINED_FRAMES = 512
"""`a[...]` frames waiting together are sent as one, of at most this many (a backlog goes out in a
few frames, not one)."""
HEARTBEAT_SLICES = 10
"""The sockets are split in this many slices, whose heartbeats are spread evenly over the interval:
each socket still gets one every interval, but a thousand sockets' `h` frames never all go out at
once (in the way of an event's fan-out)."""


class Connection:
    """One socket: its caller and subscription, and the bounded queue its sender task drains."""

    def __init__(self, send_text: SendText, settings: WebSocketSettings) -> None:
        self._send_text = send_text
        self._max_items = settings.send_queue_max
        self._max_chars = settings.send_queue_bytes
        self._queue: deque[str] = deque()
        self._queued_chars = 0
        self._wake = asyncio.Event()
        self._held: list[str] | None = None
        self._sending = False
        """True while a send has to wait (the transport cannot take more): frames queue behind it."""
        self._rest: Rest | None = None
        """A frame's send written at once (`write_now`) that had to wait, for the sender to finish."""
        self._alone: str | None = None
        """A queued frame to send by itself (compared by identity)."""
        self.caller: Caller | None = None
        self.subscription: Subscription | None = None
        self.last_heard = asyncio.get_running_loop().time()
        self.waiting_for_client = False
        """True while the reader waits for the client's next frame (liveness applies only then)."""
        self.close_reason: CloseReason | None = None
        self._finish_when_sent: CloseReason | None = None
        self.done = asyncio.Event()
        """Set once the socket is to close: the client left, or the server cuts it off."""
        self.beat_slice = 0
        """The heartbeat slice the socket is in (`HEARTBEAT_SLICES`)."""
        self.state: dict[str, Any] = {}
        """Per-socket state of the socket-served endpoints (`socket_routes`), each under its own key."""
        self.on_close: list[Callable[[], None]] = []
        """Run once when the hub forgets the socket (a socket-served endpoint drops what it holds)."""

    # -- queueing --
    def push(self, frame: str) -> None:
        """Queue a frame (`o`, `h`, `a[...]`) for the sender; cut the socket off when full. The same
        string object may be queued on many sockets: it is never copied here."""
        if self.done.is_set() or self._finish_when_sent is not None:
            return
        size = len(frame)
        if self._queue and (
            len(self._queue) >= self._max_items or self._queued_chars + size > self._max_chars
        ):
            self.finish(SEND_QUEUE_FULL)
            return
        self._queue.append(frame)
        self._queued_chars += size
        self._wake.set()

    def write_now(self, frame: str) -> None:
        """Write a frame (a `props` or `h` frame shared by many sockets) at once, in the caller's own
        step, when nothing of this socket waits to be sent; else queue it behind what waits (so the
        socket's frames keep their order). A send that has to wait (the client does not read fast
        enough) is finished by the sender task; what comes meanwhile is queued, bounded as `push`."""
        if self._queue or self._sending:
            self.push(frame)
            return
        if self.done.is_set() or self._finish_when_sent is not None:
            return
        try:
            rest = start_now(self._send_text(frame))
        except Exception:
            # The socket is gone (the ASGI server refuses the send): as when the sender's send fails.
            self.finish(self.close_reason)
            return
        if rest is not None:
            self._rest = rest
            self._sending = True
            self._wake.set()

    def push_message(self, message: str, *, alone: bool = False) -> None:
        """Queue one message (an answer) in a frame of its own; with `alone`, that frame is never
        joined with its neighbours when sent (the `authorize` answer)."""
        frame = array_frame([message])
        if alone:
            self._alone = frame
        self.push(frame)

    def push_event(self, frame: str) -> None:
        """Write a `props` frame (`write_now`); while a syncrequest's snapshot is being read it is
        held back, to follow the snapshot's answer."""
        if self._held is None:
            self.write_now(frame)
        elif len(self._held) >= self._max_items:
            self.finish(SEND_QUEUE_FULL)
        else:
            self._held.append(frame)

    def hold_events(self) -> None:
        """Hold `props` frames back until `release_events`."""
        if self._held is None:
            self._held = []

    def release_events(self, first: str | None = None) -> None:
        """Queue message `first` (the snapshot's answer), then the held frames, and stop holding."""
        held, self._held = self._held or [], None
        if first is not None:
            self.push_message(first)
        for frame in held:
            self.push(frame)

    def finish(self, reason: CloseReason | None = None) -> None:
        """Mark the socket for closing (with `reason`'s `c[...]` frame when the server closes it)."""
        if self.done.is_set():
            return
        self.close_reason = reason
        self._queue.clear()
        self._queued_chars = 0
        self._held = None
        rest, self._rest = self._rest, None
        if rest is not None:
            rest.close()  # the sender never took it up
        self.done.set()

    def finish_when_sent(self, reason: CloseReason) -> None:
        """Close with `reason` once what is queued now has been sent (nothing more is queued)."""
        if self.done.is_set():
            return
        self._held = None
        self._finish_when_sent = reason
        self._wake.set()

    # -- sending --
    async def send_loop(self) -> None:
        """Until cancelled: finish a `write_now` send that had to wait, then drain the queue, frames
        one by one, consecutive `a[...]` ones joined."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            rest, self._rest = self._rest, None
            if rest is not None:
                await rest
            while self._queue:
                self._sending = True
                await self._send_text(self._next_frame())
            self._sending = False
            if self._finish_when_sent is not None:
                self.finish(self._finish_when_sent)

    def _next_frame(self) -> str:
        queue = self._queue
        first = queue.popleft()
        self._queued_chars -= len(first)
        alone = self._alone
        if first is alone:
            self._alone = None
            return first
        if first[0] != "a" or not queue or queue[0][0] != "a" or queue[0] is alone:
            return first  # the usual case: the frame as queued, shared with other sockets
        parts = [first[2:-1]]
        while queue and len(parts) < MAX_JOINED_FRAMES and queue[0][0] == "a" and queue[0] is not alone:
            frame = queue.popleft()
            self._queued_chars -= len(frame)
            parts.append(frame[2:-1])
        return "a[" + ",".join(parts) + "]"


class Followers:
    """The synced sockets of one audience (`Subscription.audience`): they may all see the same events,
    so one subscription of theirs answers for all."""

    __slots__ = ("connections", "subscription")

    def __init__(self, subscription: Subscription) -> None:
        self.subscription = subscription
        self.connections: set[Connection] = set()

    def wants(self, organization_id: int, account_id: int, owner_id: int, entity_type: str) -> bool:
        sub = self.subscription
        return entity_type in sub.entity_types and sub.covers(organization_id, account_id, owner_id)


class Hub:
    """Every socket of this process; the heartbeat ticker and the event fan-out run while any is open."""

    def __init__(self, services: Services, settings: WebSocketSettings) -> None:
        self.services = services
        self.settings = settings
        self._connections: set[Connection] = set()
        self._beats: list[set[Connection]] = [set() for _ in range(HEARTBEAT_SLICES)]
        """The sockets by heartbeat slice."""
        self._opened = 0
        self._following: dict[int, dict[Audience, Followers]] = {}
        """Organization id -> its synced sockets, by audience."""
        self._events: deque[Event] = deque()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._shutdown: str | None = None  # the `shutdown` message once the server is going away
        services.publisher.add_listener(self._on_events)

    # -- sockets --
    def open(self, send_text: SendText) -> Connection:
        """A new socket, its `o` frame queued."""
        connection = Connection(send_text, self.settings)
        connection.push(OPEN_FRAME)
        self._connections.add(connection)
        connection.beat_slice = self._opened % HEARTBEAT_SLICES
        self._opened += 1
        self._beats[connection.beat_slice].add(connection)
        if self._shutdown is not None:
            self._tell_shutdown(connection)
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._tick(), name="autoliq-ws-heartbeat"),
                asyncio.create_task(self._fan_out(), name="autoliq-ws-fan-out"),
            ]
        return connection

    def shut_down(
        self, reason_code: str = "Maintenance", reason: str = "The server is shutting down"
    ) -> None:
        """Tell every socket the server is going away (Tradovate's `shutdown` event, after what is
        already queued for it), then close it with `c[1001,"Server shutting down"]`. New sockets
        opened after this are told at once."""
        self._shutdown = shutdown_message(reason_code, reason)
        for connection in list(self._connections):
            self._tell_shutdown(connection)

    @property
    def open_sockets(self) -> int:
        """How many sockets are open."""
        return len(self._connections)

    async def wait_closed(self, timeout: float) -> None:
        """Until every socket is closed, or `timeout` seconds."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self._connections and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)

    def _tell_shutdown(self, connection: Connection) -> None:
        assert self._shutdown is not None
        connection.push_message(self._shutdown)
        connection.finish_when_sent(SERVER_SHUTDOWN)

    def close(self, connection: Connection) -> None:
        """Forget a socket; the hub's tasks stop with the last one."""
        self.follow(connection, None)
        self._connections.discard(connection)
        self._beats[connection.beat_slice].discard(connection)
        callbacks, connection.on_close = connection.on_close, []
        for callback in callbacks:
            try:
                callback()
            except Exception:
                log.exception("WebSocket close callback failed")
        if not self._connections:
            for task in self._tasks:
                task.cancel()
            self._tasks = []
            self._events.clear()

    def follow(self, connection: Connection, subscription: Subscription | None) -> None:
        """Replace what a socket follows (None: nothing)."""
        old = connection.subscription
        if old is not None:
            org, audience = old.user.organization_id, old.audience()
            audiences = self._following.get(org, {})
            followers = audiences.get(audience)
            if followers is not None:
                followers.connections.discard(connection)
                if not followers.connections:
                    del audiences[audience]
                    if not audiences:
                        del self._following[org]
        connection.subscription = subscription
        if subscription is not None and not connection.done.is_set():
            audiences = self._following.setdefault(subscription.user.organization_id, {})
            audience = subscription.audience()
            followers = audiences.get(audience)
            if followers is None:
                followers = audiences[audience] = Followers(subscription)
            followers.connections.add(connection)

    # -- heartbeats and liveness --
    async def _tick(self) -> None:
        """Every interval / `HEARTBEAT_SLICES`, the next slice's sockets: each is sent `h` (written at
        once unless frames wait), or closed when its client has been quiet too long."""
        loop = asyncio.get_running_loop()
        interval, timeout = self.settings.heartbeat_seconds, self.settings.timeout_seconds
        step = interval / HEARTBEAT_SLICES
        due = loop.time()
        turn = 0
        while True:
            # Due times, not sleeps, set the pace (no drift); after a long stall, no rush to catch up.
            due = max(due + step, loop.time())
            await asyncio.sleep(max(0.0, due - loop.time()))
            now = loop.time()
            for connection in list(self._beats[turn]):
                if connection.waiting_for_client and now - connection.last_heard > timeout:
                    connection.finish(HEARTBEAT_TIMEOUT)
                else:
                    connection.write_now(HEARTBEAT_FRAME)
            turn = (turn + 1) % HEARTBEAT_SLICES

    # -- events --
    def _on_events(self, events: Sequence[Event]) -> None:
        """Publisher listener (on the event loop, after commit): keep what a followed socket may want."""
        if not self._following:
            return
        self._events.extend(e for e in events if interesting(e))
        if len(self._events) > EVENT_BACKLOG_MAX:
            # The fan-out fell far behind: rather than grow without bound or skip events silently,
            # the following sockets are closed (their clients reconnect and sync again).
            self._events.clear()
            for audiences in list(self._following.values()):
                for followers in list(audiences.values()):
                    for connection in list(followers.connections):
                        connection.finish(EVENT_BACKLOG_FULL)
            return
        self._wake.set()

    async def _fan_out(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._events:
                batch = list(self._events)
                self._events.clear()
                try:
                    await self._deliver(batch)
                except Exception:
                    log.exception("WebSocket fan-out of %d events failed", len(batch))

    async def _deliver(self, batch: list[Event]) -> None:
        """Fan a batch out in commit order; trading entities are read first, in bulk, and only those
        some socket follows."""
        wanted: dict[tuple[int, str], set[tuple[int, int]]] = {}  # (org, kind) -> (account, entity id)
        accounts: dict[int, tuple[int, int]] = {}  # account id -> (org, owner)
        for event in batch:
            if isinstance(event, TradingEntityChanged):
                account = await self.services.risk.accounts.get(event.account_id)
                if account is None:
                    continue
                org, owner = account.organization_id, account.user_id
                accounts[account.id] = (org, owner)
                kind = event.entity_type
                audiences = self._following.get(org, {})
                if any(f.wants(org, account.id, owner, kind) for f in audiences.values()):
                    wanted.setdefault((org, kind), set()).add((account.id, event.entity_id))
        entities: dict[tuple[str, int, int], str] = {}
        for (org, kind), keys in wanted.items():
            found = await read_entities(self.services, org, kind, keys)
            for (account_id, entity_id), encoded in found.items():
                entities[(kind, account_id, entity_id)] = encoded
        # Each event's changes (those of one account), by organization, in commit order.
        by_org: dict[int, list[list[Change]]] = {}
        for event in batch:
            if isinstance(event, RiskStatusChanged):
                if event.organization_id not in self._following:
                    continue
                changes = risk_status_changes(event)
            elif isinstance(event, TradingEntityChanged):
                entity = entities.get((event.entity_type, event.account_id, event.entity_id))
                if entity is None and event.event_type == "Deleted":
                    entity = f'{{"id":{event.entity_id}}}'  # gone: its id is what a client can match
                if entity is None:
                    continue
                org, owner = accounts[event.account_id]
                changes = [Change(org, event.account_id, owner, event.entity_type, event.event_type, entity)]
            else:
                continue
            if changes:
                by_org.setdefault(changes[0].organization_id, []).append(changes)
        for org, events in by_org.items():
            self._send(org, events)

    def _send(self, organization_id: int, events: list[list[Change]]) -> None:
        """Write one organization's events (each a list of changes of one account), in order: per
        audience, the messages it may see, joined into frames of at most `MAX_JOINED_FRAMES` events
        (as a socket's queued frames are joined), each frame built once for all its sockets."""
        audiences = self._following.get(organization_id)
        if not audiences:
            return
        messages = [
            [(c.entity_type, props_message(c.entity_type, c.event_type, c.entity_json)) for c in changes]
            for changes in events
        ]
        for followers in list(audiences.values()):
            sub = followers.subscription
            types = sub.entity_types
            parts: list[str] = []  # per event, its messages this audience wants
            for changes, encoded in zip(events, messages, strict=True):
                first = changes[0]
                if not sub.covers(organization_id, first.account_id, first.owner_id):
                    continue
                seen = [m for kind, m in encoded if kind in types]
                if seen:
                    parts.append(",".join(seen))
            if not parts:
                continue
            frames = [
                "a[" + ",".join(parts[i : i + MAX_JOINED_FRAMES]) + "]"
                for i in range(0, len(parts), MAX_JOINED_FRAMES)
            ]
            for connection in list(followers.connections):
                for frame in frames:
                    connection.push_event(frame)


def hub_of(app: Litestar) -> Hub:
    """The app's hub, made on first use with the server's settings (AUTOLIQ_WS_*, read at start)."""
    hub = app.state.get("websocket_hub")
    if not isinstance(hub, Hub):
        services: Services = app.state.services
        hub = Hub(services, services.settings.websocket)
        app.state.websocket_hub = hub
    return hub


async def cancel_quietly(tasks: Sequence[asyncio.Task[None]]) -> None:
    """Cancel `tasks` and wait for them to end."""
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
