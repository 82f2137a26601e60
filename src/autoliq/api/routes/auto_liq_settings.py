"""/v1/userAccountAutoLiq: accounts' post-trade risk settings (id = account id)."""

from __future__ import annotations

import re
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from autoliq.api.params import ERROR_RESPONSES, IdListParam, IdParam, MasterIdParam, parse_ids
from autoliq.api.schemas.auto_liq_settings import (
    UpdateUserAutoLiqBody,
    UpdateUserAutoLiqItemOut,
    UpdateUserAutoLiqResponseOut,
    UpdateUserAutoLiqsBody,
    UpdateUserAutoLiqsResponseOut,
    UserAccountAutoLiqIO,
    permissioned_out,
    settings_in,
    settings_out,
)
from autoliq.api.security import caller_of
from autoliq.container import Services
from autoliq.domain.errors import BadRequest, Unauthorized
from autoliq.domain.post_trade import TEXT_ACCESS_DENIED
from autoliq.service.auto_liq_settings import Mode, SettingsChange

Req = Request[Any, Any, Any]
TEXT_BAD_ID = "id: should be the account's id, greater than 0"
TEXT_BAD_ACCOUNT_ID = "Account Id should be greater than 0"


_VALUE_TEXT = re.compile(r"([a-z][A-Za-z]*) (should .*)")


def field_text(text: str) -> str:
    """A refusal of `create`/`update` as a 400's `<field>: <what is wrong>`. The texts are the ones
    `updateuserautoliqs` answers in a 200's `errorText` (`dailyLossAutoLiq should be a number greater
    than or equal to 0`): a value's names its field; any other is about the account `id` names
    (settings exist already)."""
    value = _VALUE_TEXT.fullmatch(text)
    return f"{value.group(1)}: {value.group(2)}" if value is not None else f"id: {text}"


def _change(body: UpdateUserAutoLiqBody) -> SettingsChange | str:
    if body.accountId is None or body.accountId <= 0:
        return TEXT_BAD_ACCOUNT_ID
    return SettingsChange(settings_in(body, body.accountId), as_owner=bool(body.asOwner))


class UserAccountAutoLiqController(Controller):
    """Post-trade risk settings: reads scoped like every entity; changes by organization admins, and
    by the account's owner while they are not `changesLocked`. Business errors are HTTP 200 with
    `errorText`; accounts the caller cannot see are 404."""

    path = "/v1/userAccountAutoLiq"
    tags = ["userAccountAutoLiq"]  # noqa: RUF012

    async def _entity(
        self, request: Req, body: UserAccountAutoLiqIO, services: Services, mode: Mode
    ) -> UserAccountAutoLiqIO:
        # Tradovate's entity has no errorText: a refusal here is an HTTP error (400, or 401 for
        # "Access is denied"), never a 200 with a field the entity does not declare.
        if body.id is None or body.id <= 0:
            raise BadRequest(TEXT_BAD_ID)
        result = await services.auto_liq.change(
            caller_of(request).user, [SettingsChange(settings_in(body, body.id))], mode
        )
        if result == TEXT_ACCESS_DENIED:
            raise Unauthorized()
        if isinstance(result, str):
            raise BadRequest(field_text(result))
        return settings_out(result[0])

    @post("/create", status_code=200, responses=ERROR_RESPONSES)
    async def create(
        self, request: Req, data: JSONBody[UserAccountAutoLiqIO], services: NamedDependency[Services]
    ) -> UserAccountAutoLiqIO:
        """Create an account's settings (`id` = account id); an account has at most one set. Refusals are
        400 (invalid value, already created) or 401 (`Access is denied`: changesLocked, or not permitted)."""
        return await self._entity(request, data, services, Mode.CREATE)

    @post("/update", status_code=200, responses=ERROR_RESPONSES)
    async def update(
        self, request: Req, data: JSONBody[UserAccountAutoLiqIO], services: NamedDependency[Services]
    ) -> UserAccountAutoLiqIO:
        """Replace an account's settings (an omitted limit is switched off); 404 when it has none."""
        return await self._entity(request, data, services, Mode.UPDATE)

    @post("/updateuserautoliq", status_code=200, responses=ERROR_RESPONSES)
    async def update_user_auto_liq(
        self, request: Req, data: JSONBody[UpdateUserAutoLiqBody], services: NamedDependency[Services]
    ) -> UpdateUserAutoLiqResponseOut:
        """Set an account's settings, creating them if needed; `asOwner`: with the owner's rights."""
        change = _change(data)
        if isinstance(change, str):
            return UpdateUserAutoLiqResponseOut(errorText=change)
        result = await services.auto_liq.change(caller_of(request).user, [change], Mode.UPSERT)
        if isinstance(result, str):
            return UpdateUserAutoLiqResponseOut(errorText=result)
        return UpdateUserAutoLiqResponseOut(
            userAccountAutoLiq=settings_out(result[0]), permissionedAccountAutoLiq=permissioned_out(result[0])
        )

    @post("/updateuserautoliqs", status_code=200, responses=ERROR_RESPONSES)
    async def update_user_auto_liqs(
        self, request: Req, data: JSONBody[UpdateUserAutoLiqsBody], services: NamedDependency[Services]
    ) -> UpdateUserAutoLiqsResponseOut:
        """updateuserautoliq for many accounts (at most 10,000), all or nothing."""
        body = data
        changes: list[SettingsChange] = []
        for item in body.items:
            change = _change(item)
            if isinstance(change, str):
                return UpdateUserAutoLiqsResponseOut(userAutoLiqs=[], errorText=change)
            changes.append(change)
        result = await services.auto_liq.change(caller_of(request).user, changes, Mode.UPSERT)
        if isinstance(result, str):
            return UpdateUserAutoLiqsResponseOut(userAutoLiqs=[], errorText=result)
        return UpdateUserAutoLiqsResponseOut(
            userAutoLiqs=[UpdateUserAutoLiqItemOut(settings_out(s), permissioned_out(s)) for s in result]
        )

    @get("/list", responses=ERROR_RESPONSES)
    async def list_(self, request: Req, services: NamedDependency[Services]) -> list[UserAccountAutoLiqIO]:
        """Every visible account's settings (accounts without settings are left out)."""
        return [settings_out(s) for s in await services.auto_liq.visible(caller_of(request).user)]

    @get("/item", responses=ERROR_RESPONSES)
    async def item(
        self, request: Req, services: NamedDependency[Services], id: IdParam
    ) -> UserAccountAutoLiqIO:
        """One account's settings by id (= account id)."""
        return settings_out(await services.auto_liq.one(caller_of(request).user, id))

    @get("/items", responses=ERROR_RESPONSES)
    async def items(
        self, request: Req, services: NamedDependency[Services], ids: IdListParam
    ) -> list[UserAccountAutoLiqIO]:
        """Settings by ids; unknown or invisible ids are left out."""
        found = await services.auto_liq.visible(caller_of(request).user, parse_ids("ids", ids))
        return [settings_out(s) for s in found]

    @get("/deps", responses=ERROR_RESPONSES)
    async def deps(
        self, request: Req, services: NamedDependency[Services], masterid: MasterIdParam
    ) -> list[UserAccountAutoLiqIO]:
        """Account `masterid`'s settings (none or one)."""
        return [settings_out(s) for s in await services.auto_liq.visible(caller_of(request).user, [masterid])]

    @get("/ldeps", responses=ERROR_RESPONSES)
    async def ldeps(
        self, request: Req, services: NamedDependency[Services], masterids: IdListParam
    ) -> list[UserAccountAutoLiqIO]:
        """The settings of accounts `masterids`."""
        found = await services.auto_liq.visible(caller_of(request).user, parse_ids("masterids", masterids))
        return [settings_out(s) for s in found]
