"""A request frame answered by the REST app itself, in process: same route, checks, texts and codes.

The frame becomes an ASGI `http` scope (POST when the route takes POST, else GET with the query),
its body is fed in, and the status and body sent back are collected. The socket's caller rides in
the scope under `DISPATCHED_CALLER`, which the token guard honours, so no token
(perhaps expired by now) is sent.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Litestar
from litestar.routes import ASGIRoute, HTTPRoute

from autoliq.api.security import ALLOWED_METHODS, DISPATCHED_CALLER
from autoliq.api.websocket.protocol import NOT_FOUND, answer, error_answer, valid_endpoint
from autoliq.service.auth import Caller


class _ErrorBody(msgspec.Struct):
    errorText: str


_decode_error = msgspec.json.Decoder(_ErrorBody).decode


class RestDispatcher:
    """Runs request frames through the app's own ASGI entry (the edge, token guard, routes)."""

    def __init__(self, app: Litestar) -> None:
        self._app = app
        self._post = {
            route.path.lower()
            for route in app.routes
            if (isinstance(route, HTTPRoute) and "POST" in route.methods)
            or (isinstance(route, ASGIRoute) and "POST" in route.route_handler.opt.get(ALLOWED_METHODS, ()))
        }

    def method_of(self, path: str) -> str:
        """POST when the route at `path` takes POST (Tradovate's actions), else GET."""
        return "POST" if path.lower() in self._post else "GET"

    async def call(
        self, caller: Caller, endpoint: str, request_id: int, query: str, body: str, origin: Any
    ) -> str:
        """The answer message to request `request_id`: `endpoint` (the path after /v1/) answered by
        the REST app for `caller`; `origin` is the socket's scope (client, server, headers)."""
        if not valid_endpoint(endpoint):
            return error_answer(404, request_id, NOT_FOUND)
        path = "/v1/" + endpoint
        method = self.method_of(path)
        raw = body.encode() if method == "POST" else b""
        status, content_type, payload = await self._run(caller, method, path, query, raw, origin)
        return _answer_of(request_id, status, content_type, payload)

    async def _run(
        self, caller: Caller, method: str, path: str, query: str, body: bytes, origin: Any
    ) -> tuple[int, bytes, bytes]:
        headers = [(b"content-length", str(len(body)).encode())]
        if method == "POST":
            headers.append((b"content-type", b"application/json"))
        for name, value in origin.get("headers", ()):
            if name == b"host":
                headers.append((name, value))
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": method,
            "scheme": "https" if origin.get("scheme") == "wss" else "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": origin.get("root_path", ""),
            "query_string": query.encode(),
            "headers": headers,
            "client": origin.get("client"),
            "server": origin.get("server"),
            "extensions": {},
            "state": {},
            DISPATCHED_CALLER: caller,
        }
        delivered = False
        status = 500
        content_type = b""
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            # Only a streaming answer would listen for a disconnect; none of the /v1 routes streams.
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status, content_type
            if message["type"] == "http.response.start":
                status = int(message["status"])
                for name, value in message.get("headers", ()):
                    if name.lower() == b"content-type":
                        content_type = value
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self._app(scope, receive, send)  # type: ignore[arg-type]
        return status, content_type, b"".join(chunks)


def _answer_of(request_id: int, status: int, content_type: bytes, payload: bytes) -> str:
    if 200 <= status < 300:
        if not payload:
            return answer(status, request_id)
        if b"json" in content_type.lower():
            return answer(status, request_id, payload.decode())
        return answer(status, request_id, msgspec.json.encode(payload.decode(errors="replace")).decode())
    text: str | None = None
    if payload:
        try:
            text = _decode_error(payload).errorText
        except msgspec.DecodeError:
            text = payload.decode(errors="replace")
    return error_answer(status, request_id, text)
