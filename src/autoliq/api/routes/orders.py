"""/v1/order, /v1/fill, /v1/fillPair, /v1/position and /v1/cashBalance."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, Parameter

from autoliq.api.asgi_post import asgi_post, declaration_only
from autoliq.api.params import ERROR_RESPONSES, IdListParam, IdParam, MasterIdParam, parse_ids
from autoliq.api.schemas.orders import (
    CancelOrderBody,
    CashBalanceErrorOut,
    CashBalanceOut,
    CashBalanceSnapshotOut,
    ChangeDemoBalanceBody,
    CommandResultOut,
    FillOut,
    FillPairOut,
    GetCashBalanceSnapshotBody,
    LiquidatePositionBody,
    LiquidatePositionsBody,
    ModifyOrderBody,
    OrderOut,
    PlaceOrderBody,
    PlaceOrderResultOut,
    PositionOut,
    SimpleResponseOut,
    cash_balance_out,
    command_out,
    fill_out,
    fill_pair_out,
    modify_order_command,
    order_out,
    outcome_out,
    place_order_command,
    position_out,
    snapshot_out,
)
from autoliq.api.security import caller_of
from autoliq.container import Services
from autoliq.domain.errors import NotFound
from autoliq.domain.model import User
from autoliq.telemetry.metrics import count_order

Req = Request[Any, Any, Any]


class OrderController(Controller):
    """Orders: place and cancel through the one gate, and their reads (master = account)."""

    path = "/v1/order"
    tags = ["order"]  # noqa: RUF012

    @post("/cancelorder", status_code=200, responses=ERROR_RESPONSES)
    async def cancel_order(
        self, request: Req, data: JSONBody[CancelOrderBody], services: NamedDependency[Services]
    ) -> CommandResultOut:
        """Cancel a working order (always allowed, whatever the account's state)."""
        body = data
        return command_out(await services.trading.cancel_order(caller_of(request).user, body.orderId))

    @post("/modifyorder", status_code=200, responses=ERROR_RESPONSES)
    async def modify_order(
        self, request: Req, data: JSONBody[ModifyOrderBody], services: NamedDependency[Services]
    ) -> CommandResultOut:
        """Change a working order's quantity, type, prices or time in force, through the gate."""
        body = data
        return command_out(
            await services.trading.modify_order(caller_of(request).user, modify_order_command(body))
        )

    @post("/liquidateposition", status_code=200, responses=ERROR_RESPONSES)
    async def liquidate_position(
        self, request: Req, data: JSONBody[LiquidatePositionBody], services: NamedDependency[Services]
    ) -> PlaceOrderResultOut:
        """Cancel the account's working orders in the contract and close its position at the market."""
        body = data
        user = caller_of(request).user
        return outcome_out(
            await services.trading.liquidate_position(user, body.accountId, body.contractId, body.admin)
        )

    @post("/liquidatepositions", status_code=200, responses=ERROR_RESPONSES)
    async def liquidate_positions(
        self, request: Req, data: JSONBody[LiquidatePositionsBody], services: NamedDependency[Services]
    ) -> SimpleResponseOut:
        """liquidateposition for each listed position id, in one transaction."""
        body = data
        error = await services.trading.liquidate_positions(
            caller_of(request).user, body.positions, body.admin
        )
        return SimpleResponseOut(ok=error is None, errorText=error)

    @get("/list", responses=ERROR_RESPONSES)
    async def list_(self, request: Req, services: NamedDependency[Services]) -> list[OrderOut]:
        """Every visible order."""
        return [order_out(v) for v in await services.trading_views.rows("order", caller_of(request).user)]

    @get("/item", responses=ERROR_RESPONSES)
    async def item(self, request: Req, services: NamedDependency[Services], id: IdParam) -> OrderOut:
        """One order by id."""
        return order_out(await services.trading_views.one("order", caller_of(request).user, id))

    @get("/items", responses=ERROR_RESPONSES)
    async def items(
        self, request: Req, services: NamedDependency[Services], ids: IdListParam
    ) -> list[OrderOut]:
        """Orders by ids."""
        rows = await services.trading_views.rows("order", caller_of(request).user, ids=parse_ids("ids", ids))
        return [order_out(v) for v in rows]

    @get("/deps", responses=ERROR_RESPONSES)
    async def deps(
        self, request: Req, services: NamedDependency[Services], masterid: MasterIdParam
    ) -> list[OrderOut]:
        """The orders of account `masterid`."""
        rows = await services.trading_views.rows("order", caller_of(request).user, account_ids=[masterid])
        return [order_out(v) for v in rows]

    @get("/ldeps", responses=ERROR_RESPONSES)
    async def ldeps(
        self, request: Req, services: NamedDependency[Services], masterids: IdListParam
    ) -> list[OrderOut]:
        """The orders of accounts `masterids`."""
        ids = parse_ids("masterids", masterids)
        return [
            order_out(v)
            for v in await services.trading_views.rows("order", caller_of(request).user, account_ids=ids)
        ]


class FillController(Controller):
    """Fills (master = account)."""

    path = "/v1/fill"
    tags = ["fill"]  # noqa: RUF012

    @get("/list", responses=ERROR_RESPONSES)
    async def list_(self, request: Req, services: NamedDependency[Services]) -> list[FillOut]:
        """Every visible fill."""
        return [fill_out(v) for v in await services.trading_views.rows("fill", caller_of(request).user)]

    @get("/item", responses=ERROR_RESPONSES)
    async def item(self, request: Req, services: NamedDependency[Services], id: IdParam) -> FillOut:
        """One fill by id."""
        return fill_out(await services.trading_views.one("fill", caller_of(request).user, id))

    @get("/items", responses=ERROR_RESPONSES)
    async def items(
        self, request: Req, services: NamedDependency[Services], ids: IdListParam
    ) -> list[FillOut]:
        """Fills by ids."""
        rows = await services.trading_views.rows("fill", caller_of(request).user, ids=parse_ids("ids", ids))
        return [fill_out(v) for v in rows]

    @get("/deps", responses=ERROR_RESPONSES)
    async def deps(
        self, request: Req, services: NamedDependency[Services], masterid: MasterIdParam
    ) -> list[FillOut]:
        """The fills of account `masterid`."""
        rows = await services.trading_views.rows("fill", caller_of(request).user, account_ids=[masterid])
        return [fill_out(v) for v in rows]

    @get("/ldeps", responses=ERROR_RESPONSES)
    async def ldeps(
        self, request: Req, services: NamedDependency[Services], masterids: IdListParam
    ) -> list[FillOut]:
        """The fills of accounts `masterids`."""
        ids = parse_ids("masterids", masterids)
        return [
            fill_out(v)
            for v in await services.trading_views.rows("fill", caller_of(request).user, account_ids=ids)
        ]


class FillPairController(Controller):
    """Fill pairs: a position's buy and sell fills matched first in, first out (master = position).
    Derived from the fills on each read (`domain/fill_pairs.py`), never stored."""

    path = "/v1/fillPair"
    tags = ["fillPair"]  # noqa: RUF012

    @get("/list", responses=ERROR_RESPONSES)
    async def list_(self, request: Req, services: NamedDependency[Services]) -> list[FillPairOut]:
        """Every visible fill pair."""
        return [fill_pair_out(v) for v in await services.trading_views.fill_pairs(caller_of(request).user)]

    @get("/item", responses=ERROR_RESPONSES)
    async def item(self, request: Req, services: NamedDependency[Services], id: IdParam) -> FillPairOut:
        """One fill pair by id."""
        return fill_pair_out(await services.trading_views.fill_pair(caller_of(request).user, id))

    @get("/items", responses=ERROR_RESPONSES)
    async def items(
        self, request: Req, services: NamedDependency[Services], ids: IdListParam
    ) -> list[FillPairOut]:
        """Fill pairs by ids; unknown or invisible ids are left out."""
        found = await services.trading_views.fill_pairs(
            caller_of(request).user, pair_ids=parse_ids("ids", ids)
        )
        return [fill_pair_out(v) for v in found]

    @get("/deps", responses=ERROR_RESPONSES)
    async def deps(
        self, request: Req, services: NamedDependency[Services], masterid: MasterIdParam
    ) -> list[FillPairOut]:
        """The fill pairs of position `masterid`."""
        found = await services.trading_views.fill_pairs(caller_of(request).user, position_ids=[masterid])
        return [fill_pair_out(v) for v in found]

    @get("/ldeps", responses=ERROR_RESPONSES)
    async def ldeps(
        self, request: Req, services: NamedDependency[Services], masterids: IdListParam
    ) -> list[FillPairOut]:
        """The fill pairs of positions `masterids`."""
        ids = parse_ids("masterids", masterids)
        found = await services.trading_views.fill_pairs(caller_of(request).user, position_ids=ids)
        return [fill_pair_out(v) for v in found]


class PositionController(Controller):
    """Positions (master = account)."""

    path = "/v1/position"
    tags = ["position"]  # noqa: RUF012

    @get("/list", responses=ERROR_RESPONSES)
    async def list_(self, request: Req, services: NamedDependency[Services]) -> list[PositionOut]:
        """Every visible position."""
        return [
            position_out(v) for v in await services.trading_views.rows("position", caller_of(request).user)
        ]

    @get("/item", responses=ERROR_RESPONSES)
    async def item(self, request: Req, services: NamedDependency[Services], id: IdParam) -> PositionOut:
        """One position by id."""
        return position_out(await services.trading_views.one("position", caller_of(request).user, id))

    @get("/find", responses=ERROR_RESPONSES)
    async def find(
        self,
        request: Req,
        services: NamedDependency[Services],
        name: Annotated[str, Parameter(max_length=64, description="Contract symbol (`ESZ6`)")],
    ) -> PositionOut:
        """The position in the contract named `name` (the oldest, when several visible accounts hold one)."""
        return position_out(await services.trading_views.position_by_name(caller_of(request).user, name))

    @get("/items", responses=ERROR_RESPONSES)
    async def items(
        self, request: Req, services: NamedDependency[Services], ids: IdListParam
    ) -> list[PositionOut]:
        """Positions by ids."""
        rows = await services.trading_views.rows(
            "position", caller_of(request).user, ids=parse_ids("ids", ids)
        )
        return [position_out(v) for v in rows]

    @get("/deps", responses=ERROR_RESPONSES)
    async def deps(
        self, request: Req, services: NamedDependency[Services], masterid: MasterIdParam
    ) -> list[PositionOut]:
        """The positions of account `masterid`."""
        rows = await services.trading_views.rows("position", caller_of(request).user, account_ids=[masterid])
        return [position_out(v) for v in rows]

    @get("/ldeps", responses=ERROR_RESPONSES)
    async def ldeps(
        self, request: Req, services: NamedDependency[Services], masterids: IdListParam
    ) -> list[PositionOut]:
        """The positions of accounts `masterids`."""
        ids = parse_ids("masterids", masterids)
        rows = await services.trading_views.rows("position", caller_of(request).user, account_ids=ids)
        return [position_out(v) for v in rows]


class CashBalanceController(Controller):
    """Cash and P&L."""

    path = "/v1/cashBalance"
    tags = ["cashBalance"]  # noqa: RUF012

    @post("/getcashbalancesnapshot", status_code=200, responses=ERROR_RESPONSES)
    async def snapshot(
        self, request: Req, data: JSONBody[GetCashBalanceSnapshotBody], services: NamedDependency[Services]
    ) -> CashBalanceSnapshotOut:
        """The account's cash, realized and open P&L and net liquidation value now."""
        body = data
        return snapshot_out(await services.trading.cash_snapshot(caller_of(request).user, body.accountId))

    @post("/changedemobalance", status_code=200, responses=ERROR_RESPONSES)
    async def change_demo_balance(
        self, request: Req, data: JSONBody[ChangeDemoBalanceBody], services: NamedDependency[Services]
    ) -> CashBalanceSnapshotOut | CashBalanceErrorOut:
        """Add `cashChange` dollars to a demo account's cash (a delta); the snapshot after it. Others
        than organization admins: at most $50,000 after the change, one change per account per hour."""
        body = data
        result = await services.demo_balance.change(
            caller_of(request).user, body.accountId, body.cashChange, body.comment
        )
        return CashBalanceErrorOut(result) if isinstance(result, str) else snapshot_out(result)

    @get("/list", responses=ERROR_RESPONSES)
    async def list_(self, request: Req, services: NamedDependency[Services]) -> list[CashBalanceOut]:
        """Every visible account's cash balance."""
        return [cash_balance_out(v) for v in await services.cash_views.balances(caller_of(request).user)]

    @get("/item", responses=ERROR_RESPONSES)
    async def item(self, request: Req, services: NamedDependency[Services], id: IdParam) -> CashBalanceOut:
        """One cash balance by id (= account id)."""
        found = await services.cash_views.balances(caller_of(request).user, [id])
        if not found:
            raise NotFound()
        return cash_balance_out(found[0])

    @get("/items", responses=ERROR_RESPONSES)
    async def items(
        self, request: Req, services: NamedDependency[Services], ids: IdListParam
    ) -> list[CashBalanceOut]:
        """Cash balances by ids (= account ids)."""
        found = await services.cash_views.balances(caller_of(request).user, parse_ids("ids", ids))
        return [cash_balance_out(v) for v in found]

    @get("/deps", responses=ERROR_RESPONSES)
    async def deps(
        self, request: Req, services: NamedDependency[Services], masterid: MasterIdParam
    ) -> list[CashBalanceOut]:
        """The cash balance of account `masterid`."""
        return [
            cash_balance_out(v)
            for v in await services.cash_views.balances(caller_of(request).user, [masterid])
        ]

    @get("/ldeps", responses=ERROR_RESPONSES)
    async def ldeps(
        self, request: Req, services: NamedDependency[Services], masterids: IdListParam
    ) -> list[CashBalanceOut]:
        """The cash balances of accounts `masterids`."""
        found = await services.cash_views.balances(caller_of(request).user, parse_ids("masterids", masterids))
        return [cash_balance_out(v) for v in found]


async def order_placed(
    services: Services, caller: User, body: PlaceOrderBody
) -> tuple[int, PlaceOrderResultOut]:
    """placeorder after the guard and the body's decoding: (200, Tradovate's `PlaceOrderResult`); a
    refusal is a value."""
    outcome = await services.trading.place_order(caller, place_order_command(body))
    count_order(outcome.failure_reason or "accepted")
    return 200, outcome_out(outcome)


@post("/v1/order/placeorder", status_code=200, responses=ERROR_RESPONSES, tags=["order"])
async def place_order(data: JSONBody[PlaceOrderBody]) -> PlaceOrderResultOut:
    """Place an order; a refusal is HTTP 200 with `failureReason` and `failureText`."""
    declaration_only("/v1/order/placeorder")


PLACE_ORDER = asgi_post("/v1/order/placeorder", PlaceOrderBody, order_placed, place_order)
"""The trading hot path."""
