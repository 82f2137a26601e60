"""/v1/product, /v1/contract, /v1/contractMaturity, /v1/contractGroup, /v1/exchange, /v1/currency:
the sandbox's instruments and their reference data, as Tradovate serves them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, TypeVar

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import Parameter

from autoliq.api.params import (
    ERROR_RESPONSES,
    IdListParam,
    IdParam,
    MasterIdParam,
    SuggestLimitParam,
    SuggestTextParam,
    parse_ids,
)
from autoliq.api.schemas.market import (
    ContractGroupOut,
    ContractMaturityOut,
    ContractOut,
    CurrencyOut,
    ExchangeOut,
    ProductOut,
    contract_group_out,
    contract_maturity_out,
    contract_out,
    currency_out,
    exchange_out,
    product_out,
)
from autoliq.container import Services
from autoliq.domain.errors import NotFound
from autoliq.domain.instruments import ContractSpec, suggest
from autoliq.service.market import MarketData

NameParam = Annotated[str, Parameter(max_length=64, description="Name, e.g. `ES` or `ESZ6`")]

E = TypeVar("E")


# -- helpers for the fixed reference data (entities with an `id` and a `name`) --


def _by_id(entities: Sequence[E], entity_id: int, id_of: Callable[[E], int]) -> E:
    for entity in entities:
        if id_of(entity) == entity_id:
            return entity
    raise NotFound()


def _by_ids(entities: Sequence[E], ids: list[int], id_of: Callable[[E], int]) -> list[E]:
    by_id = {id_of(e): e for e in entities}
    return [by_id[i] for i in ids if i in by_id]


def _by_name(entities: Sequence[E], name: str, name_of: Callable[[E], str]) -> E:
    for entity in entities:
        if name_of(entity) == name:
            return entity
    raise NotFound()


def _id(entity: object) -> int:
    return int(getattr(entity, "id"))  # noqa: B009 -- any reference entity


def _name(entity: object) -> str:
    return str(getattr(entity, "name"))  # noqa: B009 -- any reference entity


class ProductController(Controller):
    """Futures products (master of `deps` = exchange)."""

    path = "/v1/product"
    tags = ["product"]  # noqa: RUF012

    @get("/list", responses=ERROR_RESPONSES)
    async def list_(self, services: NamedDependency[Services]) -> list[ProductOut]:
        """Every product."""
        return [product_out(p) for p in services.market.products()]

    @get("/item", responses=ERROR_RESPONSES)
    async def item(self, services: NamedDependency[Services], id: IdParam) -> ProductOut:
        """One product by id."""
        return product_out(services.market.product(id))

    @get("/items", responses=ERROR_RESPONSES)
    async def items(self, services: NamedDependency[Services], ids: IdListParam) -> list[ProductOut]:
        """Products by ids; unknown ids are left out."""
        return [product_out(p) for p in _by_ids(services.market.products(), parse_ids("ids", ids), _id)]

    @get("/find", responses=ERROR_RESPONSES)
    async def find(self, services: NamedDependency[Services], name: NameParam) -> ProductOut:
        """One product by name (`ES`)."""
        return product_out(services.market.product_by_name(name))

    @get("/deps", responses=ERROR_RESPONSES)
    async def deps(self, services: NamedDependency[Services], masterid: MasterIdParam) -> list[ProductOut]:
        """The products traded on exchange `masterid`."""
        return [product_out(p) for p in services.market.products_of_exchanges([masterid])]

    @get("/ldeps", responses=ERROR_RESPONSES)
    async def ldeps(self, services: NamedDependency[Services], masterids: IdListParam) -> list[ProductOut]:
        """The products traded on exchanges `masterids`."""
        ids = parse_ids("masterids", masterids)
        return [product_out(p) for p in services.market.products_of_exchanges(ids)]

    @get("/suggest", responses=ERROR_RESPONSES)
    async def suggest(
        self, services: NamedDependency[Services], text: SuggestTextParam, limit: SuggestLimitParam
    ) -> list[ProductOut]:
        """Products whose name holds `t`, by name, at most `l`."""
        return [product_out(p) for p in services.market.suggest_products(text, limit)]


class ContractController(Controller):
    """Listed contracts: each product's front month and the next three (master = contract maturity)."""

    path = "/v1/contract"
    tags = ["contract"]  # noqa: RUF012

    @get("/item", responses=ERROR_RESPONSES)
    async def item(self, services: NamedDependency[Services], id: IdParam) -> ContractOut:
        """One contract by id."""
        return contract_out(services.market.contract(id))

    @get("/items", responses=ERROR_RESPONSES)
    async def items(self, services: NamedDependency[Services], ids: IdListParam) -> list[ContractOut]:
        """Contracts by ids; unknown ids are left out."""
        return [contract_out(c) for c in services.market.contracts(parse_ids("ids", ids))]

    @get("/find", responses=ERROR_RESPONSES)
    async def find(self, services: NamedDependency[Services], name: NameParam) -> ContractOut:
        """One contract by symbol (`ESZ6`)."""
        return contract_out(services.market.contract_by_name(name))

    @get("/deps", responses=ERROR_RESPONSES)
    async def deps(self, services: NamedDependency[Services], masterid: MasterIdParam) -> list[ContractOut]:
        """The contracts of contract maturity `masterid`."""
        return [contract_out(c) for c in services.market.contracts_of_maturity(masterid)]

    @get("/ldeps", responses=ERROR_RESPONSES)
    async def ldeps(self, services: NamedDependency[Services], masterids: IdListParam) -> list[ContractOut]:
        """The contracts of contract maturities `masterids`."""
        ids = parse_ids("masterids", masterids)
        return [contract_out(c) for c in services.market.contracts_of_maturities(ids)]

    @get("/suggest", responses=ERROR_RESPONSES)
    async def suggest(
        self, services: NamedDependency[Services], text: SuggestTextParam, limit: SuggestLimitParam
    ) -> list[ContractOut]:
        """Listed contracts whose symbol holds `t`, by symbol, at most `l`."""
        return [contract_out(c) for c in services.market.suggest_contracts(text, limit)]


def _maturity(market: MarketData, contract: ContractSpec) -> ContractMaturityOut:
    return contract_maturity_out(contract, is_front=market.is_front(contract))


class ContractMaturityController(Controller):
    """Contract maturities: one per listed contract, with the contract's id (master = product)."""

    path = "/v1/contractMaturity"
    tags = ["contractMaturity"]  # noqa: RUF012

    @get("/item", responses=ERROR_RESPONSES)
    async def item(self, services: NamedDependency[Services], id: IdParam) -> ContractMaturityOut:
        """One listed contract maturity by id."""
        market = services.market
        return _maturity(market, market.maturity(id))

    @get("/items", responses=ERROR_RESPONSES)
    async def items(self, services: NamedDependency[Services], ids: IdListParam) -> list[ContractMaturityOut]:
        """Contract maturities by ids; unknown ids are left out."""
        market = services.market
        return [_maturity(market, c) for c in market.maturities(parse_ids("ids", ids))]

    @get("/deps", responses=ERROR_RESPONSES)
    async def deps(
        self, services: NamedDependency[Services], masterid: MasterIdParam
    ) -> list[ContractMaturityOut]:
        """The listed maturities of product `masterid`, nearest first."""
        market = services.market
        return [_maturity(market, c) for c in market.maturities_of_products([masterid])]

    @get("/ldeps", responses=ERROR_RESPONSES)
    async def ldeps(
        self, services: NamedDependency[Services], masterids: IdListParam
    ) -> list[ContractMaturityOut]:
        """The listed maturities of products `masterids`."""
        market = services.market
        ids = parse_ids("masterids", masterids)
        return [_maturity(market, c) for c in market.maturities_of_products(ids)]


class ContractGroupController(Controller):
    """Contract groups: one per asset class (`Equity Index`, `Energy`, `Metals`)."""

    path = "/v1/contractGroup"
    tags = ["contractGroup"]  # noqa: RUF012

    @get("/list", responses=ERROR_RESPONSES)
    async def list_(self, services: NamedDependency[Services]) -> list[ContractGroupOut]:
        """Every contract group."""
        return [contract_group_out(g) for g in services.market.contract_groups()]

    @get("/item", responses=ERROR_RESPONSES)
    async def item(self, services: NamedDependency[Services], id: IdParam) -> ContractGroupOut:
        """One contract group by id."""
        return contract_group_out(_by_id(services.market.contract_groups(), id, _id))

    @get("/items", responses=ERROR_RESPONSES)
    async def items(self, services: NamedDependency[Services], ids: IdListParam) -> list[ContractGroupOut]:
        """Contract groups by ids; unknown ids are left out."""
        groups = _by_ids(services.market.contract_groups(), parse_ids("ids", ids), _id)
        return [contract_group_out(g) for g in groups]

    @get("/find", responses=ERROR_RESPONSES)
    async def find(self, services: NamedDependency[Services], name: NameParam) -> ContractGroupOut:
        """One contract group by name."""
        return contract_group_out(_by_name(services.market.contract_groups(), name, _name))

    @get("/suggest", responses=ERROR_RESPONSES)
    async def suggest(
        self, services: NamedDependency[Services], text: SuggestTextParam, limit: SuggestLimitParam
    ) -> list[ContractGroupOut]:
        """Contract groups whose name holds `t`, by name, at most `l`."""
        return [contract_group_out(g) for g in suggest(services.market.contract_groups(), text, limit, _name)]


class ExchangeController(Controller):
    """The exchanges the products trade on: CME, CBOT, NYMEX, COMEX."""

    path = "/v1/exchange"
    tags = ["exchange"]  # noqa: RUF012

    @get("/list", responses=ERROR_RESPONSES)
    async def list_(self, services: NamedDependency[Services]) -> list[ExchangeOut]:
        """Every exchange."""
        return [exchange_out(e) for e in services.market.exchanges()]

    @get("/item", responses=ERROR_RESPONSES)
    async def item(self, services: NamedDependency[Services], id: IdParam) -> ExchangeOut:
        """One exchange by id."""
        return exchange_out(_by_id(services.market.exchanges(), id, _id))

    @get("/items", responses=ERROR_RESPONSES)
    async def items(self, services: NamedDependency[Services], ids: IdListParam) -> list[ExchangeOut]:
        """Exchanges by ids; unknown ids are left out."""
        return [exchange_out(e) for e in _by_ids(services.market.exchanges(), parse_ids("ids", ids), _id)]

    @get("/find", responses=ERROR_RESPONSES)
    async def find(self, services: NamedDependency[Services], name: NameParam) -> ExchangeOut:
        """One exchange by name (`CME`)."""
        return exchange_out(_by_name(services.market.exchanges(), name, _name))

    @get("/suggest", responses=ERROR_RESPONSES)
    async def suggest(
        self, services: NamedDependency[Services], text: SuggestTextParam, limit: SuggestLimitParam
    ) -> list[ExchangeOut]:
        """Exchanges whose name holds `t`, by name, at most `l`."""
        return [exchange_out(e) for e in suggest(services.market.exchanges(), text, limit, _name)]


class CurrencyController(Controller):
    """Currencies: USD (id 1), every product's and cash balance's currency."""

    path = "/v1/currency"
    tags = ["currency"]  # noqa: RUF012

    @get("/list", responses=ERROR_RESPONSES)
    async def list_(self, services: NamedDependency[Services]) -> list[CurrencyOut]:
        """Every currency."""
        return [currency_out(c) for c in services.market.currencies()]

    @get("/item", responses=ERROR_RESPONSES)
    async def item(self, services: NamedDependency[Services], id: IdParam) -> CurrencyOut:
        """One currency by id."""
        return currency_out(_by_id(services.market.currencies(), id, _id))

    @get("/items", responses=ERROR_RESPONSES)
    async def items(self, services: NamedDependency[Services], ids: IdListParam) -> list[CurrencyOut]:
        """Currencies by ids; unknown ids are left out."""
        return [currency_out(c) for c in _by_ids(services.market.currencies(), parse_ids("ids", ids), _id)]

    @get("/find", responses=ERROR_RESPONSES)
    async def find(self, services: NamedDependency[Services], name: NameParam) -> CurrencyOut:
        """One currency by name (`USD`)."""
        return currency_out(_by_name(services.market.currencies(), name, _name))

    @get("/suggest", responses=ERROR_RESPONSES)
    async def suggest(
        self, services: NamedDependency[Services], text: SuggestTextParam, limit: SuggestLimitParam
    ) -> list[CurrencyOut]:
        """Currencies whose name holds `t`, by name, at most `l`."""
        return [currency_out(c) for c in suggest(services.market.currencies(), text, limit, _name)]
