"""An account's risk status: setadminautoliqaction, updatemaxnetliq, resetautoliqstatus and
organizationadminunlockaccount, with PRODUCT.md's order of checks."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import Any, Generic, TypeAlias, TypeVar, cast, overload

from autoliq.domain.errors import NotFound, Unauthorized
from autoliq.domain.events import RiskStatusChanged
from autoliq.domain.gate import ADMIN_PERMISSIONS, Permission
from autoliq.domain.instruments import ContractSpec
from autoliq.domain.model import Account, RiskStatus, User
from autoliq.domain.post_trade import TEXT_MAX_NET_LIQ, trailing_floor
from autoliq.domain.rules import (
    ACCOUNT_ID_POSITIVE,
    MAX_REASON_LENGTH,
    REASON_TOO_LONG,
    EnvironmentDenied,
    Rejection,
    SetAdminAction,
    check_environment,
    validate_set_admin_action,
)
from autoliq.domain.states import Actor, AdminAction, Environment
from autoliq.domain.timers import EXPIRING_ACTIONS, HOLD, TimerKind
from autoliq.service import risk_engine
from autoliq.service.accounts import AccountDirectory
from autoliq.service.clock import Clock
from autoliq.service.ports import AccountEngine, RiskStatusStore, Store, UnitOfWorkOf
from autoliq.telemetry.metrics import count_liquidation

S = TypeVar("S", bound=RiskStatusStore)

AdminActionResult: TypeAlias = RiskStatus | Rejection | EnvironmentDenied
"""What setadminautoliqaction answers for an account it checked (a change, or a refusal)."""
AdminActionOutcome: TypeAlias = AdminActionResult | Exception
"""An account's outcome in a bulk call: its result, or what the single call would have raised."""


class StoreEngine:
    """The risk engine over the whole `Store`: what production runs (`service/risk_engine.py`,
    `service/execution.py`)."""

    def evaluate(self, store: Store, account_id: int, now: datetime, *, act: bool = True) -> None:
        risk_engine.evaluate_account(store, account_id, now, act=act)

    def liquidate(
        self, store: Store, account_id: int, contracts: dict[int, ContractSpec], now: datetime
    ) -> None:
        risk_engine.liquidate_account(store, account_id, contracts, now)

    def clear_layer(self, store: Store, account_id: int) -> RiskStatus:
        return risk_engine.clear_layer(store, account_id)


STORE_ENGINE = StoreEngine()


class RiskService(Generic[S]):
    """setadminautoliqaction and its siblings, with PRODUCT.md's order of checks, over a unit of work
    of stores `S` and the risk engine over `S` (by default the SQL store's: `STORE_ENGINE`)."""

    @overload
    def __init__(
        self: RiskService[Store],
        uow: UnitOfWorkOf[Store],
        clock: Clock,
        environment: Environment,
        listed_contracts: Callable[[], dict[int, ContractSpec]] | None = None,
    ) -> None: ...
    @overload
    def __init__(
        self,
        uow: UnitOfWorkOf[S],
        clock: Clock,
        environment: Environment,
        listed_contracts: Callable[[], dict[int, ContractSpec]] | None = None,
        *,
        engine: AccountEngine[S],
    ) -> None: ...
    def __init__(
        self,
        uow: UnitOfWorkOf[Any],
        clock: Clock,
        environment: Environment,
        listed_contracts: Callable[[], dict[int, ContractSpec]] | None = None,
        *,
        engine: AccountEngine[Any] | None = None,
    ) -> None:
        chosen: AccountEngine[Any] = STORE_ENGINE if engine is None else engine
        self._uow: UnitOfWorkOf[S] = uow
        self._engine: AccountEngine[S] = chosen
        self._clock = clock
        self._environment = environment
        self._listed = listed_contracts or dict
        self.accounts = AccountDirectory(uow)

    async def set_admin_auto_liq_action(
        self,
        caller: User,
        account_id: int | None,
        admin_action: str | None,
        reason_code: str | None,
        reason: str | None,
    ) -> RiskStatus | Rejection | EnvironmentDenied:
        """Validate, then change the status and write its log row in one durable transaction."""
        command = self._admin_command(account_id, admin_action, reason_code, reason)
        if not isinstance(command, SetAdminAction):
            return command
        account = administered(caller, await self.accounts.get(command.account_id))
        return await self._apply_admin_action(caller, account, command)

    async def set_admin_auto_liq_actions(
        self,
        caller: User,
        account_ids: Sequence[int],
        admin_action: str | None,
        reason_code: str | None,
        reason: str | None,
    ) -> list[AdminActionOutcome]:
        """setadminautoliqaction for each of `account_ids`, answered in their order: each account gets
        the single call's checks in the single call's order (`_admin_command`, `administered`) and
        its own write (`_apply_admin_action`: status, log row and events in a durable transaction;
        the unit of work commits the writes waiting together as one batch, and a write that fails
        never takes its neighbours with it). What the single call raises for an account (NotFound,
        Unauthorized, StorageUnavailable, a defect) is that account's outcome here, as a value."""
        commands = [self._admin_command(a, admin_action, reason_code, reason) for a in account_ids]
        wanted = [c.account_id for c in commands if isinstance(c, SetAdminAction)]
        known = await self.accounts.get_many(caller.organization_id, wanted) if wanted else {}

        async def one(command: SetAdminAction | Rejection | EnvironmentDenied) -> AdminActionResult:
            if not isinstance(command, SetAdminAction):
                return command
            account = administered(caller, known.get(command.account_id))
            return await self._apply_admin_action(caller, account, command)

        outcomes = await asyncio.gather(*(one(c) for c in commands), return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException) and not isinstance(outcome, Exception):
                raise outcome  # cancelled: the request itself is gone
        return cast(list[AdminActionOutcome], outcomes)

    def _admin_command(
        self, account_id: int | None, admin_action: str | None, reason_code: str | None, reason: str | None
    ) -> SetAdminAction | Rejection | EnvironmentDenied:
        """The body's checks in order, then the server's environment."""
        command = validate_set_admin_action(account_id, admin_action, reason_code, reason)
        if isinstance(command, Rejection):
            return command
        denied = check_environment(self._environment)
        return command if denied is None else denied

    async def _apply_admin_action(
        self, caller: User, account: Account, command: SetAdminAction
    ) -> RiskStatus:
        """The change of one administered account, in one durable transaction (`apply_admin_action`)."""
        clock, engine = self._clock, self._engine
        # The liquidation engine needs the listed contracts (to close positions at their prices).
        contracts = self._listed() if command.action is AdminAction.LIQUIDATE_IMMEDIATELY else {}
        return await self._uow.write(
            lambda store: apply_admin_action(
                store, account, caller, command, clock, contracts, engine=engine
            ),
            accounts=(account.id,),
            log_rows=1,
        )

    async def _administered(self, caller: User, account_id: int) -> Account:
        """The account, for an admin of its organization (`administered`)."""
        return administered(caller, await self.accounts.get(account_id))

    async def update_max_net_liq(
        self, caller: User, account_id: int | None, max_net_liq: float | None
    ) -> RiskStatus | Rejection:
        """updatemaxnetliq: set the trailing drawdown's high-water mark (organization admins); the
        floor `minNetLiq` follows from the account's post-trade settings. Logged like every change."""
        if account_id is None or account_id <= 0:
            return Rejection(ACCOUNT_ID_POSITIVE)
        if max_net_liq is None or not math.isfinite(max_net_liq) or max_net_liq < 0:
            return Rejection(TEXT_MAX_NET_LIQ)
        account = await self._administered(caller, account_id)
        clock, engine = self._clock, self._engine

        def work(store: S) -> RiskStatus:
            now = clock.now()
            current = store.risk_status(account.id) or RiskStatus(id=account.id)
            floor = trailing_floor(max_net_liq, store.auto_liq_settings_of(account.id))
            status = replace(current, max_net_liq=max_net_liq, min_net_liq=floor)
            store.save_risk_status(status)
            entry = store.append_log(account.id, now, status, Actor.USER, caller.id, None, None)
            store.emit(RiskStatusChanged(account.organization_id, account.id, account.user_id, status, entry))
            # The floor moved: the rules (and the price triggers) are evaluated against it now.
            engine.evaluate(store, account.id, now)
            return store.risk_status(account.id) or status

        return await self._uow.write(work, accounts=(account.id,), log_rows=1)

    async def reset_auto_liq_status(self, caller: User, account_id: int | None) -> RiskStatus | Rejection:
        """resetautoliqstatus: clear the auto-liq layer a rule set (organization admins); the admin
        action is untouched. Logged like every change."""
        return await self._clear_locks(caller, account_id, None, unlock_admin=False)

    async def admin_unlock_account(
        self, caller: User, account_id: int | None, reason: str | None
    ) -> RiskStatus | Rejection:
        """organizationadminunlockaccount: clear the auto-liq layer and an admin lock, liquidation or
        liquidate-only mode (back to `Normal`); the other admin actions are kept."""
        if reason is not None and len(reason) > MAX_REASON_LENGTH:
            return Rejection(REASON_TOO_LONG)
        return await self._clear_locks(caller, account_id, reason, unlock_admin=True)

    async def _clear_locks(
        self, caller: User, account_id: int | None, reason: str | None, *, unlock_admin: bool
    ) -> RiskStatus | Rejection:
        if account_id is None or account_id <= 0:
            return Rejection(ACCOUNT_ID_POSITIVE)
        account = await self._administered(caller, account_id)
        clock, engine = self._clock, self._engine
        default_reason = "Account unlocked by an administrator" if unlock_admin else "Auto-liq status reset"

        def work(store: S) -> RiskStatus:
            now = clock.now()
            status = engine.clear_layer(store, account.id)
            if unlock_admin and ADMIN_PERMISSIONS[status.admin_action] is not Permission.ANY:
                status = status.with_admin_action(AdminAction.NORMAL, now)
                store.save_risk_status(status)
            entry = store.append_log(
                account.id, now, status, Actor.USER, caller.id, None, reason or default_reason
            )
            store.emit(RiskStatusChanged(account.organization_id, account.id, account.user_id, status, entry))
            # The rules the layer had set aside watch prices again (a rule still breached acts on
            # the account's next fill or price change, not on the reset itself).
            engine.evaluate(store, account.id, now, act=False)
            return status

        return await self._uow.write(work, accounts=(account.id,), log_rows=1)


def administered(caller: User, account: Account | None) -> Account:
    """`account` when `caller` administers it: NotFound for an unknown account or another
    organization's (ids of other firms do not leak), Unauthorized for a non-admin."""
    if account is None or account.organization_id != caller.organization_id:
        raise NotFound()
    if not caller.is_admin:
        raise Unauthorized()
    return account


def apply_admin_action(
    store: S,
    account: Account,
    caller: User,
    command: SetAdminAction,
    clock: Clock,
    contracts: dict[int, ContractSpec] | None = None,
    *,
    engine: AccountEngine[S],
) -> RiskStatus:
    """The transaction body: new status, its log row, its event, and for LiquidateImmediately the
    liquidation itself (working orders cancelled, positions closed, by `engine`), all or nothing."""
    now = clock.now()
    current = store.risk_status(account.id) or RiskStatus(id=account.id)
    status = current.with_admin_action(command.action, now)
    store.save_risk_status(status)
    if command.action is AdminAction.NORMAL and store.clear_auto_liq_layer(account.id) is not None:
        # Normal clears both layers: the auto-liq layer's lock goes with the admin's, and the rules
        # it had set aside watch prices again.
        engine.evaluate(store, account.id, now, act=False)
    if command.action is AdminAction.LIQUIDATE_IMMEDIATELY:
        # After the status: the engine's admin orders pass the gate of a liquidating account.
        engine.liquidate(store, account.id, contracts or {}, now)
        store.after_commit(partial(count_liquidation, "admin"))
    if command.action in EXPIRING_ACTIONS:
        # Back to Normal 60 s later, by the scheduler (the timer is stored with the change).
        store.add_timer(
            account.id, TimerKind.ADMIN_ACTION_EXPIRY, now + HOLD, admin_action=command.action, set_at=now
        )
    entry = store.append_log(
        account.id, now, status, Actor.USER, caller.id, command.reason_code, command.reason
    )
    store.emit(RiskStatusChanged(account.organization_id, account.id, account.user_id, status, entry))
    return status
