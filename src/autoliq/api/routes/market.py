"""/v1/product and /v1/contract: the sandbox's instruments, as Tradovate serves them."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import Parameter

from autoliq.api.params import ERROR_RESPONSES, IdListParam, IdParam, MasterIdParam, parse_ids
from autoliq.api.schemas import ContractOut, ProductOut, contract_out, product_out
from autoliq.bootstrap import Services

NameParam = Annotated[str, Parameter(max_length=64, description="Name, e.g. `ES` or `ESZ6`")]


class ProductController(Controller):
    """Futures products."""

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

    @get("/find", responses=ERROR_RESPONSES)
    async def find(self, services: NamedDependency[Services], name: NameParam) -> ProductOut:
        """One product by name (`ES`)."""
        return product_out(services.market.product_by_name(name))


class ContractController(Controller):
    """Listed contracts: each product's front month and the next three."""

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
