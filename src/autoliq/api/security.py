"""The token guard: every route but the public ones needs a valid bearer token."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import MethodNotAllowedException
from litestar.handlers.base import BaseRouteHandler

from autoliq.container import Services
from autoliq.domain.errors import Unauthorized
from autoliq.service.auth import Caller

PUBLIC = {"public": True}
CALLER_MUST_BE = "caller_must_be"
"""The `opt` key of a route only some callers may use: the guard refuses the others 401 `Access is
denied` before the body is read (so a refused caller never learns what is wrong with its body)."""
ADMINS_ONLY = {CALLER_MUST_BE: "admin"}
"""An organization's admins."""
OPERATORS_ONLY = {CALLER_MUST_BE: "operator"}
"""The sandbox operator organization's admins."""
DOCS_PREFIX = "/_autoliq/docs"
DISPATCHED_CALLER = "autoliq.dispatched_caller"
"""Scope key under which the WebSocket endpoint hands an in-process request the socket's
authenticated caller (a socket is authorized once and keeps acting after its token's expiry, as
Tradovate's do). Only code in this process builds scopes: no client can set it."""


ALLOWED_METHODS = "allowed_methods"
"""The `opt` key of the methods an ASGI route handler takes (api/asgi_post.py): the guard answers any
other 405 before authenticating, as Litestar's router does for a plain route."""


def dispatched_caller(scope: Any) -> Caller | None:
    """The caller a WebSocket request was dispatched with, if the request came that way."""
    caller = scope.get(DISPATCHED_CALLER)
    return caller if isinstance(caller, Caller) else None


def bearer_token(scope: Any) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, if any: the one bearer parser (the
    guard, the token renewal and the edge's sandbox step read it here)."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() or None if scheme.lower() == "bearer" else None
    return None


async def require_token(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Guard: authenticate the caller (401 otherwise) and keep it on the connection's state."""
    await authorize(connection.scope, handler)


async def authorize(scope: Any, handler: BaseRouteHandler) -> Caller | None:
    """The token guard over a request's scope (`require_token` for Litestar; the hot routes' ASGI
    handlers call it without building a connection): the caller, also kept in the scope's state,
    or None on a public route."""
    opt = handler.opt
    allowed = opt.get(ALLOWED_METHODS)
    if allowed is not None and scope["method"] not in allowed:
        # Counted as Litestar's router counts a method no route takes: under no route template.
        scope.pop("path_template", None)
        raise MethodNotAllowedException()
    if opt.get("public") or scope["path"].startswith(DOCS_PREFIX):
        return None
    caller = dispatched_caller(scope)
    if caller is None:
        services: Services = scope["litestar_app"].state.services
        caller = await services.auth.authenticate(bearer_token(scope))
    scope["state"]["caller"] = caller
    must_be = opt.get(CALLER_MUST_BE)
    if must_be is not None:
        if must_be == "operator":
            await scope["litestar_app"].state.services.sandbox.operator.require(caller.user)
        elif not caller.user.is_admin:
            raise Unauthorized()
    return caller


def caller_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Caller:
    """The authenticated caller set by the guard."""
    caller = connection.scope["state"].get("caller")
    if not isinstance(caller, Caller):
        raise Unauthorized()
    return caller
