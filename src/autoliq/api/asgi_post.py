"""The hot POST endpoints (setadminautoliqaction, placeorder) as Litestar ASGI route handlers.

They pass the same edge (api/edge.py), token guard and error table as every route, and read and
decode their body with the same `read_body` and `decode_strict`; a POST is called by the edge itself
once its path is known (`Edge.direct`: Litestar's exception middleware, router and route dispatch
cost ~10% of the request), other methods reach them through Litestar's router. What they skip is
Litestar's per-request work for a plain route (its kwargs and signature model, `Response` objects
and their header encoding), which measured at several times what the rest of a refused request
costs. Their OpenAPI description is a plain `@post` declaration of the same path (`documented_as`),
which the app adds to its document and never serves.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, NoReturn, TypeVar

import msgspec
from litestar.handlers import ASGIRouteHandler, HTTPRouteHandler
from litestar.types import ExceptionHandlersMap, Guard, Receive, Send

from autoliq.api.params import decode_strict, read_body
from autoliq.api.security import ALLOWED_METHODS, authorize
from autoliq.container import Services
from autoliq.domain.errors import Unauthorized
from autoliq.domain.model import User

B = TypeVar("B", bound=msgspec.Struct)
Endpoint = Callable[[Services, User, B], Awaitable[tuple[int, msgspec.Struct]]]

DOCUMENTED_AS = "documented_as"
"""The route handler's `opt` key of its OpenAPI declaration (`@post`, never served)."""

_encode = msgspec.json.Encoder().encode
_JSON = (b"content-type", b"application/json")
_ALLOW = [(b"allow", b"OPTIONS, POST")]


def declaration_only(path: str) -> NoReturn:
    """The body of a hot route's OpenAPI declaration (`documented_as`): the app documents it and
    never serves it (the ASGI route handler of the same path answers), so reaching it is a bug."""
    raise RuntimeError(f"{path}: an OpenAPI declaration, served by its ASGI route handler")


class HotRouteHandler(ASGIRouteHandler):
    """Litestar's ASGI route handler without three costs of its per-request work (measured by
    profiling the hot routes, about 30 µs of CPU a request): its guard (the app's token guard,
    `security.authorize`) runs over the scope with the handler itself, rather than over an
    `ASGIConnection` built through a subscripted generic alias with a `copy()` of the handler each
    time (what `ASGIRoute.handle` does when `resolve_guards` is not empty), and its exception
    handlers are merged once rather than on every request."""

    _exception_handlers: ExceptionHandlersMap | None = None

    def resolve_guards(self) -> list[Guard]:
        """None for `ASGIRoute.handle` to run: the handler runs the token guard itself."""
        return []

    def resolve_exception_handlers(self) -> ExceptionHandlersMap:
        """The layers' exception handlers, merged once."""
        if self._exception_handlers is None:
            self._exception_handlers = super().resolve_exception_handlers()
        return self._exception_handlers


def asgi_post(
    path: str, model: type[B], endpoint: Endpoint[B], documented_as: HTTPRouteHandler
) -> HotRouteHandler:
    """The ASGI route handler of `POST path`: the guard's caller, the body read and decoded into
    `model` strictly, `endpoint`'s (status, answer) encoded as JSON. Errors raise to the app's
    error table; OPTIONS answers 204 with `Allow` (after the guard), as Litestar's own does."""

    async def handle(scope: Any, receive: Receive, send: Send) -> None:
        caller = await authorize(scope, scope["route_handler"])
        if scope["method"] != "POST":
            await send({"type": "http.response.start", "status": 204, "headers": _ALLOW})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        if caller is None:  # never: the route is not public
            raise Unauthorized()
        services: Services = scope["litestar_app"].state.services
        raw = await read_body(scope, receive, services.settings.max_body_bytes)
        status, answer = await endpoint(services, caller.user, decode_strict(raw, model))
        payload = _encode(answer)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [_JSON, (b"content-length", str(len(payload)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": payload, "more_body": False})

    handle.__name__ = handle.__qualname__ = documented_as.handler_name
    handle.__doc__ = documented_as.fn.__doc__
    handler = HotRouteHandler(
        path,
        copy_scope=False,
        opt={ALLOWED_METHODS: frozenset({"POST", "OPTIONS"}), DOCUMENTED_AS: documented_as},
    )(handle)
    return handler
