"""/v1/user: list, item, items, find and suggest. An organization admin sees its organization's
users, anyone else only itself; another organization's users never (404, as an unknown id)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import Parameter

from autoliq.api.params import (
    ERROR_RESPONSES,
    IdListParam,
    IdParam,
    SuggestLimitParam,
    SuggestTextParam,
    parse_ids,
)
from autoliq.api.schemas.user import UserOut, user_out
from autoliq.api.security import caller_of
from autoliq.container import Services

Req = Request[Any, Any, Any]


class UserController(Controller):
    """Users visible to the caller."""

    path = "/v1/user"
    tags = ["user"]  # noqa: RUF012

    @get("/list", responses=ERROR_RESPONSES)
    async def list_(self, request: Req, services: NamedDependency[Services]) -> list[UserOut]:
        """Every visible user."""
        return [user_out(u, c) for u, c in await services.views.visible_users(caller_of(request).user)]

    @get("/item", responses=ERROR_RESPONSES)
    async def item(self, request: Req, services: NamedDependency[Services], id: IdParam) -> UserOut:
        """One user by id."""
        return user_out(*await services.views.user(caller_of(request).user, id))

    @get("/items", responses=ERROR_RESPONSES)
    async def items(
        self, request: Req, services: NamedDependency[Services], ids: IdListParam
    ) -> list[UserOut]:
        """Users by ids; unknown or invisible ids are left out."""
        found = await services.views.users(caller_of(request).user, parse_ids("ids", ids))
        return [user_out(u, c) for u, c in found]

    @get("/find", responses=ERROR_RESPONSES)
    async def find(
        self,
        request: Req,
        services: NamedDependency[Services],
        name: Annotated[str, Parameter(max_length=200, description="User name")],
    ) -> UserOut:
        """One user by its name."""
        return user_out(*await services.views.user_by_name(caller_of(request).user, name))

    @get("/suggest", responses=ERROR_RESPONSES)
    async def suggest(
        self,
        request: Req,
        services: NamedDependency[Services],
        text: SuggestTextParam,
        limit: SuggestLimitParam,
    ) -> list[UserOut]:
        """Visible users whose name holds `t`, by name, at most `l`."""
        found = await services.views.suggest_users(caller_of(request).user, text, limit)
        return [user_out(u, c) for u, c in found]
