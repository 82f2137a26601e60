"""The hot endpoints (setadminautoliqaction, placeorder): their one implementation each, and a
plain-ASGI entry that skips the framework.

setadminautoliqaction is the product's hot path (bulk lock/unlock runs hit it thousands of times a
second), placeorder the trading one. Litestar's per-request machinery (routing, guard, signature
model, response objects) measured at about 200 µs of CPU per request (py-spy, bench/), four times
what the whole request costs a bare ASGI app. So `FastEntry` answers these POSTs itself with the
same steps in the same order: token, body size, strict decoding, then the one shared implementation,
which the Litestar route (documented in the OpenAPI, and used when `AUTOLIQ_FAST_PATH=0`) calls too.
Every other request goes to Litestar, timed and counted here (telemetry/metrics.py) under the route
template Litestar matched: one wrapper around the whole framework instead of a middleware per route.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from time import perf_counter
from typing import Any

import msgspec
from litestar.enums import ScopeType
from litestar.types import (
    ASGIApp,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Message,
    Receive,
    Scope,
    Send,
)

from autoliq.api.errors import error_status
from autoliq.api.params import decode_strict
from autoliq.api.schemas.orders import PlaceOrderBody, PlaceOrderResultOut, outcome_out
from autoliq.api.schemas.risk import AccountRiskStatusResponse, SetAdminAutoLiqActionBody, risk_status_out
from autoliq.api.security import dispatched_caller
from autoliq.bootstrap import Services
from autoliq.domain.errors import AutoliqError, BadRequest
from autoliq.domain.model import User
from autoliq.domain.rules import EnvironmentDenied, Rejection
from autoliq.telemetry.metrics import (
    HTTP_DURATION,
    HTTP_REQUESTS,
    UNMATCHED_ROUTE,
    count_admin_action,
    count_order,
)

log = logging.getLogger(__name__)

SET_ADMIN_ACTION_PATH = "/v1/accountRiskStatus/setadminautoliqaction"
PLACE_ORDER_PATH = "/v1/order/placeorder"
_encode = msgspec.json.Encoder().encode
_JSON_HEADERS = [(b"content-type", b"application/json")]
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


async def set_admin_action(
    services: Services, caller: User, raw: bytes
) -> tuple[int, AccountRiskStatusResponse]:
    """The endpoint after authentication: (HTTP status, answer). Raises BadRequest (400),
    NotFound (404) and Unauthorized (401) for the framework or `FastEntry` to answer."""
    body = decode_strict(raw, SetAdminAutoLiqActionBody)
    result = await services.risk.set_admin_auto_liq_action(
        caller, body.accountId, body.adminAction, body.adminActionReasonCode, body.adminActionReason
    )
    if isinstance(result, Rejection):
        return 200, AccountRiskStatusResponse(errorText=result.error_text)
    if isinstance(result, EnvironmentDenied):
        return result.http_status, AccountRiskStatusResponse(errorText=result.error_text)
    count_admin_action(result.admin_action.value)
    return 200, AccountRiskStatusResponse(accountRiskStatus=risk_status_out(result))


async def place_order(services: Services, caller: User, raw: bytes) -> tuple[int, PlaceOrderResultOut]:
    """placeorder after authentication: (200, Tradovate's `PlaceOrderResult`); a refusal is a value."""
    body = decode_strict(raw, PlaceOrderBody)
    outcome = await services.trading.place_order(caller, body)
    count_order(outcome.failure_reason or "accepted")
    return 200, outcome_out(outcome)


Handler = Callable[[Services, User, bytes], Awaitable[tuple[int, Any]]]
FAST_ROUTES: dict[str, Handler] = {SET_ADMIN_ACTION_PATH: set_admin_action, PLACE_ORDER_PATH: place_order}
"""The POST endpoints `FastEntry` answers itself; each is also a Litestar route calling the same
function (documented in the OpenAPI, and used when `AUTOLIQ_FAST_PATH=0`)."""


class _TooLarge(Exception):
    pass


class FastEntry:
    """The app's ASGI entry: Tradovate's case-insensitive paths, the fast setadminautoliqaction and
    placeorder, and the HTTP request metrics of every route (by route template, never the raw path)."""

    def __init__(self, app: ASGIApp, services: Services, paths: list[str], *, fast_path: bool) -> None:
        self.app = app
        self.services = services
        self.canonical = {p.lower(): p for p in paths}
        self.fast_path = fast_path
        self.max_body = services.settings.max_body_bytes
        self._durations = {p: HTTP_DURATION.labels((p,)) for p in FAST_ROUTES}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            path = scope["path"]
            canonical = self.canonical.get(path.lower())
            if canonical is not None and canonical != path:
                # Tradovate matches paths without regard to case (`/auth/accessTokenRequest` works).
                scope = dict(scope)  # type: ignore[assignment]
                scope["path"] = canonical
                scope["raw_path"] = canonical.encode()
                path = canonical
            if self.fast_path and scope.get("method") == "POST":
                handler = FAST_ROUTES.get(path)
                if handler is not None:
                    await self._answer(handler, path, scope, receive, send)
                    return
            if scope["type"] == ScopeType.HTTP:
                await self._counted(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _counted(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A framework request, counted once answered under the route template Litestar matched."""
        status = 500  # when the app raised before answering

        async def send_counted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        start = perf_counter()
        try:
            await self.app(scope, receive, send_counted)
        finally:
            route = scope.get("path_template") or UNMATCHED_ROUTE
            method = scope.get("method", "")
            HTTP_REQUESTS.inc((route, method if method in _METHODS else "OTHER", status))
            HTTP_DURATION.labels((route,)).observe(perf_counter() - start)

    async def _answer(self, handler: Handler, path: str, scope: Scope, receive: Receive, send: Send) -> None:
        began = perf_counter()
        headers = _JSON_HEADERS
        try:
            caller = dispatched_caller(scope) or await self.services.auth.authenticate(_bearer(scope))
            raw = await self._body(scope, receive)
            status, answer = await handler(self.services, caller.user, raw)
            payload = _encode(answer)
        except _TooLarge:
            status, payload = 413, b'{"errorText":"Request body too large"}'
        except AutoliqError as exc:
            status, extra = error_status(exc)
            payload = _encode({"errorText": exc.message})
            headers = [*_JSON_HEADERS, *((k.encode(), v.encode()) for k, v in extra)]
        except Exception:
            log.exception("unhandled error on POST %s", path)
            status, payload = 500, b'{"errorText":"Internal server error"}'
        start: HTTPResponseStartEvent = {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(payload)).encode())],
        }
        await send(start)
        end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": payload, "more_body": False}
        await send(end)
        HTTP_REQUESTS.inc((path, "POST", status))
        self._durations[path].observe(perf_counter() - began)

    async def _body(self, scope: Scope, receive: Receive) -> bytes:
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    if int(value) > self.max_body:
                        raise _TooLarge
                except ValueError:
                    raise BadRequest("Invalid Content-Length header") from None
        chunks: list[bytes] = []
        size = 0
        while True:
            message: Any = await receive()
            if message["type"] == "http.disconnect":
                raise BadRequest("Client disconnected")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise _TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() or None if scheme.lower() == "bearer" else None
    return None
