"""The token guard: every route but the public ones needs a valid bearer token."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from autoliq.container import Services
from autoliq.domain.errors import Unauthorized
from autoliq.service.auth import Caller

PUBLIC = {"public": True}
DOCS_PREFIX = "/_autoliq/docs"
DISPATCHED_CALLER = "autoliq.dispatched_caller"
"""Scope key under which the WebSocket endpoint hands an in-process request the socket's
authenticated caller (a socket is authorized once and keeps acting after its token's expiry, as
Tradovate's do). Only code in this process builds scopes: no client can set it."""


def dispatched_caller(scope: Any) -> Caller | None:
    """The caller a WebSocket request was dispatched with, if the request came that way."""
    caller = scope.get(DISPATCHED_CALLER)
    return caller if isinstance(caller, Caller) else None


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, if any."""
    header = connection.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


async def require_token(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Guard: authenticate the caller (401 otherwise) and keep it on the connection's state."""
    if handler.opt.get("public") or connection.scope["path"].startswith(DOCS_PREFIX):
        return
    dispatched = dispatched_caller(connection.scope)
    if dispatched is not None:
        connection.state.caller = dispatched
        return
    services: Services = connection.app.state.services
    connection.state.caller = await services.auth.authenticate(bearer_token(connection))


def caller_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Caller:
    """The authenticated caller set by the guard."""
    caller = connection.state.get("caller")
    if not isinstance(caller, Caller):
        raise Unauthorized()
    return caller
