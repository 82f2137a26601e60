"""/v1/userAccountPositionLimit and /v1/userAccountRiskParameter: an account's pre-trade limit rows
(exactly the routes Tradovate's API has: no `list`; the risk parameter's delete lives under the
position limit's path)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from autoliq.api.params import ERROR_RESPONSES, IdListParam, IdParam, MasterIdParam, parse_ids
from autoliq.api.schemas.position_limits import (
    DeleteResultResponseOut,
    DeleteUserAccountPositionLimitBody,
    DeleteUserAccountRiskParameterBody,
    UserAccountPositionLimitIO,
    UserAccountRiskParameterIO,
    limit_in,
    limit_out,
    parameter_in,
    parameter_out,
)
from autoliq.api.security import caller_of
from autoliq.container import Services
from autoliq.domain.errors import BadRequest, NotFound

Req = Request[Any, Any, Any]
TEXT_NO_ID = "id: is required to update"


def _deleted(error: str | None) -> DeleteResultResponseOut:
    return DeleteResultResponseOut(success=error is None, errorText=error)


class UserAccountPositionLimitController(Controller):
    """Position limit rows: reads scoped like every entity; changes by organization admins for
    their accounts (a trader: 401 "Access is denied"). A bad value is 400 naming it; an account or
    row the caller cannot see is 404."""

    path = "/v1/userAccountPositionLimit"
    tags = ["userAccountPositionLimit"]  # noqa: RUF012

    @post("/create", status_code=200, responses=ERROR_RESPONSES)
    async def create(
        self, request: Req, data: JSONBody[UserAccountPositionLimitIO], services: NamedDependency[Services]
    ) -> UserAccountPositionLimitIO:
        """Add a row to an account (`id` ignored); the row as stored."""
        saved = await services.limits.save_limit(caller_of(request).user, limit_in(data), create=True)
        return limit_out(saved)

    @post("/update", status_code=200, responses=ERROR_RESPONSES)
    async def update(
        self, request: Req, data: JSONBody[UserAccountPositionLimitIO], services: NamedDependency[Services]
    ) -> UserAccountPositionLimitIO:
        """Replace row `id` (an omitted limit is switched off; the account cannot change)."""
        if data.id is None or data.id <= 0:
            raise BadRequest(TEXT_NO_ID)
        saved = await services.limits.save_limit(caller_of(request).user, limit_in(data), create=False)
        return limit_out(saved)

    @post("/deleteuseraccountpositionlimit", status_code=200, responses=ERROR_RESPONSES)
    async def delete_limit(
        self,
        request: Req,
        data: JSONBody[DeleteUserAccountPositionLimitBody],
        services: NamedDependency[Services],
    ) -> DeleteResultResponseOut:
        """Delete a row and its risk parameters: `{"success": true}`, or `success: false` and the
        `errorText`."""
        user = caller_of(request).user
        return _deleted(await services.limits.delete_limit(user, data.userAccountPositionLimitId))

    @post("/deleteuseraccountriskparameter", status_code=200, responses=ERROR_RESPONSES)
    async def delete_parameter(
        self,
        request: Req,
        data: JSONBody[DeleteUserAccountRiskParameterBody],
        services: NamedDependency[Services],
    ) -> DeleteResultResponseOut:
        """Delete a risk parameter (Tradovate keeps this route under the position limit's path)."""
        user = caller_of(request).user
        return _deleted(await services.limits.delete_parameter(user, data.userAccountRiskParameterId))

    @get("/item", responses=ERROR_RESPONSES)
    async def item(
        self, request: Req, services: NamedDependency[Services], id: IdParam
    ) -> UserAccountPositionLimitIO:
        """One row by id."""
        found = await services.limits.limits(caller_of(request).user, ids=[id])
        if not found:
            raise NotFound()
        return limit_out(found[0])

    @get("/items", responses=ERROR_RESPONSES)
    async def items(
        self, request: Req, services: NamedDependency[Services], ids: IdListParam
    ) -> list[UserAccountPositionLimitIO]:
        """Rows by ids; unknown or invisible ids are left out."""
        found = await services.limits.limits(caller_of(request).user, ids=parse_ids("ids", ids))
        return [limit_out(limit) for limit in found]

    @get("/deps", responses=ERROR_RESPONSES)
    async def deps(
        self, request: Req, services: NamedDependency[Services], masterid: MasterIdParam
    ) -> list[UserAccountPositionLimitIO]:
        """Account `masterid`'s rows."""
        found = await services.limits.limits(caller_of(request).user, account_ids=[masterid])
        return [limit_out(limit) for limit in found]

    @get("/ldeps", responses=ERROR_RESPONSES)
    async def ldeps(
        self, request: Req, services: NamedDependency[Services], masterids: IdListParam
    ) -> list[UserAccountPositionLimitIO]:
        """The rows of accounts `masterids`."""
        accounts = parse_ids("masterids", masterids)
        found = await services.limits.limits(caller_of(request).user, account_ids=accounts)
        return [limit_out(limit) for limit in found]


class UserAccountRiskParameterController(Controller):
    """Risk parameters of position limit rows (master: the position limit). Permissions as above."""

    path = "/v1/userAccountRiskParameter"
    tags = ["userAccountRiskParameter"]  # noqa: RUF012

    @post("/create", status_code=200, responses=ERROR_RESPONSES)
    async def create(
        self, request: Req, data: JSONBody[UserAccountRiskParameterIO], services: NamedDependency[Services]
    ) -> UserAccountRiskParameterIO:
        """Add a risk parameter under position limit `userAccountPositionLimitId` (`id` ignored)."""
        saved = await services.limits.save_parameter(caller_of(request).user, parameter_in(data), create=True)
        return parameter_out(saved)

    @post("/update", status_code=200, responses=ERROR_RESPONSES)
    async def update(
        self, request: Req, data: JSONBody[UserAccountRiskParameterIO], services: NamedDependency[Services]
    ) -> UserAccountRiskParameterIO:
        """Replace risk parameter `id` (its position limit cannot change)."""
        if data.id is None or data.id <= 0:
            raise BadRequest(TEXT_NO_ID)
        saved = await services.limits.save_parameter(
            caller_of(request).user, parameter_in(data), create=False
        )
        return parameter_out(saved)

    @get("/item", responses=ERROR_RESPONSES)
    async def item(
        self, request: Req, services: NamedDependency[Services], id: IdParam
    ) -> UserAccountRiskParameterIO:
        """One risk parameter by id."""
        found = await services.limits.parameters(caller_of(request).user, ids=[id])
        if not found:
            raise NotFound()
        return parameter_out(found[0])

    @get("/items", responses=ERROR_RESPONSES)
    async def items(
        self, request: Req, services: NamedDependency[Services], ids: IdListParam
    ) -> list[UserAccountRiskParameterIO]:
        """Risk parameters by ids; unknown or invisible ids are left out."""
        found = await services.limits.parameters(caller_of(request).user, ids=parse_ids("ids", ids))
        return [parameter_out(parameter) for parameter in found]

    @get("/deps", responses=ERROR_RESPONSES)
    async def deps(
        self, request: Req, services: NamedDependency[Services], masterid: MasterIdParam
    ) -> list[UserAccountRiskParameterIO]:
        """The risk parameters of position limit `masterid`."""
        found = await services.limits.parameters(caller_of(request).user, limit_ids=[masterid])
        return [parameter_out(parameter) for parameter in found]

    @get("/ldeps", responses=ERROR_RESPONSES)
    async def ldeps(
        self, request: Req, services: NamedDependency[Services], masterids: IdListParam
    ) -> list[UserAccountRiskParameterIO]:
        """The risk parameters of position limits `masterids`."""
        limits = parse_ids("masterids", masterids)
        found = await services.limits.parameters(caller_of(request).user, limit_ids=limits)
        return [parameter_out(parameter) for parameter in found]
