"""/_autoliq: our own extensions, never inside Tradovate's entities."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, Parameter

from autoliq.api.params import ERROR_RESPONSES, INT64_MAX, MasterIdParam, decode_strict
from autoliq.api.schemas.risk import (
    AlertOut,
    AuditOut,
    AutoLiqLayerOut,
    ClockIn,
    ClockOut,
    PricesIn,
    PricesOut,
    alert_out,
    audit_entry_out,
    auto_liq_layer_out,
    clock_out,
    price_out,
)
from autoliq.api.security import caller_of
from autoliq.bootstrap import Services

MAX_ALERTS = 1000


class AutoliqController(Controller):
    """Extension reads."""

    path = "/_autoliq"
    tags = ["autoliq"]  # noqa: RUF012

    @get("/prices", responses=ERROR_RESPONSES)
    async def prices(self, services: NamedDependency[Services]) -> PricesOut:
        """Every listed contract's last price that has been set."""
        return PricesOut(prices=[price_out(p) for p in await services.market.last_prices()])

    @post("/prices", status_code=200, responses=ERROR_RESPONSES)
    async def set_prices(
        self, request: Request[Any, Any, Any], data: JSONBody[PricesIn], services: NamedDependency[Services]
    ) -> PricesOut:
        """Set last prices (the sandbox operator's admins: one market for every organization):
        `{"prices": [{"symbol": "ESZ6", "price": 5012.25}]}`. All or nothing; a price must be
        positive and on the contract's tick."""
        await services.sandbox.operator.require(caller_of(request).user)
        body = decode_strict(await request.body(), PricesIn)
        del data  # declared for the OpenAPI description; decoded strictly above
        done = await services.market.set_prices([(p.symbol, p.price) for p in body.prices])
        return PricesOut(prices=[price_out(p) for p in done])

    @get("/clock", responses=ERROR_RESPONSES)
    async def clock(self, services: NamedDependency[Services]) -> ClockOut:
        """The sandbox clock: now, the trade date, whether CME futures trade, the next opens."""
        return clock_out(services.sandbox_clock.view())

    @post("/clock", status_code=200, responses=ERROR_RESPONSES)
    async def move_clock(
        self, request: Request[Any, Any, Any], data: JSONBody[ClockIn], services: NamedDependency[Services]
    ) -> ClockOut:
        """Move the sandbox clock forward (the sandbox operator's admins: one clock for every
        organization): `{"now": "2026-12-04T22:00:00Z"}` or `{"advanceSeconds": 3600}`. Never
        backward; the new time is stored before the answer."""
        caller = caller_of(request).user
        await services.sandbox.operator.require(caller)
        body = decode_strict(await request.body(), ClockIn)
        del data  # declared for the OpenAPI description; decoded strictly above
        return clock_out(await services.sandbox_clock.move(caller, body.now, body.advanceSeconds))

    @get("/audit", responses=ERROR_RESPONSES)
    async def audit(
        self, request: Request[Any, Any, Any], services: NamedDependency[Services], accountId: MasterIdParam
    ) -> AuditOut:
        """An account's audit trail with actor, reason code and reason text, oldest first."""
        user = caller_of(request).user
        account = await services.views.account(user, accountId)  # 404 when not visible
        entries = await services.views.log_entries(user, account_ids=[account.id])
        return AuditOut(accountId=account.id, entries=[audit_entry_out(e) for e in entries])

    @get("/alerts", responses=ERROR_RESPONSES)
    async def alerts(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        accountId: Annotated[
            int | None, Parameter(gt=0, le=INT64_MAX, description="Only this account's alerts")
        ] = None,
        afterId: Annotated[
            int, Parameter(ge=0, le=INT64_MAX, description="Only alerts with a greater id")
        ] = 0,
        limit: Annotated[int, Parameter(ge=1, le=MAX_ALERTS, description="At most this many")] = MAX_ALERTS,
    ) -> list[AlertOut]:
        """Post-trade alerts of the visible accounts, oldest first: every rule that reached its limit
        (alert, liquidate-only and auto-liq levels) and every flatten at `flattenTimestamp`. Page
        with `afterId` = the last id seen."""
        user = caller_of(request).user
        found = await services.views.alerts(user, account_id=accountId, after_id=afterId, limit=limit)
        return [alert_out(a) for a in found]

    @get("/autoLiqStatus", responses=ERROR_RESPONSES)
    async def auto_liq_status(
        self, request: Request[Any, Any, Any], services: NamedDependency[Services], accountId: MasterIdParam
    ) -> AutoLiqLayerOut:
        """An account's auto-liq layer: `Normal`, or `LiquidateOnly` / `Locked` with the rule that set
        it, since when and until when (absent: until changed, with `doNotUnlock`)."""
        layer = await services.views.auto_liq_layer(caller_of(request).user, accountId)
        return auto_liq_layer_out(accountId, layer)
