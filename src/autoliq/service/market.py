"""Sandbox market data: the instrument catalog as Tradovate's products and contracts, and last prices."""

from __future__ import annotations

import math
import time as time_module
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from autoliq.domain.cme_calendar import calendar
from autoliq.domain.errors import BadRequest, NotFound
from autoliq.domain.events import PricesChanged
from autoliq.domain.instruments import (
    CONTRACT_GROUPS,
    CURRENCIES,
    EXCHANGES,
    PRODUCTS,
    PRODUCTS_BY_NAME,
    ContractGroupSpec,
    ContractSpec,
    CurrencySpec,
    ExchangeSpec,
    ProductSpec,
    contract_order,
    exchange_of,
    listed_contracts,
    price_problem,
    suggest,
)
from autoliq.domain.limits import LISTED_PER_PRODUCT, OrderLimits
from autoliq.service.clock import Clock
from autoliq.service.ports import Store, UnitOfWork
from autoliq.service.risk_engine import evaluate_candidates, fill_resting_orders

CHICAGO = ZoneInfo("America/Chicago")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LISTED_AHEAD = LISTED_PER_PRODUCT
"""Contracts listed per product: the front month and the next three (the storage bound counts them)."""
MAX_PRICES_PER_CALL = 1000
DEFAULT_PRICE_HISTORY_DAYS = 7.0
"""How long recorded prices are kept (AUTOLIQ_PRICE_HISTORY_DAYS)."""
DEFAULT_EQUITY_HISTORY_DAYS = 30.0
"""How long equity points are kept (AUTOLIQ_EQUITY_HISTORY_DAYS)."""
PRUNE_INTERVAL = 60.0
"""Seconds (real time) between two prunings of the price history, each in a price write."""
PRUNE_BATCH = 5000
"""Recorded prices deleted by one pruning at most (the rest go at the next ones)."""


@dataclass(frozen=True, slots=True)
class LastPrice:
    """A contract's last price as the sandbox set it."""

    contract: ContractSpec
    price: Decimal
    updated: datetime


class MarketData:
    """Products, contracts (listed as of the clock's day in Chicago) and their last prices."""

    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        limits: OrderLimits | None = None,
        *,
        history_days: float = DEFAULT_PRICE_HISTORY_DAYS,
        equity_days: float = DEFAULT_EQUITY_HISTORY_DAYS,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._limits = limits or OrderLimits()
        self._history_days = history_days
        self._equity_days = equity_days
        self._pruned = -math.inf
        self._listed: dict[int, ContractSpec] = {}
        self._listed_by_name: dict[str, ContractSpec] = {}
        self._listed_day: date | None = None
        # [start, end) of the last exchange day computed, and that day.
        self._day_span: tuple[datetime, datetime, date] = (_EPOCH, _EPOCH, _EPOCH.date())

    def today(self) -> date:
        """The exchange's calendar day (America/Chicago); the time-zone conversion runs once a day
        (every order asks), not on each call."""
        now = self._clock.now()
        start, end, day = self._day_span
        if start <= now < end:
            return day
        day = now.astimezone(CHICAGO).date()
        # In UTC: comparing with an aware time of another zone would ask the zone on every call.
        start = datetime.combine(day, time(), CHICAGO).astimezone(UTC)
        end = datetime.combine(day + timedelta(days=1), time(), CHICAGO).astimezone(UTC)
        self._day_span = (start, end, day)
        return day

    # -- products --
    def products(self) -> list[ProductSpec]:
        """Every product."""
        return list(PRODUCTS)

    def product(self, product_id: int) -> ProductSpec:
        """One product by id, else NotFound."""
        for product in PRODUCTS:
            if product.id == product_id:
                return product
        raise NotFound()

    def product_by_name(self, name: str) -> ProductSpec:
        """One product by its name (`ES`), else NotFound."""
        product = PRODUCTS_BY_NAME.get(name)
        if product is None:
            raise NotFound()
        return product

    def products_of_exchanges(self, exchange_ids: Sequence[int]) -> list[ProductSpec]:
        """The products traded on these exchanges (product/deps: master = exchange), by id."""
        wanted = set(exchange_ids)
        return [p for p in PRODUCTS if exchange_of(p).id in wanted]

    def suggest_products(self, text: str, limit: int) -> list[ProductSpec]:
        """Products whose name holds `text` (domain.instruments.suggest)."""
        return suggest(PRODUCTS, text, limit, lambda p: p.name)

    # -- contracts --
    def listed(self) -> dict[int, ContractSpec]:
        """Every contract listed today, by id (computed once per exchange day: every order asks)."""
        today = self.today()
        if self._listed_day != today:
            self._listed = {c.id: c for p in PRODUCTS for c in listed_contracts(p, today, LISTED_AHEAD)}
            self._listed_by_name = {c.name: c for c in self._listed.values()}
            self._listed_day = today
        return self._listed

    def contract(self, contract_id: int) -> ContractSpec:
        """One listed contract by id, else NotFound."""
        found = self.listed().get(contract_id)
        if found is None:
            raise NotFound()
        return found

    def contracts(self, ids: Sequence[int]) -> list[ContractSpec]:
        """Listed contracts among `ids`, in the order asked."""
        listed = self.listed()
        return [listed[i] for i in ids if i in listed]

    def contract_by_name(self, name: str) -> ContractSpec:
        """The listed contract with this symbol (`ESZ6`), else NotFound."""
        self.listed()
        found = self._listed_by_name.get(name)
        if found is None:
            raise NotFound()
        return found

    def contracts_of_maturity(self, maturity_id: int) -> list[ContractSpec]:
        """The contracts of a contract maturity (one each here)."""
        return [c for c in self.listed().values() if c.maturity_id == maturity_id]

    def contracts_of_maturities(self, maturity_ids: Sequence[int]) -> list[ContractSpec]:
        """The contracts of these contract maturities (contract/ldeps), by id."""
        wanted = set(maturity_ids)
        return sorted((c for c in self.listed().values() if c.maturity_id in wanted), key=lambda c: c.id)

    def suggest_contracts(self, text: str, limit: int) -> list[ContractSpec]:
        """Listed contracts whose symbol holds `text` (domain.instruments.suggest)."""
        return suggest(self.listed().values(), text, limit, lambda c: c.name, contract_order)

    # -- contract maturities: one per listed contract, sharing its id --
    def maturities(self, ids: Sequence[int] | None = None) -> list[ContractSpec]:
        """The listed contracts' maturities (all, or those among `ids` in the order asked)."""
        listed = self.listed()
        if ids is None:
            return sorted(listed.values(), key=lambda c: c.id)
        return [listed[i] for i in ids if i in listed]

    def maturity(self, maturity_id: int) -> ContractSpec:
        """One listed contract maturity by id, else NotFound."""
        return self.contract(maturity_id)

    def maturities_of_products(self, product_ids: Sequence[int]) -> list[ContractSpec]:
        """The listed maturities of these products (contractMaturity/deps: master = product), by id."""
        wanted = set(product_ids)
        return sorted((c for c in self.listed().values() if c.product.id in wanted), key=lambda c: c.id)

    def is_front(self, contract: ContractSpec) -> bool:
        """Whether `contract` is its product's nearest listed month today."""
        product = contract.product
        return (
            min((c.id for c in self.listed().values() if c.product.id == product.id), default=None)
            == contract.id
        )

    # -- reference data: exchanges, currencies, contract groups (fixed) --
    def exchanges(self) -> list[ExchangeSpec]:
        """Every exchange a product trades on."""
        return list(EXCHANGES)

    def currencies(self) -> list[CurrencySpec]:
        """Every currency (USD)."""
        return list(CURRENCIES)

    def contract_groups(self) -> list[ContractGroupSpec]:
        """Every contract group (one per asset class)."""
        return list(CONTRACT_GROUPS)

    # -- prices --
    def _prune_due(self) -> tuple[datetime, datetime] | None:
        """The retention bounds of the price history and of the equity history when they are due a
        pruning (at most every `PRUNE_INTERVAL` seconds of real time, `PRUNE_BATCH` rows of each
        each time), else None."""
        tick = time_module.monotonic()
        if tick - self._pruned < PRUNE_INTERVAL:
            return None
        self._pruned = tick
        now = self._clock.now()
        return now - timedelta(days=self._history_days), now - timedelta(days=self._equity_days)

    async def last_prices(self) -> list[LastPrice]:
        """Every contract's last price that was set, by contract id."""
        rows = await self._uow.read(lambda s: s.contract_prices())
        listed = self.listed()
        out = []
        for contract_id, ticks, updated in rows:
            contract = listed.get(contract_id)
            if contract is not None:
                out.append(LastPrice(contract, ticks * contract.product.tick_size, updated))
        return out

    async def set_prices(self, prices: Sequence[tuple[str, float | int]]) -> list[LastPrice]:
        """Set last prices; all or nothing. BadRequest names the first bad entry."""
        if not prices:
            raise BadRequest("prices: at least one price is required")
        if len(prices) > MAX_PRICES_PER_CALL:
            raise BadRequest(f"prices: at most {MAX_PRICES_PER_CALL} per call")
        updates: list[tuple[ContractSpec, Decimal]] = []
        for index, (symbol, raw) in enumerate(prices):
            try:
                contract = self.contract_by_name(symbol)
            except NotFound:
                raise BadRequest(f"prices[{index}].symbol: {symbol!r} is not a listed contract") from None
            try:
                price = Decimal(str(raw))
            except InvalidOperation:
                raise BadRequest(f"prices[{index}].price: not a number") from None
            problem = price_problem(price, contract.product)
            if problem is not None:
                raise BadRequest(f"prices[{index}].price: {problem}")
            updates.append((contract, price))
        clock = self._clock
        max_position = self._limits.max_position
        market_hours = self._limits.market_hours

        prune_before = self._prune_due()

        def write(store: Store) -> datetime:
            now = clock.now()
            for contract, price in updates:
                store.set_contract_price(contract.id, int(price / contract.product.tick_size), now)
            # In the same transaction: the working orders the new prices reach fill at them, then
            # the post-trade rules of the accounts whose price triggers the new prices reach (and
            # only theirs: the others' rules cannot be reached between their triggers).
            for contract, price in updates:
                # A price sent while the contract's market is shut is kept (charts, quotes, marks)
                # but fills no order (Settings.market_hours).
                if not market_hours or calendar(contract.product.calendar).is_open(now):
                    fill_resting_orders(store, contract, price, now, max_position)
            # The price history (md quotes and charts), with what each change filled, and the event
            # every worker's market-data feed hears after the commit.
            recorded = []
            for contract, price in updates:
                ticks = int(price / contract.product.tick_size)
                volume = store.fill_volume(contract.id, now, now)
                tick_id = store.add_price_tick(contract.id, now, ticks, volume)
                recorded.append((contract.id, ticks, tick_id, volume))
            store.emit(PricesChanged(now, tuple(recorded)))
            if prune_before is not None:
                store.prune_price_history(prune_before[0], PRUNE_BATCH)
                store.prune_equity_history(prune_before[1], PRUNE_BATCH)
            evaluate_candidates(store, updates, now)
            return now

        when = await self._uow.write(write)
        return [LastPrice(c, p, when) for c, p in updates]
