"""The administrative siblings: /v1/accountRiskStatus/setaccountnotes, switchriskcategory and
setDemoHalt, /v1/riskCategory, /v1/account/resetdemoaccountstate, and their /_autoliq reads and
sandbox controls."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, Parameter

from autoliq.api.params import (
    ERROR_RESPONSES,
    INT64_MAX,
    INT64_MIN,
    IdListParam,
    IdParam,
    parse_ids,
)
from autoliq.api.schemas.orders import SimpleResponseOut
from autoliq.api.schemas.risk_admin import (
    AccountNotesOut,
    ResetDemoAccountStateBody,
    RiskCategoryAdminOut,
    RiskCategoryIn,
    RiskCategoryOut,
    SetAccountNotesBody,
    SetDemoHaltBody,
    SwitchRiskCategoryBody,
    risk_category_admin_out,
    risk_category_out,
)
from autoliq.api.security import caller_of
from autoliq.container import Services

Req = Request[Any, Any, Any]
AccountIdPath = Annotated[int, Parameter(ge=INT64_MIN, le=INT64_MAX, description="Account id (int64)")]


def _simple(error: str | None) -> SimpleResponseOut:
    return SimpleResponseOut(ok=error is None, errorText=error)


class RiskAdminController(Controller):
    """The account risk status's administrative actions (organization administrators)."""

    path = "/v1/accountRiskStatus"
    tags = ["accountRiskStatus"]  # noqa: RUF012

    @post("/setaccountnotes", status_code=200, responses=ERROR_RESPONSES)
    async def set_account_notes(
        self, request: Req, data: JSONBody[SetAccountNotesBody], services: NamedDependency[Services]
    ) -> SimpleResponseOut:
        """Replace an account's notes (at most 8,192 characters; absent: none)."""
        body = data
        user = caller_of(request).user
        return _simple(await services.risk_admin.set_account_notes(user, body.accountId, body.notes))

    @post("/switchriskcategory", status_code=200, responses=ERROR_RESPONSES)
    async def switch_risk_category(
        self, request: Req, data: JSONBody[SwitchRiskCategoryBody], services: NamedDependency[Services]
    ) -> SimpleResponseOut:
        """Put up to 10,000 accounts in a risk category, all or nothing (those in it already are
        skipped)."""
        body = data
        user = caller_of(request).user
        return _simple(
            await services.risk_admin.switch_risk_category(user, body.accountIds, body.riskCategoryId)
        )

    @post("/setDemoHalt", status_code=200, responses=ERROR_RESPONSES)
    async def set_demo_halt(
        self, request: Req, data: JSONBody[SetDemoHaltBody], services: NamedDependency[Services]
    ) -> SimpleResponseOut:
        """Halt a risk category (its accounts' new orders get `TradingLocked`) or clear the halt (Demo)."""
        body = data
        user = caller_of(request).user
        return _simple(await services.risk_admin.set_demo_halt(user, body.halt, body.riskCategoryId))


class RiskCategoryController(Controller):
    """The caller's organization's risk categories."""

    path = "/v1/riskCategory"
    tags = ["riskCategory"]  # noqa: RUF012

    @get("/list", responses=ERROR_RESPONSES)
    async def list_(self, request: Req, services: NamedDependency[Services]) -> list[RiskCategoryOut]:
        """Every risk category of the caller's organization."""
        found = await services.risk_admin.risk_categories(caller_of(request).user)
        return [risk_category_out(c) for c in found]

    @get("/item", responses=ERROR_RESPONSES)
    async def item(self, request: Req, services: NamedDependency[Services], id: IdParam) -> RiskCategoryOut:
        """One risk category by id."""
        return risk_category_out(await services.risk_admin.risk_category(caller_of(request).user, id))

    @get("/items", responses=ERROR_RESPONSES)
    async def items(
        self, request: Req, services: NamedDependency[Services], ids: IdListParam
    ) -> list[RiskCategoryOut]:
        """Risk categories by ids; unknown ids and other organizations' are left out."""
        found = await services.risk_admin.risk_categories(caller_of(request).user, parse_ids("ids", ids))
        return [risk_category_out(c) for c in found]


class DemoAccountController(Controller):
    """Demo-account administration."""

    path = "/v1/account"
    tags = ["account"]  # noqa: RUF012

    @post("/resetdemoaccountstate", status_code=200, responses=ERROR_RESPONSES)
    async def reset_demo_account_state(
        self, request: Req, data: JSONBody[ResetDemoAccountStateBody], services: NamedDependency[Services]
    ) -> SimpleResponseOut:
        """Return up to 10,000 demo accounts to their state at the market open of a past trade date,
        all in one transaction (organization admins, Demo)."""
        body = data
        when = body.resetTradeDate
        error = await services.risk_admin.reset_demo_account_state(
            caller_of(request).user,
            body.accountIds,
            None if when is None else when.year,
            None if when is None else when.month,
            None if when is None else when.day,
        )
        return _simple(error)


class RiskAdminExtensionsController(Controller):
    """Our reads and sandbox controls around the administrative siblings."""

    path = "/_autoliq"
    tags = ["autoliq"]  # noqa: RUF012

    @get("/accountNotes/{accountId:int}", responses=ERROR_RESPONSES)
    async def account_notes(
        self, request: Req, services: NamedDependency[Services], accountId: AccountIdPath
    ) -> AccountNotesOut:
        """An account's notes (its organization's admins and its owner; 404 for others)."""
        notes = await services.risk_admin.account_notes(caller_of(request).user, accountId)
        return AccountNotesOut(accountId=accountId, notes=notes)

    @get("/riskCategories", responses=ERROR_RESPONSES)
    async def risk_categories(
        self, request: Req, services: NamedDependency[Services]
    ) -> list[RiskCategoryAdminOut]:
        """The caller's organization's risk categories with their halt state."""
        found = await services.risk_admin.risk_categories(caller_of(request).user)
        return [risk_category_admin_out(c) for c in found]

    @post("/riskCategories", status_code=200, responses=ERROR_RESPONSES)
    async def add_risk_category(
        self, request: Req, data: JSONBody[RiskCategoryIn], services: NamedDependency[Services]
    ) -> RiskCategoryAdminOut:
        """Create a risk category (organization admins): `{"name": "Evaluation"}`; 400 for a blank,
        too long (over 200 characters) or taken name."""
        body = data
        return risk_category_admin_out(
            await services.risk_admin.add_risk_category(caller_of(request).user, body.name)
        )
