"""/_autoliq/audit, /_autoliq/alerts and /_autoliq/autoLiqStatus: an account's audit trail, its
post-trade alerts and its auto-liq layer (autoliq's own extensions, never inside Tradovate's
entities)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import Parameter

from autoliq.api.params import ERROR_RESPONSES, INT64_MAX, MasterIdParam
from autoliq.api.schemas.monitoring import (
    AlertOut,
    AuditOut,
    AutoLiqLayerOut,
    alert_out,
    audit_entry_out,
    auto_liq_layer_out,
)
from autoliq.api.security import caller_of
from autoliq.container import Services

MAX_ALERTS = 1000


class MonitoringController(Controller):
    """An account's audit trail, post-trade alerts and auto-liq layer."""

    path = "/_autoliq"
    tags = ["autoliq"]  # noqa: RUF012

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
