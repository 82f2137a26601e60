"""Requests the socket answers itself (Tradovate's `md/*` and `replay/*`: subscriptions and a clock
that only exist on a socket), beside the ones the REST app answers in process (`dispatch`).

A module that serves such endpoints registers one handler per endpoint with `@socket_route(...)`;
`endpoint.py` imports it. A handler gets the `SocketRequest` (the socket's connection, hub, services
and the frame) and returns the answer message (`protocol.answer`/`error_answer`), or None when it
queued its answer itself. Per-socket state lives in `Connection.state` under the module's own key;
`Connection.on_close` callbacks run when the socket goes away (to drop its subscriptions).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from autoliq.api.websocket.protocol import RequestFrame

if TYPE_CHECKING:
    from autoliq.api.websocket.hub import Connection, Hub
    from autoliq.container import Services


@dataclass(frozen=True, slots=True)
class SocketRequest:
    """One authorized request frame for a socket-served endpoint."""

    connection: Connection
    hub: Hub
    services: Services
    frame: RequestFrame
    scope: Any
    """The socket's ASGI scope (client, server, headers)."""


SocketHandler = Callable[[SocketRequest], Awaitable[str | None]]

_ROUTES: dict[str, SocketHandler] = {}


def socket_route(*endpoints: str) -> Callable[[SocketHandler], SocketHandler]:
    """Register `handler` for `endpoints` (matched without regard to case, as Tradovate does)."""

    def register(handler: SocketHandler) -> SocketHandler:
        for endpoint in endpoints:
            key = endpoint.lower()
            if key in _ROUTES:
                raise ValueError(f"socket endpoint {endpoint!r} registered twice")
            _ROUTES[key] = handler
        return handler

    return register


def socket_handler(endpoint: str) -> SocketHandler | None:
    """The handler of a (lower-cased) endpoint, or None when the REST app answers it."""
    return _ROUTES.get(endpoint)


def socket_endpoints() -> frozenset[str]:
    """Every endpoint the socket answers itself (lower-cased)."""
    return frozenset(_ROUTES)
