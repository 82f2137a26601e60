"""The SDK's WebSocket helpers (`AsyncClient.subscribe` and `Client.subscribe`) against a tiny fake
Tradovate written here: a raw ASGI app on a loopback port that logs in over HTTP and speaks
Tradovate's frames on `/v1/websocket` (`o`, `h`, `a[...]`, `c[code,"reason"]`). The real server's
endpoint is not used. The exchanges run on both drivers (`DRIVERS`).
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import uvicorn

from autoliq.client import (
    AsyncClient,
    AuthError,
    Client,
    ClientSettings,
    PropsEvent,
    RateLimitedError,
    StreamClosedError,
    StreamError,
    SyncSnapshot,
    Token,
)
from autoliq.client.stream import (
    HEARTBEAT_INTERVAL,
    CloseFrame,
    HeartbeatFrame,
    MessagesFrame,
    OpenFrame,
    StreamProtocol,
    parse_frame,
    request_frame,
)

NAME = "admin"
PASSWORD = "stream-pw"
TOKEN = "stream-token"
USER_ID = 7
STARTUP_DEADLINE = 30.0  # seconds; a bound on a wait, not a measured duration
GUARD = 15.0  # seconds; a bound on a wait (a failure past it), not a measured duration

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def props(entity: Any, event_type: str = "Updated") -> dict[str, Any]:
    return {"e": "props", "d": {"entityType": "accountRiskStatus", "eventType": event_type, "entity": entity}}


EARLY = props({"id": 42, "adminAction": "LockTradingImmediately"})
SNAPSHOT = {"users": [{"id": USER_ID}], "accountRiskStatuses": [{"id": 42, "adminAction": "Normal"}]}
LATER = props([{"id": 42, "adminAction": "Normal"}, {"id": 43, "adminAction": "LiquidateImmediately"}])
SHUTDOWN = {"e": "shutdown", "d": {"reasonCode": "Maintenance", "reason": "upgrade"}}


class FakeStreamServer:
    """`POST /v1/auth/accesstokenrequest` and `/v1/websocket` in Tradovate's protocol.

    On the socket: `o`; the `authorize` answer; after the syncrequest, a props event, then the
    snapshot (so the client must hold the event back), `h`; once the client has sent its `[]`
    heartbeat, one props event carrying two entities, then the `ending`: `c[3000,"Go away!"]`
    (`"close"`), a `shutdown` event (`"shutdown"`), or a WebSocket close 1011 "boom" without a
    Tradovate frame (`"drop"`). With `mute`, it accepts the socket and never says a word.
    """

    def __init__(self, ending: str = "close", *, mute: bool = False) -> None:
        self.ending = ending
        self.mute = mute
        self.received: list[str] = []
        """Every text frame the client sent on the socket, in order."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        answer: dict[str, Any]
        if scope["path"] != "/v1/auth/accesstokenrequest":
            answer, status = {"errorText": "Not found"}, 404
        elif json.loads(body) == {"name": NAME, "password": PASSWORD}:
            answer = {"accessToken": TOKEN, "expirationTime": "2099-01-01T00:00:00Z", "userId": USER_ID}
            status = 200
        else:
            answer, status = {"errorText": "Incorrect username or password. Please try again."}, 200
        payload = json.dumps(answer).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def say(text: str) -> None:
            await send({"type": "websocket.send", "text": text})

        async def hear() -> str:
            message = await receive()
            if message["type"] != "websocket.receive":
                raise ConnectionError("the client left")
            text = str(message.get("text"))
            self.received.append(text)
            return text

        await receive()  # websocket.connect
        if scope["path"] != "/v1/websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        await send({"type": "websocket.accept"})
        try:
            if self.mute:
                while True:
                    await hear()
            await say("o")
            endpoint, request_id, _query, token = (await hear()).split("\n", 3)
            if endpoint != "authorize" or token != TOKEN:
                await say("a" + json.dumps([{"i": int(request_id), "s": 401, "d": "Invalid access token"}]))
                await hear()  # until the client leaves
                return
            await say("a" + json.dumps([{"i": int(request_id), "s": 200}]))
            frame = await hear()
            while frame == "[]":
                frame = await hear()
            _endpoint, request_id, _query, _body = frame.split("\n", 3)
            await say("a" + json.dumps([EARLY]))
            await say("a" + json.dumps([{"i": int(request_id), "s": 200, "d": SNAPSHOT}]))
            await say("h")
            while await hear() != "[]":
                pass
            await say("a" + json.dumps([LATER]))
            if self.ending == "drop":
                await send({"type": "websocket.close", "code": 1011, "reason": "boom"})
                return
            await say('c[3000,"Go away!"]' if self.ending == "close" else "a" + json.dumps([SHUTDOWN]))
            while True:
                await hear()
        except ConnectionError:
            return


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """`app` on a free loopback port, in a thread; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, lifespan="off", log_level="warning", ws="websockets-sansio")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_DEADLINE
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the fake server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_DEADLINE)
        sock.close()


@pytest.fixture
def fake() -> Iterator[tuple[FakeStreamServer, str]]:
    app = FakeStreamServer()
    with serving(app) as base_url:
        yield app, base_url


class OneBeat:
    """A heartbeat sleep: returns at once the first time (so a `[]` goes out), then waits forever."""

    def __init__(self) -> None:
        self.asked: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)
        if len(self.asked) > 1:
            await asyncio.Event().wait()


# -- the whole exchange, on both drivers --

DRIVERS = ["sync", "async"]
"""`Client.subscribe` (`SyncSubscription`, a heartbeat thread) and `AsyncClient.subscribe`
(`Subscription`, a heartbeat task)."""
SYNC_BEAT = 0.05
"""The sync heartbeat's interval here (seconds): short, so the fake's wait for a `[]` is brief."""
HEARTBEAT_THREAD = "autoliq-stream-heartbeat"
ALL_ITEMS = [
    SyncSnapshot(SNAPSHOT),
    PropsEvent("accountRiskStatus", "Updated", {"id": 42, "adminAction": "LockTradingImmediately"}),
    PropsEvent("accountRiskStatus", "Updated", {"id": 42, "adminAction": "Normal"}),
    PropsEvent("accountRiskStatus", "Updated", {"id": 43, "adminAction": "LiquidateImmediately"}),
]
"""What the fake's stream gives: the snapshot, the early event held for it, an array split in two."""


def consume(
    driver: str,
    base_url: str,
    items: list[Any],
    *,
    token: Token | None = None,
    settings: ClientSettings | None = None,
    beat: OneBeat | None = None,
) -> None:
    """Subscribe to account 42's `accountRiskStatus` with the driver's client, `with` and `for`, and
    append every item to `items` until the stream ends (its error raised)."""
    login: dict[str, Any] = {"token": token} if token is not None else {"name": NAME, "password": PASSWORD}
    if driver == "sync":
        with (
            Client(base_url, settings=settings, trust_env=False, **login) as client,
            client.subscribe(["accountRiskStatus"], accounts=[42], heartbeat_interval=SYNC_BEAT) as stream,
        ):
            for item in stream:
                items.append(item)
        return

    async def run() -> None:
        async with AsyncClient(base_url, settings=settings, trust_env=False, **login) as client:
            stream = client.subscribe(["accountRiskStatus"], accounts=[42], heartbeat_sleep=beat or OneBeat())
            async with stream:
                async for item in stream:
                    items.append(item)

    asyncio.run(run())


@pytest.mark.parametrize("driver", DRIVERS)
def test_client_stream_when_subscribed_then_authorizes_syncs_heartbeats_and_yields_snapshot_then_events(
    fake: tuple[FakeStreamServer, str], driver: str
) -> None:
    server, base_url = fake
    beat = OneBeat()
    items: list[Any] = []

    with pytest.raises(StreamClosedError) as caught:
        consume(driver, base_url, items, beat=beat)

    closed = caught.value

    assert items == ALL_ITEMS
    assert (closed.code, closed.reason) == (3000, "Go away!")
    assert server.received[0] == f"authorize\n0\n\n{TOKEN}"
    sync_frame = next(frame for frame in server.received[1:] if frame != "[]")
    endpoint, request_id, query, body = sync_frame.split("\n", 3)
    assert (endpoint, request_id, query) == ("user/syncrequest", "1", "")
    assert json.loads(body) == {
        "users": [USER_ID],
        "accounts": [42],
        "splitResponses": True,
        "entityTypes": ["accountRiskStatus"],
    }
    assert "[]" in server.received
    if driver == "async":
        assert beat.asked[0] == HEARTBEAT_INTERVAL


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize(
    ("ending", "code", "reason"), [("shutdown", None, "Maintenance: upgrade"), ("drop", 1011, "boom")]
)
def test_client_stream_when_shutdown_event_or_connection_closed_then_stream_closed_error(
    driver: str, ending: str, code: int | None, reason: str
) -> None:
    items: list[Any] = []

    with serving(FakeStreamServer(ending)) as base_url, pytest.raises(StreamClosedError) as caught:
        consume(driver, base_url, items)

    assert items == ALL_ITEMS
    assert (caught.value.code, caught.value.reason) == (code, reason)


@pytest.mark.parametrize("driver", DRIVERS)
def test_client_stream_when_token_refused_then_auth_error(
    fake: tuple[FakeStreamServer, str], driver: str
) -> None:
    _server, base_url = fake
    items: list[Any] = []

    with pytest.raises(AuthError) as caught:
        consume(driver, base_url, items, token=Token("forged", None))

    assert caught.value.error_text == "Invalid access token"
    assert items == []


@pytest.mark.parametrize("driver", DRIVERS)
def test_client_stream_when_server_never_opens_then_timeout_error_after_the_client_timeout(
    driver: str,
) -> None:
    items: list[Any] = []

    with serving(FakeStreamServer(mute=True)) as base_url, pytest.raises(TimeoutError):
        consume(driver, base_url, items, settings=ClientSettings(timeout=0.2))

    assert items == []


def test_client_stream_sync_when_left_then_heartbeat_thread_stopped_at_once_and_iteration_over(
    fake: tuple[FakeStreamServer, str],
) -> None:
    _server, base_url = fake
    seen: list[Any] = []
    beats: list[threading.Thread] = []

    def watch() -> None:
        with (
            Client(base_url, name=NAME, password=PASSWORD, trust_env=False) as client,
            client.subscribe(["accountRiskStatus"], heartbeat_interval=3600) as stream,
        ):
            beats.extend(t for t in threading.enumerate() if t.name == HEARTBEAT_THREAD)
            for item in stream:
                seen.append(item)
                break
        stream.close()  # again: nothing left to do
        seen.append(list(stream))

    worker = threading.Thread(target=watch, daemon=True)
    worker.start()
    worker.join(GUARD)

    assert not worker.is_alive()  # leaving did not wait out the hour-long heartbeat interval
    assert seen == [SyncSnapshot(SNAPSHOT), []]
    assert len(beats) == 1 and not beats[0].is_alive()


def test_client_stream_sync_when_closed_from_another_thread_then_the_waiting_loop_ends_with_closed_error(
    fake: tuple[FakeStreamServer, str],
) -> None:
    _server, base_url = fake
    # No heartbeat within the test: the fake then sends nothing after the snapshot, so `next` waits.
    with (
        Client(base_url, name=NAME, password=PASSWORD, trust_env=False) as client,
        client.subscribe(["accountRiskStatus"], heartbeat_interval=3600) as stream,
    ):
        items = [next(stream), next(stream)]
        threading.Timer(0.5, stream.close).start()
        with pytest.raises(StreamClosedError) as caught:
            next(stream)

    assert items == ALL_ITEMS[:2]
    assert caught.value.code == 1000  # the close handshake the client started


@pytest.mark.parametrize("client_class", [Client, AsyncClient])
def test_client_stream_when_no_entity_types_then_refused_before_connecting(
    client_class: type[Client | AsyncClient],
) -> None:
    client = client_class("local", name=NAME, password=PASSWORD)

    with pytest.raises(ValueError):
        client.subscribe([])


@pytest.mark.parametrize("client_class", [Client, AsyncClient])
def test_client_stream_websocket_url_when_derived_then_from_the_base_url(
    client_class: type[Client | AsyncClient],
) -> None:
    assert client_class("demo").websocket_url == "wss://demo.tradovateapi.com/v1/websocket"
    assert client_class("http://127.0.0.1:9000").websocket_url == "ws://127.0.0.1:9000/v1/websocket"
    assert client_class("demo", websocket_url="ws://elsewhere/ws").websocket_url == "ws://elsewhere/ws"


def test_client_stream_sync_heartbeat_interval_when_not_given_then_tradovates_2_5_seconds() -> None:
    assert Client("local").subscribe(["order"]).heartbeat_interval == HEARTBEAT_INTERVAL == 2.5


# -- frames and the protocol, without I/O --


def test_client_stream_frames_when_parsed_then_tradovate_kinds() -> None:
    assert parse_frame("o") == OpenFrame()
    assert parse_frame("h") == HeartbeatFrame()
    assert parse_frame('a[{"i":0,"s":200}]') == MessagesFrame([{"i": 0, "s": 200}])
    assert parse_frame('c[3000,"Go away!"]') == CloseFrame(3000, "Go away!")
    assert request_frame("authorize", 0, "", "tok") == "authorize\n0\n\ntok"
    for bad in ("x", "a{", 'a{"i":0}'):
        with pytest.raises(StreamError):
            parse_frame(bad)


def test_client_stream_protocol_when_429_or_shutdown_then_errors() -> None:
    protocol = StreamProtocol("tok", {"entityTypes": ["order"]})

    with pytest.raises(RateLimitedError):
        protocol.receive('a[{"i":1,"s":429}]')
    with pytest.raises(StreamClosedError) as shutdown:
        protocol.receive('a[{"e":"shutdown","d":{"reasonCode":"Maintenance","reason":"upgrade"}}]')

    assert shutdown.value.reason == "Maintenance: upgrade"
    assert protocol.sync_frame() == 'user/syncrequest\n1\n\n{"entityTypes": ["order"]}'
