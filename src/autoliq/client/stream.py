"""Tradovate's WebSocket protocol: `SocketProtocol` (frames in, items out; no I/O), its
`user/syncrequest` flavour `StreamProtocol` (the market-data ones are in `market_data`), and the two
drivers over the `websockets` package (imported only when a stream opens): `AsyncStream` (asyncio,
for `AsyncClient`) and `SyncStream` (threads, for `Client`); `Subscription` and `SyncSubscription`
are those drivers running a `StreamProtocol`. The drivers do only the I/O: open, authorize, heartbeat,
send the protocol's requests, and before closing its stop requests (an unsubscribe).

Frames from the server: `o` (open), `h` (heartbeat), `a[...]` (a JSON array of messages),
`c[code,"reason"]` (close). The client sends `[]` as its heartbeat (every 2.5 s by default) and
requests as `endpoint\\nid\\nquery\\nbody`: `authorize\\n0\\n\\n<token>` right after `o`, then
`user/syncrequest\\n1\\n\\n{"users": [...], "accounts": [...], "splitResponses": true, "entityTypes":
[...]}`. A response is `{"i": id, "s": status, "d": body}`; an event `{"e": "props", "d":
{"entityType", "eventType", "entity"}}`.

A subscription yields a `SyncSnapshot` first (the syncrequest's answer; Tradovate may split it in
several answers with `splitResponses`, each yielded as a `SyncSnapshot`), then one `PropsEvent` per
entity (an `entity` that arrives as an array is split). Events that arrive before the snapshot are
held and yielded after it. Other events (`md`, `clock`) are skipped. The stream ends with
`StreamClosedError` (a close frame, a `shutdown` event, a dropped connection): it does not reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeAlias, TypeVar

from autoliq.client.errors import AuthError, RateLimitedError, StreamClosedError, StreamError
from autoliq.client.models import PropsEvent, SyncSnapshot, Token

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import ClientConnection as SyncClientConnection

__all__ = [
    "HEARTBEAT",
    "AsyncStream",
    "CloseFrame",
    "HeartbeatFrame",
    "MessagesFrame",
    "OpenFrame",
    "SocketProtocol",
    "StreamItem",
    "StreamProtocol",
    "Subscription",
    "SyncStream",
    "SyncSubscription",
    "parse_frame",
    "request_frame",
]

HEARTBEAT = "[]"
"""What the client sends to stay connected."""
HEARTBEAT_INTERVAL = 2.5
"""Seconds between the client's heartbeats (Tradovate drops a silent client)."""
AUTHORIZE_ID = 0
SYNC_ID = 1

StreamItem: TypeAlias = SyncSnapshot | PropsEvent

# -- frames --


@dataclass(frozen=True, slots=True)
class OpenFrame:
    """`o`: the server accepted the connection."""


@dataclass(frozen=True, slots=True)
class HeartbeatFrame:
    """`h`: the server's heartbeat."""


@dataclass(frozen=True, slots=True)
class MessagesFrame:
    """`a[...]`: responses and events."""

    messages: list[Any]


@dataclass(frozen=True, slots=True)
class CloseFrame:
    """`c[code,"reason"]`: the server closes the stream."""

    code: int | None
    reason: str


Frame: TypeAlias = OpenFrame | HeartbeatFrame | MessagesFrame | CloseFrame


def parse_frame(text: str) -> Frame:
    """One server frame; `StreamError` for anything else."""
    kind, rest = text[:1], text[1:]
    if kind == "o":
        return OpenFrame()
    if kind == "h":
        return HeartbeatFrame()
    if kind not in ("a", "c"):
        raise StreamError(f"unknown WebSocket frame {text[:60]!r}")
    try:
        payload = json.loads(rest) if rest else []
    except ValueError as exc:
        raise StreamError(f"unreadable WebSocket frame {text[:60]!r}") from exc
    if not isinstance(payload, list):
        raise StreamError(f"WebSocket frame {text[:60]!r} does not carry a JSON array")
    if kind == "a":
        return MessagesFrame(payload)
    code = payload[0] if payload and isinstance(payload[0], int) else None
    reason = str(payload[1]) if len(payload) > 1 else ""
    return CloseFrame(code, reason)


def request_frame(endpoint: str, request_id: int, query: str = "", body: str = "") -> str:
    """A request: `endpoint\\nid\\nquery\\nbody`."""
    return f"{endpoint}\n{request_id}\n{query}\n{body}"


def sync_request_body(
    token: Token, entity_types: Sequence[str], accounts: Sequence[int] | None, users: Sequence[int] | None
) -> dict[str, Any]:
    """The `user/syncrequest` body: the token's user unless `users` is given; `splitResponses` true
    (Tradovate: mandatory for B2B vendors)."""
    body: dict[str, Any] = {}
    chosen = list(users) if users is not None else ([token.user_id] if token.user_id is not None else None)
    if chosen is not None:
        body["users"] = chosen
    if accounts is not None:
        body["accounts"] = list(accounts)
    body["splitResponses"] = True
    body["entityTypes"] = list(entity_types)
    return body


# -- the protocols, without I/O --

ItemT = TypeVar("ItemT")


class SocketProtocol(Generic[ItemT]):
    """What every Tradovate socket does, without I/O: the `o`, `h` and `c` frames, the `authorize`
    exchange, 429s and `shutdown`. A subclass says what to send once authorized (`start_frames`) and
    before the client leaves (`stop_frames`), and turns its responses and events into items."""

    def __init__(self, access_token: str) -> None:
        self._access_token = access_token
        self.opened = False
        self.authorized = False

    def authorize_frame(self) -> str:
        """`authorize\\n0\\n\\n<token>`."""
        return request_frame("authorize", AUTHORIZE_ID, "", self._access_token)

    def start_frames(self) -> list[str]:
        """The requests to send once the socket is authorized."""
        return []

    def stop_frames(self) -> list[str]:
        """The requests to send before the client closes the socket (an unsubscribe, a cancel)."""
        return []

    def receive(self, text: str) -> list[ItemT]:
        """The items a frame gives, in order."""
        frame = parse_frame(text)
        if isinstance(frame, OpenFrame):
            self.opened = True
            return []
        if isinstance(frame, HeartbeatFrame):
            return []
        if isinstance(frame, CloseFrame):
            raise StreamClosedError(
                f"the server closed the stream: {frame.code} {frame.reason}".rstrip(),
                code=frame.code,
                reason=frame.reason,
            )
        items: list[ItemT] = []
        for message in frame.messages:
            if not isinstance(message, dict):
                raise StreamError(f"WebSocket message is not a JSON object: {message!r}")
            if "e" in message:
                kind, data = message.get("e"), message.get("d")
                if kind == "shutdown":
                    data = data if isinstance(data, dict) else {}
                    reason = f"{data.get('reasonCode', '')}: {data.get('reason', '')}".strip(": ")
                    raise StreamClosedError(
                        f"the server shut the stream down: {reason}", code=None, reason=reason
                    )
                items.extend(self.on_event(str(kind), data))
            elif "i" in message:
                items.extend(self._response(message.get("i"), message.get("s"), message.get("d")))
        return items

    def _response(self, request_id: Any, status: Any, body: Any) -> list[ItemT]:
        if status == 429:
            raise RateLimitedError(
                f"WebSocket request {request_id}: 429 Too Many Requests", retry_after=None, waited=0.0
            )
        if request_id == AUTHORIZE_ID:
            if status == 200:
                self.authorized = True
                return []
            raise AuthError(f"the WebSocket refused the token: {status} {body}", error_text=str(body))
        return self.on_response(request_id, status, body)

    def on_response(self, request_id: Any, status: Any, body: Any) -> list[ItemT]:
        """The items a response to one of `start_frames` gives (none by default)."""
        return []

    def on_event(self, kind: str, data: Any) -> list[ItemT]:
        """The items an event (`props`, `md`, `chart`, ...) gives (none by default)."""
        return []


class StreamProtocol(SocketProtocol[StreamItem]):
    """The `user/syncrequest` stream: a `SyncSnapshot`, then `PropsEvent`s (earlier ones held)."""

    def __init__(self, access_token: str, sync_body: dict[str, Any]) -> None:
        super().__init__(access_token)
        self._sync_body = sync_body
        self.synced = False
        self._early: list[StreamItem] = []

    def sync_frame(self) -> str:
        """`user/syncrequest\\n1\\n\\n<body>`."""
        return request_frame("user/syncrequest", SYNC_ID, "", json.dumps(self._sync_body))

    def start_frames(self) -> list[str]:
        """The syncrequest."""
        return [self.sync_frame()]

    def on_response(self, request_id: Any, status: Any, body: Any) -> list[StreamItem]:
        """The snapshot, then the events that arrived before it."""
        if request_id != SYNC_ID:
            return []  # the answer to a request this helper did not send
        if status != 200 or not isinstance(body, dict):
            raise StreamError(f"user/syncrequest answered {status}: {body}")
        self.synced = True
        items: list[StreamItem] = [SyncSnapshot(body), *self._early]
        self._early.clear()
        return items

    def on_event(self, kind: str, data: Any) -> list[StreamItem]:
        """One `PropsEvent` per entity (held until the snapshot); other events skipped."""
        if kind != "props" or not isinstance(data, dict):
            return []
        entity = data.get("entity")
        entities = entity if isinstance(entity, list) else [entity]
        events: list[StreamItem] = [
            PropsEvent(str(data.get("entityType")), str(data.get("eventType")), e)
            for e in entities
            if isinstance(e, dict)
        ]
        if self.synced:
            return events
        self._early.extend(events)
        return []


# -- the drivers --


def _closed_error(exc: ConnectionClosed) -> StreamClosedError:
    """A connection the `websockets` package saw close, as the SDK's error (the close frame's code)."""
    code = exc.rcvd.code if exc.rcvd is not None else None
    reason = exc.rcvd.reason if exc.rcvd is not None else ""
    return StreamClosedError(
        f"the WebSocket connection closed: {code} {reason}".rstrip(), code=code, reason=reason
    )


def _text(message: str | bytes) -> str:
    return message.decode() if isinstance(message, bytes) else message


ProtocolFactory: TypeAlias = Callable[[Token], SocketProtocol[ItemT]]
"""Makes a stream's protocol from the token it authorizes with."""


class AsyncStream(Generic[ItemT]):
    """An open (or lazily opened) Tradovate socket yielding items: `async with` it, `async for` them.

    Opening connects, waits for `o`, authorizes, starts the heartbeat task and sends the protocol's
    requests; closing sends its stop requests (unsubscribes), stops the heartbeat and closes.
    """

    def __init__(
        self,
        url: str,
        token_source: Callable[[], Awaitable[Token]],
        protocol_factory: ProtocolFactory[ItemT],
        *,
        heartbeat_interval: float,
        heartbeat_sleep: Callable[[float], Awaitable[None]],
        open_timeout: float,
        trust_env: bool,
    ) -> None:
        self.url = url
        self._token_source = token_source
        self._protocol_factory = protocol_factory
        self._interval = heartbeat_interval
        self._sleep = heartbeat_sleep
        self._open_timeout = open_timeout
        self._trust_env = trust_env
        self._ws: ClientConnection | None = None
        self._protocol: SocketProtocol[ItemT] | None = None
        self._ready: deque[ItemT] = deque()
        self._heartbeat: asyncio.Task[None] | None = None
        self._closed = False

    async def open(self) -> None:
        """Connect, authorize, start the heartbeat and send the protocol's requests."""
        if self._ws is not None:
            return
        try:
            from websockets.asyncio.client import connect
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise ImportError("the SDK's WebSocket streams need the websockets package (>= 15)") from exc
        token = await self._token_source()
        protocol = self._protocol_factory(token)
        self._protocol = protocol
        try:
            async with asyncio.timeout(self._open_timeout):
                self._ws = await connect(
                    self.url,
                    open_timeout=self._open_timeout,
                    proxy=True if self._trust_env else None,
                    max_size=2**26,  # a whole organization's snapshot can be large
                )
                while not protocol.opened:
                    await self._receive()
                await self._ws.send(protocol.authorize_frame())
                while not protocol.authorized:
                    await self._receive()
            self._heartbeat = asyncio.create_task(self._beat(self._ws))
            for frame in protocol.start_frames():
                await self._ws.send(frame)
        except BaseException:
            await self.aclose()
            raise

    async def _receive(self) -> None:
        from websockets.exceptions import ConnectionClosed

        ws, protocol = self._ws, self._protocol
        if ws is None or protocol is None:
            raise StreamError("the stream is not open")
        try:
            message = await ws.recv()
        except ConnectionClosed as exc:
            raise _closed_error(exc) from exc
        self._ready.extend(protocol.receive(_text(message)))

    async def _beat(self, ws: ClientConnection) -> None:
        from websockets.exceptions import ConnectionClosed

        with contextlib.suppress(ConnectionClosed):
            while True:
                await self._sleep(self._interval)
                await ws.send(HEARTBEAT)

    def __aiter__(self) -> AsyncStream[ItemT]:
        return self

    async def __anext__(self) -> ItemT:
        if self._closed:
            raise StopAsyncIteration
        try:
            await self.open()
            while not self._ready:
                await self._receive()
        except BaseException:
            await self.aclose()
            raise
        return self._ready.popleft()

    async def aclose(self) -> None:
        """Send the stop requests (unsubscribe), stop the heartbeat and close the connection
        (idempotent)."""
        was_closed, self._closed = self._closed, True
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
            self._heartbeat = None
        if self._ws is not None:
            from websockets.exceptions import ConnectionClosed

            if not was_closed and self._protocol is not None and self._protocol.authorized:
                with contextlib.suppress(ConnectionClosed):
                    for frame in self._protocol.stop_frames():
                        await self._ws.send(frame)
            await self._ws.close()

    async def __aenter__(self) -> AsyncStream[ItemT]:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


class SyncStream(Generic[ItemT]):
    """`AsyncStream`'s blocking twin, for `Client`: `with` it, and `for` its items.

    The heartbeat is a daemon thread that sends `[]` every `heartbeat_interval` seconds until
    `close()` (the `websockets` sync connection lets it send while the caller's thread receives).
    """

    def __init__(
        self,
        url: str,
        token_source: Callable[[], Token],
        protocol_factory: ProtocolFactory[ItemT],
        *,
        heartbeat_interval: float,
        open_timeout: float,
        trust_env: bool,
    ) -> None:
        self.url = url
        self.heartbeat_interval = heartbeat_interval
        self._token_source = token_source
        self._protocol_factory = protocol_factory
        self._open_timeout = open_timeout
        self._trust_env = trust_env
        self._ws: SyncClientConnection | None = None
        self._protocol: SocketProtocol[ItemT] | None = None
        self._ready: deque[ItemT] = deque()
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None
        self._closed = False

    def open(self) -> None:
        """Connect, authorize, start the heartbeat and send the protocol's requests."""
        if self._ws is not None:
            return
        try:
            from websockets.sync.client import connect
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise ImportError("the SDK's WebSocket streams need the websockets package (>= 15)") from exc
        token = self._token_source()
        protocol = self._protocol_factory(token)
        self._protocol = protocol
        try:
            deadline = time.monotonic() + self._open_timeout
            connection = connect(
                self.url,
                open_timeout=self._open_timeout,
                proxy=True if self._trust_env else None,
                max_size=2**26,  # a whole organization's snapshot can be large
            )
            # entered as a context manager (closed by close()): websockets >= 17.1 warns otherwise
            self._ws = connection.__enter__()
            while not protocol.opened:
                self._receive(deadline)
            self._ws.send(protocol.authorize_frame())
            while not protocol.authorized:
                self._receive(deadline)
            self._heartbeat = threading.Thread(
                target=self._beat, args=(self._ws,), name="autoliq-stream-heartbeat", daemon=True
            )
            self._heartbeat.start()
            for frame in protocol.start_frames():
                self._ws.send(frame)
        except BaseException:
            self.close()
            raise

    def _receive(self, deadline: float | None = None) -> None:
        """One frame into the protocol; by `deadline` (`time.monotonic()`) or `TimeoutError`."""
        from websockets.exceptions import ConnectionClosed

        ws, protocol = self._ws, self._protocol
        if ws is None or protocol is None:
            raise StreamError("the stream is not open")
        try:
            message = ws.recv(None if deadline is None else max(0.0, deadline - time.monotonic()))
        except ConnectionClosed as exc:
            raise _closed_error(exc) from exc
        self._ready.extend(protocol.receive(_text(message)))

    def _beat(self, ws: SyncClientConnection) -> None:
        from websockets.exceptions import ConnectionClosed

        with contextlib.suppress(ConnectionClosed):
            while not self._stop.wait(self.heartbeat_interval):
                ws.send(HEARTBEAT)

    def __iter__(self) -> SyncStream[ItemT]:
        return self

    def __next__(self) -> ItemT:
        return self.next_item()

    def next_item(self, deadline: float | None = None) -> ItemT:
        """The next item (what `next` gives); `TimeoutError` when none came by `deadline`
        (`time.monotonic()`), which closes the stream like any error."""
        if self._closed:
            raise StopIteration
        try:
            self.open()
            while not self._ready:
                self._receive(deadline)
        except BaseException:
            self.close()
            raise
        return self._ready.popleft()

    def close(self) -> None:
        """Send the stop requests (unsubscribe), stop the heartbeat and close the connection
        (idempotent). Another thread may call it: a `next` waiting there for an item then raises
        `StreamClosedError`, as any closed connection."""
        was_closed, self._closed = self._closed, True
        self._stop.set()
        heartbeat, self._heartbeat = self._heartbeat, None
        if heartbeat is not None:
            heartbeat.join()
        if self._ws is not None:
            from websockets.exceptions import ConnectionClosed

            if not was_closed and self._protocol is not None and self._protocol.authorized:
                with contextlib.suppress(ConnectionClosed):
                    for frame in self._protocol.stop_frames():
                        self._ws.send(frame)
            self._ws.close()

    def __enter__(self) -> SyncStream[ItemT]:
        self.open()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


# -- the user/syncrequest stream --


def _sync_protocol(
    entity_types: Sequence[str], accounts: Sequence[int] | None, users: Sequence[int] | None
) -> ProtocolFactory[StreamItem]:
    def make(token: Token) -> SocketProtocol[StreamItem]:
        return StreamProtocol(token.access_token, sync_request_body(token, entity_types, accounts, users))

    return make


class Subscription(AsyncStream[StreamItem]):
    """`AsyncClient.subscribe`'s stream: `async with` it, and `async for` its items."""

    def __init__(
        self,
        url: str,
        token_source: Callable[[], Awaitable[Token]],
        *,
        entity_types: Sequence[str],
        accounts: Sequence[int] | None,
        users: Sequence[int] | None,
        heartbeat_interval: float,
        heartbeat_sleep: Callable[[float], Awaitable[None]],
        open_timeout: float,
        trust_env: bool,
    ) -> None:
        super().__init__(
            url,
            token_source,
            _sync_protocol(list(entity_types), accounts, users),
            heartbeat_interval=heartbeat_interval,
            heartbeat_sleep=heartbeat_sleep,
            open_timeout=open_timeout,
            trust_env=trust_env,
        )


class SyncSubscription(SyncStream[StreamItem]):
    """`Client.subscribe`'s stream: `with` it, and `for` its items."""

    def __init__(
        self,
        url: str,
        token_source: Callable[[], Token],
        *,
        entity_types: Sequence[str],
        accounts: Sequence[int] | None,
        users: Sequence[int] | None,
        heartbeat_interval: float,
        open_timeout: float,
        trust_env: bool,
    ) -> None:
        super().__init__(
            url,
            token_source,
            _sync_protocol(list(entity_types), accounts, users),
            heartbeat_interval=heartbeat_interval,
            open_timeout=open_timeout,
            trust_env=trust_env,
        )
