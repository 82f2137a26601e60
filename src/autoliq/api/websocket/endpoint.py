"""`/v1/websocket`: one socket's life. Accept, `o`; read frames (any frame keeps it alive; `[]` is
only that); `authorize` once, within `authorize_seconds`; other requests answered by the REST app
in process (`dispatch`), a syncrequest by a snapshot and a subscription (`sync`); close with
`c[...]` when the server ends it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import msgspec
from litestar import Controller, WebSocket, websocket
from litestar.types import WebSocketSendEvent

from autoliq.api.errors import error_status
from autoliq.api.params import decode_strict
from autoliq.api.security import PUBLIC
from autoliq.api.websocket import market_data as _market_data  # noqa: F401 - registers md/* handlers
from autoliq.api.websocket import replay  # noqa: F401  (registers replay/* on the socket)
from autoliq.api.websocket.dispatch import RestDispatcher
from autoliq.api.websocket.hub import Connection, Hub, cancel_quietly, hub_of
from autoliq.api.websocket.protocol import (
    ACCESS_DENIED,
    AUTHORIZATION_TIMEOUT,
    AUTHORIZE,
    CLIENT_HEARTBEAT,
    FRAME_TOO_LARGE,
    INVALID_TOKEN,
    MALFORMED_FRAME,
    SYNC_REQUEST,
    UNREADABLE_FRAME,
    MalformedFrame,
    RequestFrame,
    answer,
    authorize_token,
    close_frame,
    error_answer,
    parse_request,
)
from autoliq.api.websocket.socket_routes import SocketHandler, SocketRequest, socket_handler
from autoliq.api.websocket.sync import SyncRequestBody, snapshot, subscription_of
from autoliq.domain.errors import AutoliqError, BadRequest, Unauthorized

log = logging.getLogger(__name__)

FRAME_OVERHEAD = 64 * 1024
"""Room for `endpoint\\nid\\nquery\\n` around a body of the largest size a REST request may have."""
_encode = msgspec.json.Encoder().encode


class WebSocketController(Controller):
    """Tradovate's WebSocket protocol (its own `authorize`: no bearer header at the handshake)."""

    path = "/v1"
    tags = ["websocket"]  # noqa: RUF012

    @websocket("/websocket", opt=PUBLIC)
    async def stream(self, socket: WebSocket[Any, Any, Any]) -> None:
        """Tradovate's frames: `o`, `h`, `a[...]`, `c[code,"reason"]`; requests of four lines."""
        await SocketSession(socket, hub_of(socket.app)).run()


def _dispatcher(socket: WebSocket[Any, Any, Any]) -> RestDispatcher:
    dispatcher = socket.app.state.get("websocket_dispatcher")
    if not isinstance(dispatcher, RestDispatcher):
        dispatcher = RestDispatcher(socket.app)
        socket.app.state.websocket_dispatcher = dispatcher
    return dispatcher


def _close_unless_authorized(connection: Connection) -> None:
    if connection.caller is None:
        connection.finish(AUTHORIZATION_TIMEOUT)


class SocketSession:
    """The reader, the sender and the requests of one socket."""

    def __init__(self, socket: WebSocket[Any, Any, Any], hub: Hub) -> None:
        self.socket = socket
        self.hub = hub
        self.services = hub.services
        self.settings = hub.settings
        self.dispatcher = _dispatcher(socket)
        self.frame_limit = self.services.settings.max_body_bytes + FRAME_OVERHEAD
        self.in_flight = asyncio.Semaphore(self.settings.max_in_flight)
        self.requests: set[asyncio.Task[None]] = set()
        self.sync_lock = asyncio.Lock()
        self.connection: Connection | None = None

    async def run(self) -> None:
        """Serve the socket until the client leaves or the server cuts it off."""
        await self.socket.accept()
        connection = self.connection = self.hub.open(self._send_text)
        sender = asyncio.create_task(connection.send_loop())
        reader = asyncio.create_task(self._read_loop(connection))
        for task in (sender, reader):
            task.add_done_callback(lambda _t: connection.finish(connection.close_reason))
        # Heartbeats keep a socket alive, not authorized: an anonymous one may hold a connection
        # only this long.
        authorize_deadline = asyncio.get_running_loop().call_later(
            self.settings.authorize_seconds, _close_unless_authorized, connection
        )
        try:
            await connection.done.wait()
        finally:
            authorize_deadline.cancel()
            await cancel_quietly([reader, sender])
            self.hub.close(connection)
            reason = connection.close_reason
            if reason is not None:
                # A client that does not read may never take these: it gets as long as it had to
                # say anything.
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(self.settings.timeout_seconds):
                        await self._send_text(close_frame(reason))
                        await self.socket.close(reason.code, reason.reason)
            await self._settle_requests()

    async def _send_text(self, text: str) -> None:
        message: WebSocketSendEvent = {"type": "websocket.send", "text": text, "bytes": None}
        await self.socket.send(message)

    async def _settle_requests(self) -> None:
        """Let requests in flight finish (their answers go nowhere), briefly; cancel the rest."""
        if self.requests:
            _done, pending = await asyncio.wait(set(self.requests), timeout=self.settings.timeout_seconds)
            await cancel_quietly(list(pending))

    # -- reading --
    async def _read_loop(self, connection: Connection) -> None:
        loop = asyncio.get_running_loop()
        receive = self.socket.receive
        while True:
            connection.waiting_for_client = True
            message = await receive()
            connection.waiting_for_client = False
            if message["type"] != "websocket.receive":
                return  # websocket.disconnect: the client left
            connection.last_heard = loop.time()
            text = message.get("text")
            if text is None:
                try:
                    text = (message.get("bytes") or b"").decode()
                except UnicodeDecodeError:
                    connection.finish(UNREADABLE_FRAME)
                    return
            if len(text) > self.frame_limit // 4 and len(text.encode()) > self.frame_limit:
                connection.finish(FRAME_TOO_LARGE)
                return
            if text in (CLIENT_HEARTBEAT, ""):
                continue
            await self._on_frame(connection, text)

    async def _on_frame(self, connection: Connection, text: str) -> None:
        try:
            frame = parse_request(text)
        except MalformedFrame:
            connection.push_message(error_answer(400, None, MALFORMED_FRAME))
            return
        endpoint = frame.endpoint.lower()
        if endpoint == AUTHORIZE:
            # In order: the frames after it are read as the caller it names. Its answer goes in a
            # frame of its own: clients take the first message of the first `a` frame as the answer.
            connection.push_message(await self._authorize(connection, frame), alone=True)
            return
        if connection.caller is None:
            connection.push_message(error_answer(401, frame.id, ACCESS_DENIED))
            return
        await self.in_flight.acquire()
        handler = socket_handler(endpoint)
        if handler is not None:
            task = asyncio.create_task(self._socket_request(connection, frame, handler))
        else:
            task = asyncio.create_task(self._request(connection, frame, endpoint == SYNC_REQUEST))
        self.requests.add(task)
        task.add_done_callback(self._request_done)

    def _request_done(self, task: asyncio.Task[None]) -> None:
        self.requests.discard(task)
        self.in_flight.release()

    async def _authorize(self, connection: Connection, frame: RequestFrame) -> str:
        try:
            caller = await self.services.auth.authenticate(authorize_token(frame.body), market_data=True)
        except Unauthorized:
            return error_answer(401, frame.id, INVALID_TOKEN)
        if connection.caller is not None and connection.caller.user.id != caller.user.id:
            # Another user now: what the socket followed was the previous user's.
            self.hub.follow(connection, None)
        connection.caller = caller
        return answer(200, frame.id)

    async def _request(self, connection: Connection, frame: RequestFrame, sync: bool) -> None:
        caller = connection.caller
        assert caller is not None
        try:
            if sync:
                await self._sync(connection, frame)
                return
            message = await self.dispatcher.call(
                caller, frame.endpoint, frame.id, frame.query, frame.body, self.socket.scope
            )
        except Exception:
            log.exception("WebSocket request %r failed", frame.endpoint)
            message = error_answer(500, frame.id, "Internal server error")
        connection.push_message(message)

    async def _socket_request(
        self, connection: Connection, frame: RequestFrame, handler: SocketHandler
    ) -> None:
        request = SocketRequest(connection, self.hub, self.services, frame, self.socket.scope)
        try:
            message = await handler(request)
        except AutoliqError as exc:
            message = error_answer(error_status(exc)[0], frame.id, exc.message)
        except Exception:
            log.exception("WebSocket request %r failed", frame.endpoint)
            message = error_answer(500, frame.id, "Internal server error")
        if message is not None:
            connection.push_message(message)

    # -- user/syncrequest --
    async def _sync(self, connection: Connection, frame: RequestFrame) -> None:
        caller = connection.caller
        assert caller is not None
        async with self.sync_lock:
            try:
                if len(frame.body.encode()) > self.services.settings.max_body_bytes:
                    connection.push_message(error_answer(413, frame.id, "Request body too large"))
                    return
                body = decode_strict(frame.body.encode() or b"{}", SyncRequestBody)
                subscription = subscription_of(caller.user, body)
            except BadRequest as exc:
                connection.push_message(error_answer(400, frame.id, exc.message))
                return
            # Follow first and hold the events back: none is lost between the snapshot's reads and
            # the answer, and none overtakes the answer.
            connection.hold_events()
            self.hub.follow(connection, subscription)
            try:
                message = await snapshot(self.services, subscription)
            except AutoliqError as exc:
                connection.release_events(error_answer(400, frame.id, exc.message))
                return
            except BaseException:
                connection.release_events()
                raise
            connection.release_events(answer(200, frame.id, _encode(message).decode()))
