"""/v1/order/dryrun: orders judged by the one gate without placing them (every authenticated user)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from autoliq.api.params import ERROR_RESPONSES
from autoliq.api.schemas.dry_run import DryRunBody, DryRunResponseOut, dry_run_order_command, dry_run_out
from autoliq.api.security import caller_of
from autoliq.container import Services
from autoliq.service.dry_run import ExtraRisk

Req = Request[Any, Any, Any]


class DryRunController(Controller):
    """Tradovate's `order/dryrun` (beside the order routes, under the same path)."""

    path = "/v1/order"
    tags = ["order"]  # noqa: RUF012

    @post("/dryrun", status_code=200, responses=ERROR_RESPONSES)
    async def dry_run(
        self, request: Req, data: JSONBody[DryRunBody], services: NamedDependency[Services]
    ) -> DryRunResponseOut:
        """Judge one to four orders against the account's state and limits; nothing is stored. A
        refusal is HTTP 200 with `rejectReason` and `comment`; an unknown account 404, another's 401."""
        body = data
        extra = ExtraRisk() if body.extraPreTradeRisk is None else body.extraPreTradeRisk.extra()
        orders = [dry_run_order_command(o) for o in body.orders]
        outcome = await services.dry_run.dry_run(caller_of(request).user, body.accountId, orders, extra)
        return dry_run_out(outcome)
