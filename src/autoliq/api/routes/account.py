"""/v1/account: list, item, items, find, suggest, deps and ldeps (master = user)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get
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
from autoliq.api.schemas.account import AccountOut, account_out
from autoliq.api.security import caller_of
from autoliq.container import Services


class AccountController(Controller):
    """Accounts visible to the caller."""

    path = "/v1/account"
    tags = ["account"]  # noqa: RUF012

    @get("/list", responses=ERROR_RESPONSES)
    async def list_(
        self, request: Request[Any, Any, Any], services: NamedDependency[Services]
    ) -> list[AccountOut]:
        """Every visible account."""
        return [account_out(a) for a in await services.views.accounts(caller_of(request).user)]

    @get("/item", responses=ERROR_RESPONSES)
    async def item(
        self, request: Request[Any, Any, Any], services: NamedDependency[Services], id: IdParam
    ) -> AccountOut:
        """One account by id."""
        return account_out(await services.views.account(caller_of(request).user, id))

    @get("/items", responses=ERROR_RESPONSES)
    async def items(
        self, request: Request[Any, Any, Any], services: NamedDependency[Services], ids: IdListParam
    ) -> list[AccountOut]:
        """Accounts by ids; unknown or invisible ids are left out."""
        return [
            account_out(a)
            for a in await services.views.accounts(caller_of(request).user, parse_ids("ids", ids))
        ]

    @get("/find", responses=ERROR_RESPONSES)
    async def find(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        name: Annotated[str, Parameter(max_length=200, description="Account name")],
    ) -> AccountOut:
        """One account by its name."""
        return account_out(await services.views.account_by_name(caller_of(request).user, name))

    @get("/deps", responses=ERROR_RESPONSES)
    async def deps(
        self, request: Request[Any, Any, Any], services: NamedDependency[Services], masterid: MasterIdParam
    ) -> list[AccountOut]:
        """Accounts owned by user `masterid`."""
        return [
            account_out(a) for a in await services.views.accounts_of_user(caller_of(request).user, masterid)
        ]

    @get("/ldeps", responses=ERROR_RESPONSES)
    async def ldeps(
        self, request: Request[Any, Any, Any], services: NamedDependency[Services], masterids: IdListParam
    ) -> list[AccountOut]:
        """Accounts owned by users `masterids`."""
        ids = parse_ids("masterids", masterids)
        return [account_out(a) for a in await services.views.accounts_of_users(caller_of(request).user, ids)]

    @get("/suggest", responses=ERROR_RESPONSES)
    async def suggest(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        text: SuggestTextParam,
        limit: SuggestLimitParam,
    ) -> list[AccountOut]:
        """Visible accounts whose name holds `t`, by name, at most `l`."""
        found = await services.views.suggest_accounts(caller_of(request).user, text, limit)
        return [account_out(a) for a in found]
