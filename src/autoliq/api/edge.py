"""The app's one ASGI edge, in front of Litestar: every request, REST or dispatched by the WebSocket,
passes it and nothing answers beside it.

In order, for an `http` request:

1. Tradovate's paths without regard to case (`/auth/accessTokenRequest` works): the path is
   rewritten to the route's own spelling (WebSocket scopes too);
2. the sandbox step (`SandboxStep`), while faults are pending, tickets early or the rate-limit
   profile on: see below;
3. the app (Litestar: routing, the token guard, the routes, the error table in api/errors.py),
   timed and counted (telemetry/metrics.py) under the route template it matched, never the raw
   path; an answer the sandbox step gives in the app's stead is counted the same way. A POST to a
   hot route (api/asgi_post.py) calls its handler here (`Edge.direct`), answering its errors by
   the same table (`errors.error_answer`), timed and counted alike.

The sandbox step: while no fault is pending, no ticket is early and the profile is off, a request
costs one attribute lookup here. Otherwise, for a `/v1` path:

1. the profile's user-level windows (per user id, per client IP without a valid token): a call past
   them is answered 429 with an empty body;
2. a penalty ticket carried by the call (JSON body field or query parameter `p-ticket`) is looked at
   where it matters: a valid one lets the call through, past any fault or endpoint limit; an early
   one is answered with a new ticket;
3. a pending fault of the path is taken, if one belongs to the call's organization: answered in its
   stead (penalty ticket, 429, 500), or the call is processed late (delay), or processed and then
   answered 500 (after commit);
4. the profile's endpoint-level limit of the path, per client IP: past it, a penalty ticket.

The call's organization is its user's: the WebSocket's user, or the bearer token's. A login
(accesstokenrequest) has no token: it is the organization of the user name it logs in as. Any other
call without a valid token, and a login as an unknown name, is the sandbox operator's.

The body the step reads (with the one reader, `params.read_body`) is handed to the app again.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from time import monotonic, perf_counter, time
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from litestar.exceptions import HTTPException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from autoliq.api.asgi_post import HotRouteHandler
from autoliq.api.client_address import client_address
from autoliq.api.errors import error_answer
from autoliq.api.params import read_body
from autoliq.api.security import bearer_token, dispatched_caller
from autoliq.container import Services
from autoliq.domain.errors import BadRequest, Unauthorized
from autoliq.domain.model import User
from autoliq.domain.rate_limits import EndpointLimit, RateLimiter
from autoliq.domain.sandbox import INTERNAL_ERROR_TEXT, FaultKind, PenaltyTicket, TicketVerdict
from autoliq.telemetry.metrics import REQUEST_METRICS, UNMATCHED_ROUTE

TICKET_FIELD = "p-ticket"
_TICKET_BYTES = TICKET_FIELD.encode()
_MAX_TICKET = 64
_encode = msgspec.json.Encoder().encode
_SERVER_ERROR_BODY = _encode({"errorText": INTERNAL_ERROR_TEXT})
LOGIN_PATH_KEY = "/v1/auth/accesstokenrequest"
_MAX_NAME = 200


def record_request(route: str, method: Any, status: int, began: float) -> None:
    """The one request-metrics recorder: an answered request, by route template (or
    `UNMATCHED_ROUTE`, never the raw path), method and status, and its duration since `began`."""
    REQUEST_METRICS.record(route, method, status, perf_counter() - began)


class Edge:
    """The app's ASGI entry (see the module's docstring): paths, the sandbox step, metrics."""

    def __init__(
        self,
        app: ASGIApp,
        services: Services,
        paths: Iterable[str],
        direct: Mapping[str, HotRouteHandler] | None = None,
    ) -> None:
        self.app = app
        self.canonical = {p.lower(): p for p in paths}
        self.sandbox = SandboxStep(self._counted, services, self.canonical)
        self.direct = dict(direct or {})
        """The hot POST routes' handlers by path (api/asgi_post.py), called here once the path is
        known rather than through Litestar's exception middleware, router and route dispatch
        (10% of a setadminautoliqaction's CPU over HTTP, py-spy): the same handler, token guard,
        body reader, decoder and error table (`errors.error_answer`) as through the router."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind: str = scope["type"]  # compared as plain strings: an Enum member costs more
        if kind == "http" or kind == "websocket":
            path = scope["path"]
            canonical = self.canonical.get(path.lower())
            if canonical is not None and canonical != path:
                # Tradovate matches paths without regard to case (`/auth/accessTokenRequest` works).
                scope = dict(scope)  # type: ignore[assignment]
                scope["path"] = canonical
                scope["raw_path"] = canonical.encode()
            if kind == "http":
                sandbox = self.sandbox
                if sandbox.limited or sandbox.services.sandbox.armed:
                    lowered = scope["path"].lower()
                    # Tradovate's API only: autoliq's own /_autoliq controls are never faulted nor limited.
                    if lowered.startswith("/v1/"):
                        await sandbox(lowered, scope, receive, send)
                        return
                # The common case, `_counted` inline (one coroutine frame less a request).
                answer = _StatusSend(send)
                began = perf_counter()
                hot = self.direct.get(scope["path"]) if scope.get("method") == "POST" else None
                try:
                    if hot is None:
                        await self.app(scope, receive, answer)
                    else:
                        await _dispatch(hot, scope, receive, answer)
                finally:
                    record_request(
                        scope.get("path_template") or UNMATCHED_ROUTE,
                        scope.get("method", ""),
                        answer.status,
                        began,
                    )
                return
        await self.app(scope, receive, send)

    async def _counted(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The app's answer, counted once given under the route template Litestar matched."""
        answer = _StatusSend(send)
        began = perf_counter()
        try:
            await self.app(scope, receive, answer)
        finally:
            record_request(
                scope.get("path_template") or UNMATCHED_ROUTE, scope.get("method", ""), answer.status, began
            )


class _StatusSend:
    """`send`, keeping the status of the answer it starts (500 until then: the app raised before
    answering)."""

    __slots__ = ("send", "started", "status")

    def __init__(self, send: Send) -> None:
        self.send = send
        self.status = 500
        self.started = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.started = True
        await self.send(message)


async def _dispatch(handler: HotRouteHandler, scope: Scope, receive: Receive, send: _StatusSend) -> None:
    """A hot route's handler called as Litestar's router and route would call it (the scope's route
    handler and template set), its errors answered by the one error table as Litestar's exception
    handlers answer them."""
    scope["route_handler"] = handler
    scope["path_template"] = scope["path"]
    scope["path_params"] = {}
    try:
        await handler.fn(scope, receive, send)
    except Exception as exc:
        if send.started:
            raise
        await _send_error(send, exc, "POST", scope["path"])


async def _send_error(send: Send, exc: Exception, method: str, path: str) -> int:
    """Answer `exc` by the one error table (`errors.error_answer`), as Litestar's exception handlers
    would, for what answers beside them here; the status sent."""
    answer = error_answer(exc, method, path)
    payload = _encode({"errorText": answer.text})
    await _send(send, answer.status, payload, json=True, headers=answer.headers)
    return answer.status


def penalty_body(ticket: PenaltyTicket) -> bytes:
    """Tradovate's penalty answer (HTTP 200): the request was not processed."""
    return _encode({"p-ticket": ticket.ticket, "p-time": ticket.p_time, "p-captcha": ticket.p_captcha})


class SandboxStep:
    """Faults, tickets and rate limits, a step of the edge (see the module's docstring); `app` is the
    edge's counted call of the app."""

    def __init__(self, app: ASGIApp, services: Services, canonical: dict[str, str]) -> None:
        self.app = app
        self.services = services
        """Its components (the sandbox, auth) are read through it at each call, never kept: one app
        serves whatever the object holds (the suite rebinds an app built once to each test's services
        this way). Only settings fixed for the app's life are kept: the body limit, the rate-limit
        profile (an app whose services carry a profile is never rebound: tests/conftest.py)."""
        self.max_body = services.settings.max_body_bytes
        self.canonical = canonical
        self.limiter = None if services.rate_limits is None else RateLimiter(services.rate_limits)
        self.limited = self.limiter is not None

    async def __call__(self, path: str, scope: Scope, receive: Receive, send: Send) -> None:
        """A `/v1` request (`path` lower-cased) while the sandbox is armed or the profile on. The
        step's own reads (the caller, tickets, faults) answer through the error table too: a storage
        fault is a 503 with Retry-After, a defect a 500 without internals, never a bare server error."""
        answer = _StatusSend(send)
        began = perf_counter()
        try:
            await self._sandboxed(path, scope, receive, answer)
        except Exception as exc:
            if answer.started:
                raise
            status = await _send_error(send, exc, str(scope.get("method", "")), scope["path"])
            record_request(self.canonical.get(path, UNMATCHED_ROUTE), scope.get("method", ""), status, began)

    async def _sandboxed(self, path: str, scope: Scope, receive: Receive, send: Send) -> None:
        began = perf_counter()
        limiter = self.limiter
        sandbox = self.services.sandbox
        ip = client_address(scope)
        caller = await self._caller(scope) if limiter is not None or path in sandbox.state.paths else None
        if limiter is not None:
            key = ("ip", ip) if caller is None else ("user", caller.id)
            if not limiter.admit(key, authenticated=caller is not None, now=monotonic()):
                await self._answer(path, scope, send, 429, b"", began, json=False)
                return
        endpoint = None if limiter is None else limiter.endpoint(path)
        faulted_for = sandbox.state.paths.get(path)
        admitted = False
        body: bytes | None = None
        if faulted_for or endpoint is not None or sandbox.tickets_early(time()):
            receive, body = await _buffered(scope, receive, self.max_body)
            ticket = _ticket_of(scope, body)
            if ticket is not None:
                verdict, fresh = await sandbox.redeem(ticket, path)
                if fresh is not None:
                    await self._answer(path, scope, send, 200, penalty_body(fresh), began)
                    return
                admitted = verdict is TicketVerdict.VALID
        organization_id = None
        if faulted_for and not admitted:
            organization_id = await self._organization_of(path, caller, body)
        if organization_id is not None and faulted_for and organization_id in faulted_for:
            taken = await sandbox.take(path, organization_id)
            if taken is not None:
                if taken.kind is FaultKind.PENALTY_TICKET and taken.ticket is not None:
                    await self._answer(path, scope, send, 200, penalty_body(taken.ticket), began)
                    return
                if taken.kind is FaultKind.TOO_MANY_REQUESTS:
                    await self._answer(path, scope, send, 429, b"", began, json=False)
                    return
                if taken.kind is FaultKind.SERVER_ERROR:
                    await self._answer(path, scope, send, 500, _SERVER_ERROR_BODY, began)
                    return
                if taken.kind is FaultKind.SERVER_ERROR_AFTER_COMMIT:
                    await self._process_then_fail(scope, receive, send)
                    return
                if taken.kind is FaultKind.DELAY and taken.delay_ms:
                    await asyncio.sleep(taken.delay_ms / 1000)
        if endpoint is not None and limiter is not None:
            if not admitted:
                p_time = limiter.penalty(ip, endpoint, monotonic())
                if p_time is not None:
                    owner = None if caller is None else caller.organization_id
                    issued = await sandbox.issue_ticket(path, math.ceil(p_time), owner)
                    await self._answer(path, scope, send, 200, penalty_body(issued), began)
                    return
            await self._counted(limiter, endpoint, ip, scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _caller(self, scope: Scope) -> User | None:
        """The user of a WebSocket's request or of a valid bearer token; None otherwise."""
        caller = dispatched_caller(scope)
        if caller is None:
            token = bearer_token(scope)
            if token is not None:
                try:
                    caller = await self.services.auth.authenticate(token)
                except Unauthorized:
                    caller = None
        return None if caller is None else caller.user

    async def _organization_of(self, path: str, caller: User | None, body: bytes | None) -> int | None:
        """The organization whose faults the call takes (see the module's docstring); None while no
        organization exists."""
        if caller is not None:
            return caller.organization_id
        if path == LOGIN_PATH_KEY:
            name = _login_name(body)
            if name is not None:
                found = await self.services.sandbox.organization_of_user_name(name)
                if found is not None:
                    return found
        return await self.services.sandbox.operator.organization_id()

    async def _process_then_fail(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The call is processed (a write is committed before the app answers); its answer is
        dropped and the client gets a 500: it cannot tell whether the change was made."""

        async def dropped(_: Message) -> None:
            return None

        await self.app(scope, receive, dropped)
        await _send(send, 500, _SERVER_ERROR_BODY, json=True)

    async def _counted(
        self,
        limiter: RateLimiter,
        endpoint: EndpointLimit,
        ip: str,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        """The call, counted against its endpoint's hour once answered (a failure: not 2xx, or a
        200 with `errorText`)."""
        status = 0
        error_text = False

        async def watched(message: Message) -> None:
            nonlocal status, error_text
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and b'"errorText"' in message.get("body", b""):
                error_text = True
            await send(message)

        try:
            await self.app(scope, receive, watched)
        finally:
            failed = not 200 <= status < 300 or error_text
            limiter.count(ip, endpoint, monotonic(), failed=failed)

    async def _answer(
        self,
        path: str,
        scope: Scope,
        send: Send,
        status: int,
        payload: bytes,
        began: float,
        *,
        json: bool = True,
    ) -> None:
        """Answer in the app's stead, counted in the HTTP metrics under the route's template."""
        await _send(send, status, payload, json=json)
        record_request(self.canonical.get(path, UNMATCHED_ROUTE), scope.get("method", ""), status, began)


async def _send(
    send: Send, status: int, payload: bytes, *, json: bool, headers: Iterable[tuple[str, str]] = ()
) -> None:
    raw = [(b"content-length", str(len(payload)).encode())]
    if json:
        raw.insert(0, (b"content-type", b"application/json"))
    raw += [(name.encode(), value.encode()) for name, value in headers]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload, "more_body": False})


async def _buffered(scope: Scope, receive: Receive, limit: int) -> tuple[Receive, bytes | None]:
    """The request body, read by the one reader (None when it is over `limit` or the client left:
    the app answers that); a `receive` that hands the app the same messages again, then the rest."""
    messages: deque[Any] = deque()

    async def recorded() -> Any:
        message = await receive()
        messages.append(message)
        return message

    body: bytes | None
    try:
        body = await read_body(scope, recorded, limit)
    except (HTTPException, BadRequest):
        body = None

    async def replay() -> Any:
        if messages:
            return messages.popleft()
        return await receive()

    replayed: Callable[[], Awaitable[Any]] = replay
    return replayed, body


def _ticket_of(scope: Scope, body: bytes | None) -> str | None:
    """The `p-ticket` a call carries: query parameter, or field of a JSON object body."""
    query: bytes = scope.get("query_string", b"")
    if _TICKET_BYTES in query:
        for name, value in parse_qsl(query.decode("latin-1")):
            if name == TICKET_FIELD and 0 < len(value) <= _MAX_TICKET:
                return value
    if body and _TICKET_BYTES in body:
        try:
            document = msgspec.json.decode(body)
        except (msgspec.DecodeError, RecursionError):  # the app answers it 400
            return None
        found = document.get(TICKET_FIELD) if isinstance(document, dict) else None
        if isinstance(found, str) and 0 < len(found) <= _MAX_TICKET:
            return found
    return None


def _login_name(body: bytes | None) -> str | None:
    """The `name` of a login's JSON object body, or None."""
    if not body:
        return None
    try:
        document = msgspec.json.decode(body)
    except (msgspec.DecodeError, RecursionError):  # nesting deep enough to exhaust the stack
        return None
    found = document.get("name") if isinstance(document, dict) else None
    return found if isinstance(found, str) and 0 < len(found) <= _MAX_NAME else None
