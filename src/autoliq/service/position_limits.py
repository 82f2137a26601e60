"""`userAccountPositionLimit` and `userAccountRiskParameter`: reading and changing an account's
pre-trade limit rows (the rules are `domain/position_limits.py`).

Reads are scoped like every entity (an organization's admin sees its accounts' rows, a trader its
own accounts'). Changes are an organization admin's, for its accounts: a trader gets "Access is
denied", an account or row the caller cannot see is 404, as everywhere. Each change is one
transaction that writes the row, a `limit_log` row (who, when, the row as written) and, after the
commit, a `props` event (`Created`, `Updated`, `Deleted`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, replace
from typing import Any

from autoliq.domain.errors import BadRequest, NotFound, Unauthorized
from autoliq.domain.events import TradingEntityChanged
from autoliq.domain.gate import TEXT_ACCESS_DENIED
from autoliq.domain.model import User
from autoliq.domain.position_limits import (
    MAX_ROWS_PER_ACCOUNT,
    PositionLimit,
    RiskParameter,
    limit_problem,
    parameter_problem,
)
from autoliq.service.accounts import AccountDirectory
from autoliq.service.clock import Clock
from autoliq.service.ports import Store, UnitOfWork

POSITION_LIMIT = "userAccountPositionLimit"
RISK_PARAMETER = "userAccountRiskParameter"
TEXT_TOO_MANY_LIMITS = f"accountId: an account may have at most {MAX_ROWS_PER_ACCOUNT} position limits"
TEXT_TOO_MANY_PARAMETERS = (
    f"userAccountPositionLimitId: a position limit may have at most {MAX_ROWS_PER_ACCOUNT} risk parameters"
)
TEXT_ACCOUNT_CHANGED = "accountId: cannot change: delete the position limit and create another"
TEXT_LIMIT_CHANGED = "userAccountPositionLimitId: cannot change: delete the risk parameter and create another"
TEXT_LIMIT_NOT_FOUND = "Position limit not found"
TEXT_PARAMETER_NOT_FOUND = "Risk parameter not found"


def _logged(entity: Any) -> str:
    """A row as the log keeps it: its fields as JSON (enums as their values)."""
    return json.dumps(asdict(entity), default=str, sort_keys=True, separators=(",", ":"))


class PositionLimitService:
    """The limit rows' reads and changes."""

    def __init__(self, uow: UnitOfWork, clock: Clock, accounts: AccountDirectory) -> None:
        self._uow = uow
        self._clock = clock
        self._accounts = accounts

    # -- reads --
    async def limits(
        self, caller: User, *, ids: Sequence[int] | None = None, account_ids: Sequence[int] | None = None
    ) -> list[PositionLimit]:
        """The rows the caller may see: of `ids`, of accounts `account_ids`, or (neither) all."""
        owner = None if caller.is_admin else caller.id
        return await self._uow.read(
            lambda s: s.position_limits(
                caller.organization_id, owner_id=owner, ids=ids, account_ids=account_ids
            )
        )

    async def parameters(
        self, caller: User, *, ids: Sequence[int] | None = None, limit_ids: Sequence[int] | None = None
    ) -> list[RiskParameter]:
        """The risk parameters the caller may see: of `ids`, under rows `limit_ids`, or all."""
        owner = None if caller.is_admin else caller.id
        return await self._uow.read(
            lambda s: s.risk_parameters(caller.organization_id, owner_id=owner, ids=ids, limit_ids=limit_ids)
        )

    async def _writable_account(self, caller: User, account_id: int) -> None:
        """NotFound when the caller cannot see the account; Unauthorized when it may not write."""
        if await self._accounts.visible(caller, account_id) is None:
            raise NotFound()
        if not caller.is_admin:
            raise Unauthorized(TEXT_ACCESS_DENIED)

    # -- position limits --
    async def save_limit(self, caller: User, limit: PositionLimit, *, create: bool) -> PositionLimit:
        """Create (`create`: the id is ignored) or replace a row; BadRequest names what is wrong."""
        problem = limit_problem(limit)
        if problem is not None:
            raise BadRequest(problem)
        await self._writable_account(caller, limit.account_id)
        clock = self._clock

        def work(store: Store) -> PositionLimit:
            now = clock.now()
            if create:
                if store.count_position_limits(limit.account_id) >= MAX_ROWS_PER_ACCOUNT:
                    raise BadRequest(TEXT_TOO_MANY_LIMITS)
                saved = store.save_position_limit(replace(limit, id=0), now)
                change = "Created"
            else:
                found = store.position_limits(caller.organization_id, ids=[limit.id])
                if not found:
                    raise NotFound()
                if found[0].account_id != limit.account_id:
                    raise BadRequest(TEXT_ACCOUNT_CHANGED)
                saved = store.save_position_limit(limit, now)
                change = "Updated"
            store.append_limit_log(
                saved.account_id, now, POSITION_LIMIT, saved.id, change, caller.id, _logged(saved)
            )
            store.emit(TradingEntityChanged(POSITION_LIMIT, change, saved.account_id, saved.id))
            return saved

        return await self._uow.write(work, accounts=(limit.account_id,))

    async def delete_limit(self, caller: User, limit_id: int) -> str | None:
        """Delete a row and its risk parameters; the errorText of a refusal, or None."""
        found = await self.limits(caller, ids=[limit_id]) if limit_id > 0 else []
        if not found:
            return TEXT_LIMIT_NOT_FOUND
        if not caller.is_admin:
            return TEXT_ACCESS_DENIED
        account_id = found[0].account_id
        clock = self._clock

        def work(store: Store) -> str | None:
            if not store.position_limits(caller.organization_id, ids=[limit_id]):
                return TEXT_LIMIT_NOT_FOUND
            now = clock.now()
            for parameter_id in store.delete_position_limit(limit_id):
                store.append_limit_log(
                    account_id, now, RISK_PARAMETER, parameter_id, "Deleted", caller.id, None
                )
                store.emit(TradingEntityChanged(RISK_PARAMETER, "Deleted", account_id, parameter_id))
            store.append_limit_log(account_id, now, POSITION_LIMIT, limit_id, "Deleted", caller.id, None)
            store.emit(TradingEntityChanged(POSITION_LIMIT, "Deleted", account_id, limit_id))
            return None

        return await self._uow.write(work, accounts=(account_id,))

    # -- risk parameters --
    async def save_parameter(self, caller: User, parameter: RiskParameter, *, create: bool) -> RiskParameter:
        """Create (the id is ignored) or replace a risk parameter under its position limit."""
        problem = parameter_problem(parameter)
        if problem is not None:
            raise BadRequest(problem)
        parents = await self.limits(caller, ids=[parameter.position_limit_id])
        if not parents:
            raise NotFound()
        account_id = parents[0].account_id
        await self._writable_account(caller, account_id)
        clock = self._clock

        def work(store: Store) -> RiskParameter:
            now = clock.now()
            if not store.position_limits(caller.organization_id, ids=[parameter.position_limit_id]):
                raise NotFound()
            if create:
                if store.count_risk_parameters(parameter.position_limit_id) >= MAX_ROWS_PER_ACCOUNT:
                    raise BadRequest(TEXT_TOO_MANY_PARAMETERS)
                saved = store.save_risk_parameter(replace(parameter, id=0), account_id, now)
                change = "Created"
            else:
                found = store.risk_parameters(caller.organization_id, ids=[parameter.id])
                if not found:
                    raise NotFound()
                if found[0].position_limit_id != parameter.position_limit_id:
                    raise BadRequest(TEXT_LIMIT_CHANGED)
                saved = store.save_risk_parameter(parameter, account_id, now)
                change = "Updated"
            store.append_limit_log(
                account_id, now, RISK_PARAMETER, saved.id, change, caller.id, _logged(saved)
            )
            store.emit(TradingEntityChanged(RISK_PARAMETER, change, account_id, saved.id))
            return saved

        return await self._uow.write(work, accounts=(account_id,))

    async def delete_parameter(self, caller: User, parameter_id: int) -> str | None:
        """Delete a risk parameter; the errorText of a refusal, or None."""
        found = await self.parameters(caller, ids=[parameter_id]) if parameter_id > 0 else []
        if not found:
            return TEXT_PARAMETER_NOT_FOUND
        if not caller.is_admin:
            return TEXT_ACCESS_DENIED
        parents = await self.limits(caller, ids=[found[0].position_limit_id])
        if not parents:
            return TEXT_PARAMETER_NOT_FOUND
        account_id = parents[0].account_id
        clock = self._clock

        def work(store: Store) -> str | None:
            if not store.risk_parameters(caller.organization_id, ids=[parameter_id]):
                return TEXT_PARAMETER_NOT_FOUND
            now = clock.now()
            store.delete_risk_parameter(parameter_id)
            store.append_limit_log(account_id, now, RISK_PARAMETER, parameter_id, "Deleted", caller.id, None)
            store.emit(TradingEntityChanged(RISK_PARAMETER, "Deleted", account_id, parameter_id))
            return None

        return await self._uow.write(work, accounts=(account_id,))
