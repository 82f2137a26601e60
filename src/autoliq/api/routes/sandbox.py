"""/_autoliq/reset and /_autoliq/faults: the sandbox's reset and fault injection (organization
admins, each within its organization; the sandbox operator's reset is the whole server's; the reset
on demo servers only)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.routes import ASGIRoute, HTTPRoute

from autoliq.api.params import ERROR_RESPONSES
from autoliq.api.schemas.sandbox import (
    FaultIn,
    FaultOut,
    FaultsClearedOut,
    FaultsOut,
    ResetOut,
    fault_out,
    reset_out,
)
from autoliq.api.security import ADMINS_ONLY, caller_of
from autoliq.container import Services
from autoliq.domain.errors import BadRequest

Req = Request[Any, Any, Any]


def faultable_paths(request: Req) -> dict[str, str]:
    """Every `/v1` HTTP route of the app (the hot routes' ASGI handlers included): lowercased path
    -> the route's own spelling."""
    return {
        route.path.lower(): route.path
        for route in request.app.routes
        if isinstance(route, HTTPRoute | ASGIRoute) and route.path.startswith("/v1/")
    }


class SandboxController(Controller):
    """Reset the sandbox; inject faults into the next calls of a route."""

    path = "/_autoliq"
    tags = ["autoliq"]  # noqa: RUF012

    @post("/reset", status_code=200, responses=ERROR_RESPONSES)
    async def reset(self, request: Req, services: NamedDependency[Services]) -> ResetOut:
        """Back to the seeded state in one transaction (organization admins, demo servers): the whole
        server for the sandbox operator's admins, the caller's organization for another's; users,
        their passwords and sessions, organizations and accounts are kept."""
        return reset_out(await services.sandbox.reset(caller_of(request).user))

    @get("/faults", responses=ERROR_RESPONSES)
    async def faults(self, request: Req, services: NamedDependency[Services]) -> FaultsOut:
        """The caller's organization's pending faults, in the order they are taken (organization admins)."""
        found = await services.sandbox.faults(caller_of(request).user)
        return FaultsOut(faults=[fault_out(f) for f in found])

    @post("/faults", status_code=200, responses=ERROR_RESPONSES, opt=ADMINS_ONLY)
    async def add_fault(
        self, request: Req, data: JSONBody[FaultIn], services: NamedDependency[Services]
    ) -> FaultOut:
        """Make the next `count` calls of a `/v1` path (any case) by users of the caller's organization
        answer a penalty ticket, 429, 500, or late (organization admins):
        `{"path": "/v1/order/placeorder", "kind": "penaltyTicket"}`."""
        path = faultable_paths(request).get(data.path.lower())
        if path is None:
            raise BadRequest(f"path: no /v1 route {data.path!r} (for example /v1/order/placeorder)")
        return fault_out(await services.sandbox.add_fault(caller_of(request).user, data.spec(path)))

    @delete("/faults", status_code=200, responses=ERROR_RESPONSES)
    async def clear_faults(self, request: Req, services: NamedDependency[Services]) -> FaultsClearedOut:
        """Drop the caller's organization's pending faults and penalty tickets (organization admins)."""
        return FaultsClearedOut(cleared=await services.sandbox.clear_faults(caller_of(request).user))
