"""Command handlers: authentication and setadminautoliqaction, as plain functions over ports."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial

from autoliq.domain.errors import NotFound, Unauthorized
from autoliq.domain.events import Event, RiskStatusChanged, SessionsClosed
from autoliq.domain.gate import ADMIN_PERMISSIONS, Permission, may_trade
from autoliq.domain.instruments import ContractSpec
from autoliq.domain.login_throttle import LoginThrottle
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
from autoliq.domain.sandbox import PenaltyTicket
from autoliq.domain.states import Actor, AdminAction, Environment
from autoliq.domain.timers import EXPIRING_ACTIONS, HOLD, TimerKind
from autoliq.service import risk_engine
from autoliq.service.clock import Clock
from autoliq.service.credentials import (
    dummy_hash,
    hash_password,
    md_token_of,
    needs_rehash,
    new_token,
    token_hash,
    verify_password,
)
from autoliq.service.hashing import HashingPool
from autoliq.service.ports import AuthSession, Store, UnitOfWork
from autoliq.telemetry.metrics import count_liquidation

INCORRECT_CREDENTIALS = "Incorrect username or password. Please try again."
MAX_LIVE_SESSIONS = 2
REFUSAL_DELAY = 1.0
"""Seconds a login refused with a penalty ticket waits before its answer (see `_refused`)."""


# -- AUTHENTICATION --


@dataclass(frozen=True, slots=True)
class AccessGranted:
    """A token issued or renewed, with its market-data token (`mdAccessToken`)."""

    token: str
    expires: datetime
    user: User
    md_token: str


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated user behind a request, and its session."""

    user: User
    session: AuthSession
    token_hash: str


class AuthService:
    """Issues, renews and checks access tokens; at most two live sessions per user. Failed logins
    earn penalty tickets (domain/login_throttle.py); passwords are hashed on their own pool."""

    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        token_lifetime: timedelta,
        *,
        throttle: LoginThrottle | None = None,
        hashing: HashingPool | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        refusal_delay: float = REFUSAL_DELAY,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._lifetime = token_lifetime
        self.throttle = throttle or LoginThrottle()
        self.hashing = hashing or HashingPool()
        self._monotonic = monotonic
        self.refusal_delay = refusal_delay
        """Seconds a refused login waits before its answer (see `_refused`)."""
        # token hash -> (session, user); a session closed here is evicted at once. mdAccessTokens'
        # hashes have their own map: they authorize sockets, never REST (`authenticate`).
        self._cache: dict[str, tuple[AuthSession, User]] = {}
        self._md_cache: dict[str, tuple[AuthSession, User]] = {}

    async def request_access_token(
        self, name: str, password: str, *, address: str = "unknown", ticket: str | None = None
    ) -> AccessGranted | Rejection | PenaltyTicket:
        """Check the credentials and open a session (closing the oldest beyond two); a penalty
        ticket, unchecked, when the name or the client `address` has failed too often and `ticket`
        is not a valid one, or when the hashing pool is full."""
        throttle = self.throttle
        penalty = throttle.admit(name, address, ticket, self._monotonic())
        if penalty is not None:
            return await self._refused(penalty)
        try:
            found = await self._uow.read(lambda store: store.user_by_name(name))
            # The slow hash runs on its own pool, and for unknown users too (no timing oracle).
            ok = await self.hashing.run(_check_password, password, found[1] if found else None)
        except BaseException:
            throttle.abandoned(name, address)  # not decided: no longer counted as in flight
            raise
        if ok is None:
            return await self._refused(throttle.busy(name, address, self._monotonic()))
        if found is None or not ok:
            throttle.failed(name, address, self._monotonic())
            return Rejection(INCORRECT_CREDENTIALS)
        throttle.succeeded(name, address)
        user, stored_hash = found
        token = new_token()
        hashed = token_hash(token)
        md_token = md_token_of(token)
        md_hashed = token_hash(md_token)
        # A legacy (scrypt) or weaker hash is replaced now that the password is known; when the
        # pool is full it waits for the next login.
        rehashed = await self.hashing.run(hash_password, password) if needs_rehash(stored_hash) else None

        def open_session(store: Store) -> tuple[AuthSession, list[int]]:
            now = self._clock.now()
            if rehashed is not None:
                store.replace_password_hash(user.id, stored_hash, rehashed)
            live = store.live_sessions(user.id, now)
            closed: list[int] = []
            # Oldest first: keep at most MAX_LIVE_SESSIONS including the new one.
            for old in live[: max(0, len(live) - (MAX_LIVE_SESSIONS - 1))]:
                store.close_session(old.id, now)
                closed.append(old.id)
            if closed:
                store.emit(SessionsClosed(tuple(closed)))
            return store.open_session(user.id, hashed, now, now + self._lifetime, md_hashed), closed

        session, closed = await self._uow.write(open_session)
        self._evict_sessions(set(closed))  # here at once; the other workers by the event
        self._cache[hashed] = (session, user)
        return AccessGranted(token, session.expires, user, md_token)

    async def _refused(self, ticket: PenaltyTicket) -> PenaltyTicket:
        """The ticket, answered after a pause (at most its p-time, which the client must wait anyway):
        a script that does not wait gets its refusals at that pace instead of as fast as the event
        loop can answer them, which would starve every other request. The pause is a timer: it
        holds no thread and no hash."""
        delay = min(self.refusal_delay, float(ticket.p_time))
        if delay > 0:
            await asyncio.sleep(delay)
        return ticket

    async def authenticate(self, token: str | None, *, market_data: bool = False) -> Caller:
        """The caller behind a bearer token; raises Unauthorized for missing, unknown or expired ones.
        With `market_data` (a WebSocket's `authorize`), the session's mdAccessToken is accepted too;
        REST takes only the access token."""
        if not token:
            raise Unauthorized()
        hashed = token_hash(token)
        now = self._clock.now()
        caches = (self._cache, self._md_cache) if market_data else (self._cache,)
        for cache in caches:
            cached = cache.get(hashed)
            if cached is not None:
                break
        else:
            # An access token's hash or (with `market_data`) an mdAccessToken's: one read either way.
            cached = await self._uow.read(lambda store: _load_session(store, hashed, now, market_data))
            if cached is None:
                raise Unauthorized()
            cache[hashed] = cached
        session, user = cached
        if session.expires <= now:
            # Expired as this process knew it; another worker may have renewed it: ask the database.
            cache.pop(hashed, None)
            fresh = await self._uow.read(lambda store: _load_session(store, hashed, now, market_data))
            if fresh is None:
                raise Unauthorized()
            cache[hashed] = fresh
            session, user = fresh
        return Caller(user, session, hashed)

    async def renew_access_token(self, token: str | None) -> AccessGranted:
        """Extend the caller's session, its mdAccessToken with it; no new session is opened."""
        caller = await self.authenticate(token)
        assert token is not None
        md_token = md_token_of(token)
        md_hashed = token_hash(md_token)

        def extend(store: Store) -> datetime:
            expires = self._clock.now() + self._lifetime
            store.extend_session(caller.session.id, expires, md_hashed)
            return expires

        expires = await self._uow.write(extend)
        renewed = AuthSession(caller.session.id, caller.user.id, expires)
        self._cache[caller.token_hash] = (renewed, caller.user)
        self._md_cache[md_hashed] = (renewed, caller.user)
        return AccessGranted(token, expires, caller.user, md_token)

    def on_events(self, events: Sequence[Event]) -> None:
        """Publisher listener: sessions closed by any worker leave this process's token cache."""
        for event in events:
            if isinstance(event, SessionsClosed):
                self._evict_sessions(set(event.session_ids))

    def _evict_sessions(self, session_ids: set[int]) -> None:
        if not session_ids:
            return
        for cache in (self._cache, self._md_cache):
            for key, (session, _user) in list(cache.items()):
                if session.id in session_ids:
                    del cache[key]


def _check_password(password: str, stored_hash: str | None) -> bool:
    """On the hashing pool: the password against the stored hash, or against a dummy hash of the
    same cost when the user does not exist (its first computation also happens off the loop)."""
    return verify_password(password, stored_hash if stored_hash is not None else dummy_hash())


def _load_session(
    store: Store, hashed: str, now: datetime, market_data: bool
) -> tuple[AuthSession, User] | None:
    session = store.session_by_token_hash(hashed, now, market_data=market_data)
    if session is None:
        return None
    user = store.user(session.user_id)
    return (session, user) if user is not None else None


# -- RISK STATUS --


class AccountDirectory:
    """Which organization and owner an account has: immutable facts, cached once read."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self._cache: dict[int, Account] = {}

    async def get(self, account_id: int) -> Account | None:
        """The account, or None when it does not exist."""
        account = self._cache.get(account_id)
        if account is None:
            account = await self._uow.read(lambda store: store.account(account_id))
            if account is not None:
                self._cache[account_id] = account
        return account

    def forget(self) -> None:
        """Drop every cached account (after a sandbox reset: their risk categories went back)."""
        self._cache.clear()

    async def visible(self, caller: User, account_id: int | None) -> Account | None:
        """The account when `caller` may see and trade it (its organization's admin, or its owner),
        else None."""
        account = await self.get(account_id) if account_id is not None and account_id > 0 else None
        if account is None or not may_trade(
            caller.is_admin, caller.id, caller.organization_id, account.user_id, account.organization_id
        ):
            return None
        return account


class RiskService:
    """setadminautoliqaction, with PRODUCT.md's order of checks."""

    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        environment: Environment,
        listed_contracts: Callable[[], dict[int, ContractSpec]] | None = None,
    ) -> None:
        self._uow = uow
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
        command = validate_set_admin_action(account_id, admin_action, reason_code, reason)
        if isinstance(command, Rejection):
            return command
        denied = check_environment(self._environment)
        if denied is not None:
            return denied
        account = await self._administered(caller, command.account_id)
        clock = self._clock
        # The liquidation engine needs the listed contracts (to close positions at their prices).
        contracts = self._listed() if command.action is AdminAction.LIQUIDATE_IMMEDIATELY else {}
        return await self._uow.write(
            lambda store: apply_admin_action(store, account, caller, command, clock, contracts),
            accounts=(account.id,),
            log_rows=1,
        )

    async def _administered(self, caller: User, account_id: int) -> Account:
        """The account, for an admin of its organization: NotFound for another organization's (ids of
        other firms do not leak), Unauthorized for a non-admin."""
        account = await self.accounts.get(account_id)
        if account is None or account.organization_id != caller.organization_id:
            raise NotFound()
        if not caller.is_admin:
            raise Unauthorized()
        return account

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
        clock = self._clock

        def work(store: Store) -> RiskStatus:
            now = clock.now()
            current = store.risk_status(account.id) or RiskStatus(id=account.id)
            floor = trailing_floor(max_net_liq, store.auto_liq_settings_of(account.id))
            status = replace(current, max_net_liq=max_net_liq, min_net_liq=floor)
            store.save_risk_status(status)
            entry = store.append_log(account.id, now, status, Actor.USER, caller.id, None, None)
            store.emit(RiskStatusChanged(account.organization_id, account.id, account.user_id, status, entry))
            # The floor moved: the rules (and the price triggers) are evaluated against it now.
            risk_engine.evaluate_account(store, account.id, now)
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
        clock = self._clock
        default_reason = "Account unlocked by an administrator" if unlock_admin else "Auto-liq status reset"

        def work(store: Store) -> RiskStatus:
            now = clock.now()
            status = risk_engine.clear_layer(store, account.id)
            if unlock_admin and ADMIN_PERMISSIONS[status.admin_action] is not Permission.ANY:
                status = status.with_admin_action(AdminAction.NORMAL, now)
                store.save_risk_status(status)
            entry = store.append_log(
                account.id, now, status, Actor.USER, caller.id, None, reason or default_reason
            )
            store.emit(RiskStatusChanged(account.organization_id, account.id, account.user_id, status, entry))
            # The rules the layer had set aside watch prices again (a rule still breached acts on
            # the account's next fill or price change, not on the reset itself).
            risk_engine.evaluate_account(store, account.id, now, act=False)
            return status

        return await self._uow.write(work, accounts=(account.id,), log_rows=1)


def apply_admin_action(
    store: Store,
    account: Account,
    caller: User,
    command: SetAdminAction,
    clock: Clock,
    contracts: dict[int, ContractSpec] | None = None,
) -> RiskStatus:
    """The transaction body: new status, its log row, its event, and for LiquidateImmediately the
    liquidation itself (working orders cancelled, positions closed), all or nothing."""
    now = clock.now()
    current = store.risk_status(account.id) or RiskStatus(id=account.id)
    status = current.with_admin_action(command.action, now)
    store.save_risk_status(status)
    if command.action is AdminAction.NORMAL and store.clear_auto_liq_layer(account.id) is not None:
        # Normal clears both layers: the auto-liq layer's lock goes with the admin's, and the rules
        # it had set aside watch prices again.
        risk_engine.evaluate_account(store, account.id, now, act=False)
    if command.action is AdminAction.LIQUIDATE_IMMEDIATELY:
        # After the status: the engine's admin orders pass the gate of a liquidating account.
        risk_engine.liquidate_account(store, account.id, contracts or {}, now)
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
