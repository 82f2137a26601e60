"""The linked-order service: placeOCO, placeOSO and the order strategies' requests checked, then one
transaction each (the bodies are in `linked_orders.py`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from decimal import Decimal

from autoliq.domain.gate import TEXT_ACCESS_DENIED, UNKNOWN_REASON
from autoliq.domain.instruments import contract_of_id
from autoliq.domain.linked import (
    MAX_BRACKETS,
    MULTIBRACKET_TYPE_ID,
    TEXT_INVALID_PARAMS,
    TEXT_UNKNOWN_TYPE,
    OrderStrategy,
    StrategyLink,
    parse_params,
)
from autoliq.domain.model import User
from autoliq.domain.orders import TimeInForce
from autoliq.domain.states import Side
from autoliq.service.clock import Clock
from autoliq.service.execution import NewOrder, OrderOutcome
from autoliq.service.linked_orders import (
    INVALID_PRICE,
    TEXT_ENTRY_TIME_IN_FORCE,
    TEXT_LINKED_TIME_IN_FORCE,
    TEXT_UNKNOWN_COMMAND,
    UNSUPPORTED,
    BracketChange,
    Leg,
    LinkedOutcome,
    StrategyOutcome,
    StrategyStart,
    interrupt_strategy,
    modify_strategy,
    place_oco,
    place_oso,
    refused,
    start_strategy,
)
from autoliq.service.orders import PlaceOrder, TradingService
from autoliq.service.ports import UnitOfWork


@dataclass(frozen=True, slots=True)
class RestrainedOrder:
    """Tradovate's `RestrainedOrderVersion` as sent: an OCO's other leg or an OSO bracket (contract
    and quantity are the first order's)."""

    action: str
    order_type: str
    price: float | None = None
    stop_price: float | None = None
    time_in_force: str | None = None
    cl_ord_id: str | None = None


@dataclass(frozen=True, slots=True)
class PlaceOco:
    """placeOCO's request: a placeorder request and the `other` leg."""

    order: PlaceOrder
    other: RestrainedOrder


@dataclass(frozen=True, slots=True)
class PlaceOso:
    """placeOSO's request: an entry placeorder request, `bracket1` and optionally `bracket2`."""

    order: PlaceOrder
    bracket1: RestrainedOrder
    bracket2: RestrainedOrder | None = None


@dataclass(frozen=True, slots=True)
class StartStrategy:
    """startOrderStrategy's request, as sent (`params` None: absent, or not a JSON string)."""

    account_id: int | None
    symbol: str
    action: str
    order_strategy_type_id: int
    params: str | None = None
    uuid: str | None = None
    custom_tag50: str | None = None


class LinkedOrderService:
    """placeOCO, placeOSO and the order strategies: validation, then one transaction each."""

    def __init__(self, uow: UnitOfWork, clock: Clock, trading: TradingService, max_strategies: int) -> None:
        self._uow = uow
        self._clock = clock
        self._trading = trading
        self._max_strategies = max_strategies

    async def place_oco(self, caller: User, command: PlaceOco) -> LinkedOutcome:
        """Tradovate's placeOCO; failures are values, as placeorder's."""
        order = await self._trading.new_order(caller, command.order)
        if isinstance(order, OrderOutcome):
            return refused(order)
        if order.time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
            return LinkedOutcome(None, (), UNSUPPORTED, TEXT_ENTRY_TIME_IN_FORCE)
        other = self._leg(command.other, order)
        if isinstance(other, OrderOutcome):
            return refused(other)
        clock = self._clock
        return await self._uow.write(
            lambda store: place_oco(store, order, other, clock.now()), accounts=(order.account_id,)
        )

    async def place_oso(self, caller: User, command: PlaceOso) -> LinkedOutcome:
        """Tradovate's placeOSO; failures are values, as placeorder's."""
        order = await self._trading.new_order(caller, command.order)
        if isinstance(order, OrderOutcome):
            return refused(order)
        legs: list[Leg] = []
        for raw in (command.bracket1, command.bracket2):
            if raw is None:
                continue
            leg = self._leg(raw, order)
            if isinstance(leg, OrderOutcome):
                return refused(leg)
            legs.append(leg)
        clock = self._clock
        brackets = tuple(legs)
        return await self._uow.write(
            lambda store: place_oso(store, order, brackets, clock.now()), accounts=(order.account_id,)
        )

    def _leg(self, raw: RestrainedOrder, order: NewOrder) -> Leg | OrderOutcome:
        """A `RestrainedOrderVersion` checked against the first order's contract."""
        if raw.action not in ("Buy", "Sell"):
            return OrderOutcome(None, UNKNOWN_REASON, "Action should be Buy or Sell")
        terms = self._trading.terms(raw.order_type, raw.price, raw.stop_price, order.contract)
        if isinstance(terms, OrderOutcome):
            return terms
        tif_text = raw.time_in_force or order.time_in_force.value
        if tif_text not in {t.value for t in TimeInForce}:
            return OrderOutcome(
                None, UNSUPPORTED, f"Time in force {tif_text} is not supported by the sandbox"
            )
        tif = TimeInForce(tif_text)
        if tif in (TimeInForce.IOC, TimeInForce.FOK):
            return OrderOutcome(None, UNSUPPORTED, TEXT_LINKED_TIME_IN_FORCE)
        order_type, limit, stop = terms
        return Leg(Side(raw.action), order_type, tif, limit, stop, raw.cl_ord_id)

    # -- order strategies --
    async def start_strategy(self, caller: User, command: StartStrategy) -> StrategyOutcome:
        """Tradovate's startOrderStrategy (type 2, multibracket); failures are `errorText`."""
        if command.order_strategy_type_id != MULTIBRACKET_TYPE_ID:
            return StrategyOutcome(None, TEXT_UNKNOWN_TYPE)
        if command.params is None:
            # Absent, or an object where the JSON-encoded string belongs (TPN reports this text).
            return StrategyOutcome(None, TEXT_INVALID_PARAMS)
        if command.action not in ("Buy", "Sell"):
            return StrategyOutcome(None, "Action should be Buy or Sell")
        try:
            params = parse_params(command.params, Side(command.action))
        except ValueError as exc:
            return StrategyOutcome(None, f"{TEXT_INVALID_PARAMS}: {exc}")
        entry = params.entry
        entry_order = PlaceOrder(
            command.account_id, command.symbol, command.action, entry.order_qty, entry.order_type,
            entry.price, entry.stop_price, entry.time_in_force,
        )  # fmt: skip
        order = await self._trading.new_order(caller, entry_order)
        if isinstance(order, OrderOutcome):
            return StrategyOutcome(None, order.failure_text, order.failure_reason)
        tick = order.contract.product.tick_size
        for index, bracket in enumerate(params.brackets):
            for name, offset in (("profitTarget", bracket.profit_target), ("stopLoss", bracket.stop_loss)):
                if offset is not None and offset % tick != 0:
                    text = f"{TEXT_INVALID_PARAMS}: params.brackets[{index}].{name}: a multiple of {tick}"
                    return StrategyOutcome(None, text, INVALID_PRICE)
            if bracket.trailing_stop:
                text = "TrailingStop orders are not supported by the sandbox"
                return StrategyOutcome(None, text, UNSUPPORTED)
        start = StrategyStart(
            order,
            params,
            command.params,
            caller.id,
            command.uuid,
            command.custom_tag50,
            self._max_strategies,
        )
        clock = self._clock
        return await self._uow.write(
            lambda store: start_strategy(store, start, clock.now()), accounts=(order.account_id,)
        )

    async def _running_of(self, caller: User, strategy_id: int) -> OrderStrategy | StrategyOutcome:
        found = await self.strategies(caller, ids=[strategy_id])
        if not found or not await self._trading.may_trade(caller, found[0].account_id):
            return StrategyOutcome(None, TEXT_ACCESS_DENIED)
        return found[0]

    async def interrupt_strategy(self, caller: User, strategy_id: int) -> StrategyOutcome:
        """Tradovate's interruptOrderStrategy."""
        found = await self._running_of(caller, strategy_id)
        if isinstance(found, StrategyOutcome):
            return found
        clock = self._clock
        return await self._uow.write(
            lambda store: interrupt_strategy(store, strategy_id, clock.now()), accounts=(found.account_id,)
        )

    async def modify_strategy(self, caller: User, strategy_id: int, command: str) -> StrategyOutcome:
        """Tradovate's modifyOrderStrategy with autoliq's one command: new offsets of one bracket,
        `{"bracket": N, "profitTarget": X, "stopLoss": Y}` as a JSON string (either offset may be
        left out)."""
        found = await self._running_of(caller, strategy_id)
        if isinstance(found, StrategyOutcome):
            return found
        contract = contract_of_id(found.contract_id)
        if contract is None:
            return StrategyOutcome(found, "The strategy's contract is no longer listed")
        try:
            change = parse_bracket_command(command, found.side, contract.product.tick_size)
        except ValueError as exc:
            return StrategyOutcome(found, str(exc))
        change = replace(change, max_position=self._trading.limits.max_position)
        clock = self._clock
        return await self._uow.write(
            lambda store: modify_strategy(store, strategy_id, change, clock.now()),
            accounts=(found.account_id,),
        )

    async def strategies(
        self, caller: User, *, ids: list[int] | None = None, account_ids: list[int] | None = None
    ) -> list[OrderStrategy]:
        """The strategies `caller` may see (an admin its organization's, a trader its own accounts')."""
        owner = None if caller.is_admin else caller.id
        return await self._uow.read(
            lambda s: s.strategy_rows(
                caller.organization_id, owner_id=owner, ids=ids, account_ids=account_ids
            )
        )

    async def links(
        self, caller: User, *, ids: list[int] | None = None, strategy_ids: list[int] | None = None
    ) -> list[StrategyLink]:
        """The strategy links `caller` may see."""
        owner = None if caller.is_admin else caller.id
        return await self._uow.read(
            lambda s: s.strategy_link_rows(
                caller.organization_id, owner_id=owner, ids=ids, strategy_ids=strategy_ids
            )
        )


def parse_bracket_command(command: str, side: Side, tick: Decimal) -> BracketChange:
    """modifyOrderStrategy's `command`: `{"bracket": N, "profitTarget": X, "stopLoss": Y}` (a JSON
    string; N from 1; offsets signed as in `params`); ValueError names what is wrong."""
    try:
        raw = json.loads(command)
    except (ValueError, RecursionError):
        raw = None
    if not isinstance(raw, dict):
        raise ValueError(TEXT_UNKNOWN_COMMAND)
    index = raw.get("bracket")
    if isinstance(index, bool) or not isinstance(index, int) or not 1 <= index <= MAX_BRACKETS:
        raise ValueError(f"command.bracket: should be an integer from 1 to {MAX_BRACKETS}")
    offsets: dict[str, Decimal | None] = {}
    for name in ("profitTarget", "stopLoss"):
        value = raw.get(name)
        if value is None:
            offsets[name] = None
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"command.{name}: should be a number")
        offset = Decimal(str(value))
        if not offset.is_finite() or offset % tick != 0:
            raise ValueError(f"command.{name}: should be a multiple of {tick}")
        positive = name == "profitTarget"
        if (offset * side.sign > 0) != positive or offset == 0:
            want = "positive" if positive == (side is Side.BUY) else "negative"
            raise ValueError(f"command.{name}: should be {want} for a {side.value}")
        offsets[name] = offset
    if offsets["profitTarget"] is None and offsets["stopLoss"] is None:
        raise ValueError("command: needs a profitTarget or a stopLoss")
    return BracketChange(index - 1, offsets["profitTarget"], offsets["stopLoss"])
