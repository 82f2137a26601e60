"""/v1/accountRiskStatus, /v1/accountRiskStatusLog and the bulk setadminautoliqaction (/_autoliq/bulk)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from autoliq.api.asgi_post import asgi_post, declaration_only
from autoliq.api.errors import error_answer
from autoliq.api.params import ERROR_RESPONSES, IdListParam, IdParam, MasterIdParam, parse_ids
from autoliq.api.schemas.risk import (
    AccountRiskStatusLogOut,
    AccountRiskStatusOut,
    AccountRiskStatusResponse,
    BulkAccountResult,
    OrganizationAdminUnlockAccountBody,
    ResetAutoLiqStatusBody,
    SetAdminAutoLiqActionBody,
    SetAdminAutoLiqActionsBody,
    SetAdminAutoLiqActionsResponse,
    UpdateMaxNetLiqBody,
    log_entry_out,
    risk_status_out,
)
from autoliq.api.security import caller_of
from autoliq.container import Services
from autoliq.domain.errors import BadRequest
from autoliq.domain.model import RiskStatus, User
from autoliq.domain.rules import EnvironmentDenied, Rejection
from autoliq.telemetry.metrics import count_admin_action


class RiskStatusController(Controller):
    """The account risk status: the admin action and its reads."""

    path = "/v1/accountRiskStatus"
    tags = ["accountRiskStatus"]  # noqa: RUF012

    @post("/updatemaxnetliq", status_code=200, responses=ERROR_RESPONSES)
    async def update_max_net_liq(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[UpdateMaxNetLiqBody],
        services: NamedDependency[Services],
    ) -> AccountRiskStatusResponse:
        """Set an account's `maxNetLiq` (the trailing drawdown's high-water mark; organization admins);
        `minNetLiq` follows from its `trailingMaxDrawdown` and limit."""
        body = data
        result = await services.risk.update_max_net_liq(
            caller_of(request).user, body.accountId, body.maxNetLiq
        )
        return _status_response(result)

    @post("/resetautoliqstatus", status_code=200, responses=ERROR_RESPONSES)
    async def reset_auto_liq_status(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[ResetAutoLiqStatusBody],
        services: NamedDependency[Services],
    ) -> AccountRiskStatusResponse:
        """Clear the auto-liq layer a post-trade rule set (organization admins); the admin action stays."""
        body = data
        result = await services.risk.reset_auto_liq_status(caller_of(request).user, body.accountId)
        return _status_response(result)

    @post("/organizationadminunlockaccount", status_code=200, responses=ERROR_RESPONSES)
    async def organization_admin_unlock_account(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[OrganizationAdminUnlockAccountBody],
        services: NamedDependency[Services],
    ) -> AccountRiskStatusResponse:
        """Unlock an account (organization admins): the auto-liq layer cleared, and an admin lock,
        liquidation or liquidate-only mode returned to `Normal`."""
        body = data
        result = await services.risk.admin_unlock_account(
            caller_of(request).user, body.accountId, body.reason
        )
        return _status_response(result)

    @get("/list", responses=ERROR_RESPONSES)
    async def list_(
        self, request: Request[Any, Any, Any], services: NamedDependency[Services]
    ) -> list[AccountRiskStatusOut]:
        """Every visible account's risk status."""
        return [risk_status_out(s) for s in await services.views.risk_statuses(caller_of(request).user)]

    @get("/item", responses=ERROR_RESPONSES)
    async def item(
        self, request: Request[Any, Any, Any], services: NamedDependency[Services], id: IdParam
    ) -> AccountRiskStatusOut:
        """One risk status by id (= account id)."""
        return risk_status_out(await services.views.risk_status(caller_of(request).user, id))

    @get("/items", responses=ERROR_RESPONSES)
    async def items(
        self, request: Request[Any, Any, Any], services: NamedDependency[Services], ids: IdListParam
    ) -> list[AccountRiskStatusOut]:
        """Risk statuses by ids; unknown or invisible ids are left out."""
        found = await services.views.risk_statuses(caller_of(request).user, parse_ids("ids", ids))
        return [risk_status_out(s) for s in found]

    @get("/deps", responses=ERROR_RESPONSES)
    async def deps(
        self, request: Request[Any, Any, Any], services: NamedDependency[Services], masterid: MasterIdParam
    ) -> list[AccountRiskStatusOut]:
        """The risk status of account `masterid` (master = account)."""
        return [
            risk_status_out(s)
            for s in await services.views.risk_statuses(caller_of(request).user, [masterid])
        ]

    @get("/ldeps", responses=ERROR_RESPONSES)
    async def ldeps(
        self, request: Request[Any, Any, Any], services: NamedDependency[Services], masterids: IdListParam
    ) -> list[AccountRiskStatusOut]:
        """The risk statuses of accounts `masterids`."""
        found = await services.views.risk_statuses(caller_of(request).user, parse_ids("masterids", masterids))
        return [risk_status_out(s) for s in found]


class RiskStatusLogController(Controller):
    """The append-only history of risk status changes (master = account)."""

    path = "/v1/accountRiskStatusLog"
    tags = ["accountRiskStatusLog"]  # noqa: RUF012

    @get("/list", responses=ERROR_RESPONSES)
    async def list_(
        self, request: Request[Any, Any, Any], services: NamedDependency[Services]
    ) -> list[AccountRiskStatusLogOut]:
        """Every visible log row, oldest first."""
        return [log_entry_out(e) for e in await services.views.log_entries(caller_of(request).user)]

    @get("/item", responses=ERROR_RESPONSES)
    async def item(
        self, request: Request[Any, Any, Any], services: NamedDependency[Services], id: IdParam
    ) -> AccountRiskStatusLogOut:
        """One log row by its id."""
        return log_entry_out(await services.views.log_entry(caller_of(request).user, id))

    @get("/items", responses=ERROR_RESPONSES)
    async def items(
        self, request: Request[Any, Any, Any], services: NamedDependency[Services], ids: IdListParam
    ) -> list[AccountRiskStatusLogOut]:
        """Log rows by ids; unknown or invisible ids are left out."""
        found = await services.views.log_entries(caller_of(request).user, ids=parse_ids("ids", ids))
        return [log_entry_out(e) for e in found]

    @get("/deps", responses=ERROR_RESPONSES)
    async def deps(
        self, request: Request[Any, Any, Any], services: NamedDependency[Services], masterid: MasterIdParam
    ) -> list[AccountRiskStatusLogOut]:
        """Account `masterid`'s log rows, oldest first."""
        found = await services.views.log_entries(caller_of(request).user, account_ids=[masterid])
        return [log_entry_out(e) for e in found]

    @get("/ldeps", responses=ERROR_RESPONSES)
    async def ldeps(
        self, request: Request[Any, Any, Any], services: NamedDependency[Services], masterids: IdListParam
    ) -> list[AccountRiskStatusLogOut]:
        """The log rows of accounts `masterids`, oldest first."""
        found = await services.views.log_entries(
            caller_of(request).user, account_ids=parse_ids("masterids", masterids)
        )
        return [log_entry_out(e) for e in found]


def _status_response(result: RiskStatus | Rejection) -> AccountRiskStatusResponse:
    if isinstance(result, Rejection):
        return AccountRiskStatusResponse(errorText=result.error_text)
    return AccountRiskStatusResponse(accountRiskStatus=risk_status_out(result))


async def set_admin_action(
    services: Services, caller: User, body: SetAdminAutoLiqActionBody
) -> tuple[int, AccountRiskStatusResponse]:
    """setadminautoliqaction after the guard and the body's decoding: (HTTP status, answer). Raises
    NotFound (404) and Unauthorized (401) for the app's error table."""
    result = await services.risk.set_admin_auto_liq_action(
        caller, body.accountId, body.adminAction, body.adminActionReasonCode, body.adminActionReason
    )
    return admin_action_answer(result)


def admin_action_answer(
    result: RiskStatus | Rejection | EnvironmentDenied,
) -> tuple[int, AccountRiskStatusResponse]:
    """What setadminautoliqaction answers for one account's result: (HTTP status, answer); a change
    is counted in the metrics."""
    if isinstance(result, Rejection):
        return 200, AccountRiskStatusResponse(errorText=result.error_text)
    if isinstance(result, EnvironmentDenied):
        return result.http_status, AccountRiskStatusResponse(errorText=result.error_text)
    count_admin_action(result.admin_action.value)
    return 200, AccountRiskStatusResponse(accountRiskStatus=risk_status_out(result))


BULK_SET_ADMIN_ACTION_PATH = "/_autoliq/bulk/setadminautoliqaction"


class BulkController(Controller):
    """autoliq's bulk forms of Tradovate's writes (not on Tradovate's hosts)."""

    path = "/_autoliq/bulk"
    tags = ["autoliq"]  # noqa: RUF012

    @post("/setadminautoliqaction", status_code=200, responses=ERROR_RESPONSES)
    async def set_admin_auto_liq_actions(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[SetAdminAutoLiqActionsBody],
        services: NamedDependency[Services],
    ) -> SetAdminAutoLiqActionsResponse:
        """setadminautoliqaction for up to 10,000 distinct accounts (`accountIds`) in one request:
        each account gets the single route's checks, in its order, and its change (status, log row,
        events) exactly as the single route makes it. `results` answers each account in the
        request's order: `httpStatus` is what the single route would have answered for it, with its
        `errorText` or `accountRiskStatus`. 400 for a missing, empty or too long `accountIds`, or an
        id given twice."""
        body = data
        seen: set[int] = set()
        for account_id in body.accountIds:
            if account_id in seen:
                raise BadRequest(f"accountIds: {account_id} is given more than once")
            seen.add(account_id)
        outcomes = await services.risk.set_admin_auto_liq_actions(
            caller_of(request).user,
            body.accountIds,
            body.adminAction,
            body.adminActionReasonCode,
            body.adminActionReason,
        )
        results = []
        for account_id, outcome in zip(body.accountIds, outcomes, strict=True):
            if isinstance(outcome, Exception):
                error = error_answer(outcome, "POST", BULK_SET_ADMIN_ACTION_PATH)
                results.append(BulkAccountResult(account_id, error.status, errorText=error.text))
            else:
                status, answer = admin_action_answer(outcome)
                results.append(
                    BulkAccountResult(
                        account_id,
                        status,
                        errorText=answer.errorText,
                        accountRiskStatus=answer.accountRiskStatus,
                    )
                )
        return SetAdminAutoLiqActionsResponse(results)


@post(
    "/v1/accountRiskStatus/setadminautoliqaction",
    status_code=200,
    responses=ERROR_RESPONSES,
    tags=["accountRiskStatus"],
)
async def set_admin_auto_liq_action(
    data: JSONBody[SetAdminAutoLiqActionBody],
) -> Response[AccountRiskStatusResponse]:
    """Set an account's admin auto-liquidation action (organization administrators, Demo)."""
    declaration_only("/v1/accountRiskStatus/setadminautoliqaction")


SET_ADMIN_ACTION = asgi_post(
    "/v1/accountRiskStatus/setadminautoliqaction",
    SetAdminAutoLiqActionBody,
    set_admin_action,
    set_admin_auto_liq_action,
)
"""The product's hot path (bulk lock/unlock runs hit it thousands of times a second)."""
