"""/v1/order/placeoco and /placeoso, /v1/orderStrategy, /v1/orderStrategyLink, /v1/orderStrategyType.

Paths are registered in the case of Tradovate's specification (`placeoco`, `startorderstrategy`);
the app's edge (`api/edge.py`) matches paths without regard to case, so `placeOCO` and
`startOrderStrategy` (what the examples send) reach them too, over REST and over the WebSocket.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, Parameter

from autoliq.api.params import ERROR_RESPONSES, IdListParam, IdParam, MasterIdParam, parse_ids
from autoliq.api.schemas.linked import (
    ORDER_STRATEGY_TYPES,
    InterruptOrderStrategyBody,
    ModifyOrderStrategyBody,
    OrderStrategyLinkOut,
    OrderStrategyOut,
    OrderStrategyStatusResponseOut,
    OrderStrategyTypeOut,
    PlaceOcoBody,
    PlaceOcoResultOut,
    PlaceOsoBody,
    PlaceOsoResultOut,
    StartOrderStrategyBody,
    link_out,
    oco_out,
    oso_out,
    place_oco_command,
    place_oso_command,
    start_strategy_command,
    strategy_out,
    strategy_status_out,
)
from autoliq.api.security import caller_of
from autoliq.container import Services
from autoliq.domain.errors import BadRequest, NotFound
from autoliq.domain.linked import MAX_PARAMS_CHARS
from autoliq.telemetry.metrics import count_order

Req = Request[Any, Any, Any]


class LinkedOrderController(Controller):
    """OCO and OSO: linked orders placed through the one gate."""

    path = "/v1/order"
    tags = ["order"]  # noqa: RUF012

    @post("/placeoco", status_code=200, responses=ERROR_RESPONSES)
    async def place_oco(
        self, request: Req, data: JSONBody[PlaceOcoBody], services: NamedDependency[Services]
    ) -> PlaceOcoResultOut:
        """Two orders where a fill or a cancel of one cancels the other; a refusal is a value."""
        body = data
        outcome = await services.linked.place_oco(caller_of(request).user, place_oco_command(body))
        count_order(outcome.failure_reason or "accepted")
        return oco_out(outcome)

    @post("/placeoso", status_code=200, responses=ERROR_RESPONSES)
    async def place_oso(
        self, request: Req, data: JSONBody[PlaceOsoBody], services: NamedDependency[Services]
    ) -> PlaceOsoResultOut:
        """An entry and one or two brackets, suspended until the entry fills; a refusal is a value."""
        body = data
        outcome = await services.linked.place_oso(caller_of(request).user, place_oso_command(body))
        count_order(outcome.failure_reason or "accepted")
        return oso_out(outcome)


class OrderStrategyController(Controller):
    """Multibracket order strategies: start, interrupt, modify, and their reads (master = account)."""

    path = "/v1/orderStrategy"
    tags = ["orderStrategy"]  # noqa: RUF012

    @post("/startorderstrategy", status_code=200, responses=ERROR_RESPONSES)
    async def start(
        self, request: Req, data: JSONBody[StartOrderStrategyBody], services: NamedDependency[Services]
    ) -> OrderStrategyStatusResponseOut:
        """Start a multibracket strategy (`params`: a JSON string); a refusal is an `errorText`."""
        body = data
        if isinstance(body.params, str) and len(body.params) > MAX_PARAMS_CHARS:
            raise BadRequest(f"params: at most {MAX_PARAMS_CHARS} characters")
        outcome = await services.linked.start_strategy(caller_of(request).user, start_strategy_command(body))
        return strategy_status_out(outcome)

    @post("/interruptorderstrategy", status_code=200, responses=ERROR_RESPONSES)
    async def interrupt(
        self, request: Req, data: JSONBody[InterruptOrderStrategyBody], services: NamedDependency[Services]
    ) -> OrderStrategyStatusResponseOut:
        """Stop a running strategy; its working and suspended orders are cancelled."""
        body = data
        user = caller_of(request).user
        return strategy_status_out(await services.linked.interrupt_strategy(user, body.orderStrategyId))

    @post("/modifyorderstrategy", status_code=200, responses=ERROR_RESPONSES)
    async def modify(
        self, request: Req, data: JSONBody[ModifyOrderStrategyBody], services: NamedDependency[Services]
    ) -> OrderStrategyStatusResponseOut:
        """Move one bracket of a running strategy (`command`: see docs/api.md, Linked orders)."""
        body = data
        user = caller_of(request).user
        outcome = await services.linked.modify_strategy(user, body.orderStrategyId, body.command)
        return strategy_status_out(outcome)

    @get("/list", responses=ERROR_RESPONSES)
    async def list_(self, request: Req, services: NamedDependency[Services]) -> list[OrderStrategyOut]:
        """Every visible strategy."""
        return [strategy_out(s) for s in await services.linked.strategies(caller_of(request).user)]

    @get("/item", responses=ERROR_RESPONSES)
    async def item(self, request: Req, services: NamedDependency[Services], id: IdParam) -> OrderStrategyOut:
        """One strategy by id."""
        found = await services.linked.strategies(caller_of(request).user, ids=[id])
        if not found:
            raise NotFound()
        return strategy_out(found[0])

    @get("/items", responses=ERROR_RESPONSES)
    async def items(
        self, request: Req, services: NamedDependency[Services], ids: IdListParam
    ) -> list[OrderStrategyOut]:
        """Strategies by ids."""
        found = await services.linked.strategies(caller_of(request).user, ids=parse_ids("ids", ids))
        return [strategy_out(s) for s in found]

    @get("/deps", responses=ERROR_RESPONSES)
    async def deps(
        self, request: Req, services: NamedDependency[Services], masterid: MasterIdParam
    ) -> list[OrderStrategyOut]:
        """The strategies of account `masterid`."""
        found = await services.linked.strategies(caller_of(request).user, account_ids=[masterid])
        return [strategy_out(s) for s in found]

    @get("/ldeps", responses=ERROR_RESPONSES)
    async def ldeps(
        self, request: Req, services: NamedDependency[Services], masterids: IdListParam
    ) -> list[OrderStrategyOut]:
        """The strategies of accounts `masterids`."""
        ids = parse_ids("masterids", masterids)
        return [
            strategy_out(s)
            for s in await services.linked.strategies(caller_of(request).user, account_ids=ids)
        ]


class OrderStrategyLinkController(Controller):
    """The orders of strategies, labelled (master = order strategy)."""

    path = "/v1/orderStrategyLink"
    tags = ["orderStrategyLink"]  # noqa: RUF012

    @get("/list", responses=ERROR_RESPONSES)
    async def list_(self, request: Req, services: NamedDependency[Services]) -> list[OrderStrategyLinkOut]:
        """Every visible strategy link."""
        return [link_out(v) for v in await services.linked.links(caller_of(request).user)]

    @get("/item", responses=ERROR_RESPONSES)
    async def item(
        self, request: Req, services: NamedDependency[Services], id: IdParam
    ) -> OrderStrategyLinkOut:
        """One strategy link by id."""
        found = await services.linked.links(caller_of(request).user, ids=[id])
        if not found:
            raise NotFound()
        return link_out(found[0])

    @get("/items", responses=ERROR_RESPONSES)
    async def items(
        self, request: Req, services: NamedDependency[Services], ids: IdListParam
    ) -> list[OrderStrategyLinkOut]:
        """Strategy links by ids."""
        return [
            link_out(v)
            for v in await services.linked.links(caller_of(request).user, ids=parse_ids("ids", ids))
        ]

    @get("/deps", responses=ERROR_RESPONSES)
    async def deps(
        self, request: Req, services: NamedDependency[Services], masterid: MasterIdParam
    ) -> list[OrderStrategyLinkOut]:
        """The links of strategy `masterid`."""
        found = await services.linked.links(caller_of(request).user, strategy_ids=[masterid])
        return [link_out(v) for v in found]

    @get("/ldeps", responses=ERROR_RESPONSES)
    async def ldeps(
        self, request: Req, services: NamedDependency[Services], masterids: IdListParam
    ) -> list[OrderStrategyLinkOut]:
        """The links of strategies `masterids`."""
        ids = parse_ids("masterids", masterids)
        return [link_out(v) for v in await services.linked.links(caller_of(request).user, strategy_ids=ids)]


class OrderStrategyTypeController(Controller):
    """The strategy types: Tradovate's one, `multibracket` (id 2)."""

    path = "/v1/orderStrategyType"
    tags = ["orderStrategyType"]  # noqa: RUF012

    @get("/list", responses=ERROR_RESPONSES)
    async def list_(self) -> list[OrderStrategyTypeOut]:
        """Every strategy type."""
        return list(ORDER_STRATEGY_TYPES)

    @get("/item", responses=ERROR_RESPONSES)
    async def item(self, id: IdParam) -> OrderStrategyTypeOut:
        """One strategy type by id."""
        for found in ORDER_STRATEGY_TYPES:
            if found.id == id:
                return found
        raise NotFound()

    @get("/items", responses=ERROR_RESPONSES)
    async def items(self, ids: IdListParam) -> list[OrderStrategyTypeOut]:
        """Strategy types by ids."""
        wanted = set(parse_ids("ids", ids))
        return [t for t in ORDER_STRATEGY_TYPES if t.id in wanted]

    @get("/find", responses=ERROR_RESPONSES)
    async def find(
        self, name: Annotated[str, Parameter(max_length=64, description="Strategy type name")]
    ) -> OrderStrategyTypeOut:
        """One strategy type by name."""
        for found in ORDER_STRATEGY_TYPES:
            if found.name == name:
                return found
        raise NotFound()

    @get("/suggest", responses=ERROR_RESPONSES)
    async def suggest(
        self,
        t: Annotated[str, Parameter(max_length=64, description="Text the name starts with")],
        l: Annotated[int, Parameter(ge=0, le=10_000, description="At most this many")],  # noqa: E741
    ) -> list[OrderStrategyTypeOut]:
        """Strategy types whose name starts with `t` (case ignored), at most `l`."""
        prefix = t.lower()
        return [s for s in ORDER_STRATEGY_TYPES if s.name.lower().startswith(prefix)][:l]
