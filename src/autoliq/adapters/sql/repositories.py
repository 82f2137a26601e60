"""`SqlStore`: the Store port over one SQLAlchemy connection (one transaction)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, delete, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.sql import ColumnElement

from autoliq.adapters.sql.admin_repository import AdminRepository
from autoliq.adapters.sql.auto_liq_repository import AutoLiqRepository
from autoliq.adapters.sql.batch import Batch
from autoliq.adapters.sql.desk_repository import DeskRepository
from autoliq.adapters.sql.limits_repository import LimitsRepository
from autoliq.adapters.sql.linked_repository import LinkedOrdersRepository
from autoliq.adapters.sql.liquidation_repository import LiquidationRepository
from autoliq.adapters.sql.sandbox_repository import SandboxRepository
from autoliq.adapters.sql.schema import (
    account,
    account_risk_status,
    account_risk_status_log,
    app_user,
    auth_session,
    auto_liq_alert,
    contract_price,
    fill,
    organization,
    position,
    price_history,
    risk_timer,
    sandbox_clock,
    user_account_auto_liq,
)
from autoliq.adapters.sql.trading_repository import account_from_row
from autoliq.adapters.sql.webhook_repository import WebhookRepository
from autoliq.domain.bounds import INT64_MAX
from autoliq.domain.events import Event
from autoliq.domain.gate import TradingState
from autoliq.domain.market_data import PriceTick, open_interest
from autoliq.domain.model import Account, Organization, RiskStatus, RiskStatusLogEntry, User
from autoliq.domain.post_trade import SETTING_FIELDS, AutoLiqSettings, TrailingMode
from autoliq.domain.sandbox import MAX_SPEED, NORMAL_SPEED
from autoliq.domain.states import Actor, AdminAction, ReasonCode, Role
from autoliq.domain.timers import Timer, TimerKind
from autoliq.service.ports import AuthSession

# SQLite binds at most 32,766 parameters per statement; stay well below for IN lists.
_IN_CHUNK = 5000


def _user(row: Row[Any]) -> User:
    return User(
        id=row.id,
        organization_id=row.organization_id,
        name=row.name,
        role=Role(row.role),
        full_name=row.full_name,
        email=row.email,
    )


def _status(row: Row[Any], account_id: int | None = None) -> RiskStatus:
    """A status from a status row (or from a log row: with its account's id)."""
    return RiskStatus(
        id=row.id if account_id is None else account_id,
        admin_action=AdminAction(row.admin_action),
        admin_timestamp=row.admin_timestamp,
        liquidate_only=row.liquidate_only,
        user_triggered_liq_only=bool(row.user_triggered_liq_only),
        max_net_liq=row.max_net_liq,
        min_net_liq=row.min_net_liq,
    )


def _log_entry(row: Row[Any]) -> RiskStatusLogEntry:
    return RiskStatusLogEntry(
        id=row.id,
        account_id=row.account_id,
        timestamp=row.timestamp,
        status=_status(row, row.account_id),
        actor=Actor(row.actor),
        actor_user_id=row.actor_user_id,
        reason_code=ReasonCode(row.reason_code) if row.reason_code else None,
        reason=row.reason,
    )


def _chunks(ids: Sequence[int]) -> list[Sequence[int]]:
    return [ids[i : i + _IN_CHUNK] for i in range(0, len(ids), _IN_CHUNK)] or [[]]


def _auto_liq_settings(row: Row[Any]) -> AutoLiqSettings:
    values = {name: getattr(row, name) for name in SETTING_FIELDS}
    mode = values["trailing_max_drawdown_mode"]
    values["trailing_max_drawdown_mode"] = None if mode is None else TrailingMode(mode)
    values["changes_locked"] = bool(values["changes_locked"])
    values["do_not_unlock"] = bool(values["do_not_unlock"])
    return AutoLiqSettings(id=row.id, **values)


class SqlStore(
    LinkedOrdersRepository,
    LiquidationRepository,
    AutoLiqRepository,
    AdminRepository,
    SandboxRepository,
    LimitsRepository,
    DeskRepository,
    WebhookRepository,
):
    """Repositories over one connection; events buffered until the transaction commits."""

    def __init__(self, conn: Connection, batch: Batch | None = None) -> None:
        self.conn = conn
        self.events: list[Event] = []
        self.committed_actions: list[Callable[[], None]] = []
        self._batch = batch

    # -- organizations and users --
    def organization(self, organization_id: int) -> Organization | None:
        row = self.conn.execute(select(organization).where(organization.c.id == organization_id)).first()
        return Organization(row.id, row.name) if row else None

    def user(self, user_id: int) -> User | None:
        row = self.conn.execute(select(app_user).where(app_user.c.id == user_id)).first()
        return _user(row) if row else None

    def user_by_name(self, name: str) -> tuple[User, str] | None:
        row = self.conn.execute(select(app_user).where(app_user.c.name == name)).first()
        return (_user(row), row.password_hash) if row else None

    def replace_password_hash(self, user_id: int, old: str, new: str) -> None:
        self.conn.execute(
            update(app_user)
            .where(app_user.c.id == user_id, app_user.c.password_hash == old)
            .values(password_hash=new)
        )

    def users_created(self, organization_id: int, ids: Sequence[int] | None) -> list[tuple[User, datetime]]:
        if ids is None:
            rows = self.conn.execute(
                select(app_user).where(app_user.c.organization_id == organization_id).order_by(app_user.c.id)
            )
            return [(_user(r), r.created) for r in rows]
        out: list[tuple[User, datetime]] = []
        for chunk in _chunks(ids):
            rows = self.conn.execute(
                select(app_user)
                .where(app_user.c.organization_id == organization_id, app_user.c.id.in_(chunk))
                .order_by(app_user.c.id)
            )
            out.extend((_user(r), r.created) for r in rows)
        return out

    # -- accounts --
    def account(self, account_id: int) -> Account | None:
        row = self.conn.execute(select(account).where(account.c.id == account_id)).first()
        return account_from_row(row) if row else None

    def accounts(
        self,
        organization_id: int,
        *,
        owner_id: int | None = None,
        ids: Sequence[int] | None = None,
        name: str | None = None,
    ) -> list[Account]:
        conds: list[ColumnElement[bool]] = [account.c.organization_id == organization_id]
        if owner_id is not None:
            conds.append(account.c.user_id == owner_id)
        if name is not None:
            conds.append(account.c.name == name)
        out: list[Account] = []
        for chunk in _chunks(ids) if ids is not None else [None]:
            where = list(conds)
            if chunk is not None:
                where.append(account.c.id.in_(chunk))
            rows = self.conn.execute(select(account).where(and_(*where)).order_by(account.c.id))
            out.extend(account_from_row(r) for r in rows)
        return out

    # -- risk status --
    def risk_status(self, account_id: int) -> RiskStatus | None:
        return self.batch.risk_status(account_id)

    def trading_state(self, account_id: int) -> TradingState:
        return self.batch.trading_state(account_id)

    def risk_statuses(
        self, organization_id: int, *, owner_id: int | None = None, ids: Sequence[int] | None = None
    ) -> list[RiskStatus]:
        j = account_risk_status.join(account, account.c.id == account_risk_status.c.id)
        conds: list[ColumnElement[bool]] = [account.c.organization_id == organization_id]
        if owner_id is not None:
            conds.append(account.c.user_id == owner_id)
        out: list[RiskStatus] = []
        for chunk in _chunks(ids) if ids is not None else [None]:
            where = list(conds)
            if chunk is not None:
                where.append(account_risk_status.c.id.in_(chunk))
            rows = self.conn.execute(
                select(account_risk_status)
                .select_from(j)
                .where(and_(*where))
                .order_by(account_risk_status.c.id)
            )
            out.extend(_status(r) for r in rows)
        return out

    def save_risk_status(self, status: RiskStatus) -> None:
        self.batch.save_risk_status(status)

    # -- risk status log --
    def append_log(
        self,
        account_id: int,
        timestamp: datetime,
        status: RiskStatus,
        actor: Actor,
        actor_user_id: int | None,
        reason_code: ReasonCode | None,
        reason: str | None,
    ) -> RiskStatusLogEntry:
        entry_id = self.batch.append_log(
            account_id, timestamp, status, actor, actor_user_id, reason_code, reason
        )
        return RiskStatusLogEntry(
            entry_id, account_id, timestamp, status, actor, actor_user_id, reason_code, reason
        )

    def log_entries(
        self,
        organization_id: int,
        *,
        owner_id: int | None = None,
        ids: Sequence[int] | None = None,
        account_ids: Sequence[int] | None = None,
    ) -> list[RiskStatusLogEntry]:
        log = account_risk_status_log
        j = log.join(account, account.c.id == log.c.account_id)
        conds: list[ColumnElement[bool]] = [account.c.organization_id == organization_id]
        if owner_id is not None:
            conds.append(account.c.user_id == owner_id)
        out: list[RiskStatusLogEntry] = []
        keys: Sequence[int] | None = ids if ids is not None else account_ids
        column = log.c.id if ids is not None else log.c.account_id
        for chunk in _chunks(keys) if keys is not None else [None]:
            where = list(conds)
            if chunk is not None:
                where.append(column.in_(chunk))
            rows = self.conn.execute(select(log).select_from(j).where(and_(*where)).order_by(log.c.id))
            out.extend(_log_entry(r) for r in rows)
        return out

    # -- sessions --
    def session_by_token_hash(
        self, token_hash: str, now: datetime, *, market_data: bool = False
    ) -> AuthSession | None:
        s = auth_session
        match = (
            or_(s.c.token_hash == token_hash, s.c.md_token_hash == token_hash)
            if market_data
            else s.c.token_hash == token_hash
        )
        row = self.conn.execute(
            select(s.c.id, s.c.user_id, s.c.expires).where(match, s.c.closed.is_(None), s.c.expires > now)
        ).first()
        return AuthSession(row.id, row.user_id, row.expires) if row else None

    def open_session(
        self, user_id: int, token_hash: str, now: datetime, expires: datetime, md_token_hash: str
    ) -> AuthSession:
        session_id = self.conn.execute(
            insert(auth_session)
            .values(
                user_id=user_id,
                token_hash=token_hash,
                md_token_hash=md_token_hash,
                created=now,
                expires=expires,
                closed=None,
            )
            .returning(auth_session.c.id)
        ).scalar_one()
        return AuthSession(session_id, user_id, expires)

    def live_sessions(self, user_id: int, now: datetime) -> list[AuthSession]:
        rows = self.conn.execute(
            select(auth_session.c.id, auth_session.c.user_id, auth_session.c.expires)
            .where(
                auth_session.c.user_id == user_id,
                auth_session.c.closed.is_(None),
                auth_session.c.expires > now,
            )
            .order_by(auth_session.c.id)
        )
        return [AuthSession(r.id, r.user_id, r.expires) for r in rows]

    def close_session(self, session_id: int, now: datetime) -> None:
        self.conn.execute(update(auth_session).where(auth_session.c.id == session_id).values(closed=now))

    def extend_session(self, session_id: int, expires: datetime, md_token_hash: str) -> None:
        self.conn.execute(
            update(auth_session)
            .where(auth_session.c.id == session_id)
            .values(expires=expires, md_token_hash=md_token_hash)
        )

    # -- market data --
    def contract_prices(self) -> list[tuple[int, int, datetime]]:
        rows = self.conn.execute(select(contract_price).order_by(contract_price.c.contract_id))
        return [(r.contract_id, r.price_ticks, r.updated) for r in rows]

    def set_contract_price(self, contract_id: int, price_ticks: int, when: datetime) -> None:
        values = {"price_ticks": price_ticks, "updated": when}
        result = self.conn.execute(
            update(contract_price).where(contract_price.c.contract_id == contract_id).values(**values)
        )
        if result.rowcount == 0:
            self.conn.execute(insert(contract_price).values(contract_id=contract_id, **values))

    # -- price history --
    def add_price_tick(self, contract_id: int, at: datetime, price_ticks: int, volume: int) -> int:
        values = {"contract_id": contract_id, "at": at, "price_ticks": price_ticks, "volume": volume}
        return int(
            self.conn.execute(
                insert(price_history).values(**values).returning(price_history.c.id)
            ).scalar_one()
        )

    def price_ticks(
        self,
        contract_id: int,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        max_id: int | None = None,
        limit: int,
    ) -> list[PriceTick]:
        t = price_history.c
        conds: list[ColumnElement[bool]] = [t.contract_id == contract_id]
        if since is not None:
            conds.append(t.at >= since)
        if until is not None:
            conds.append(t.at <= until)
        if max_id is not None:
            conds.append(t.id <= max_id)
        rows = self.conn.execute(
            select(t.id, t.at, t.price_ticks, t.volume)
            .where(and_(*conds))
            .order_by(t.at.desc(), t.id.desc())
            .limit(limit)
        )
        return [PriceTick(r.id, r.at, r.price_ticks, r.volume) for r in rows]

    def price_before(self, contract_id: int, before: datetime) -> PriceTick | None:
        t = price_history.c
        row = self.conn.execute(
            select(t.id, t.at, t.price_ticks, t.volume)
            .where(t.contract_id == contract_id, t.at < before)
            .order_by(t.at.desc(), t.id.desc())
            .limit(1)
        ).first()
        return None if row is None else PriceTick(row.id, row.at, row.price_ticks, row.volume)

    def price_range(self, contract_id: int, since: datetime) -> tuple[int, int, int] | None:
        t = price_history.c
        where = and_(t.contract_id == contract_id, t.at >= since)
        first = self.conn.execute(select(t.price_ticks).where(where).order_by(t.at, t.id).limit(1)).scalar()
        if first is None:
            return None
        high, low = self.conn.execute(
            select(func.max(t.price_ticks), func.min(t.price_ticks)).where(where)
        ).one()
        return int(first), int(high), int(low)

    def fill_volume(self, contract_id: int, since: datetime, until: datetime) -> int:
        f = fill.c
        total = self.conn.execute(
            select(func.coalesce(func.sum(f.qty), 0)).where(
                f.contract_id == contract_id, f.timestamp >= since, f.timestamp <= until
            )
        ).scalar_one()
        return int(total)

    def fills_between(
        self, contract_id: int, since: datetime, until: datetime, limit: int
    ) -> list[tuple[datetime, str, int, int]]:
        f = fill.c
        rows = self.conn.execute(
            select(f.timestamp, f.action, f.qty, f.price_ticks)
            .where(f.contract_id == contract_id, f.timestamp >= since, f.timestamp < until)
            .order_by(f.timestamp, f.id)
            .limit(limit)
        )
        return [(r.timestamp, r.action, int(r.qty), int(r.price_ticks)) for r in rows]

    def fill_volume_by_price(
        self, contract_id: int, since: datetime, until: datetime
    ) -> list[tuple[int, int]]:
        f = fill.c
        rows = self.conn.execute(
            select(f.price_ticks, func.sum(f.qty))
            .where(f.contract_id == contract_id, f.timestamp >= since, f.timestamp < until)
            .group_by(f.price_ticks)
            .order_by(f.price_ticks)
        )
        return [(int(r[0]), int(r[1])) for r in rows]

    def open_interest(self, contract_id: int) -> int:
        p = position.c
        rows = self.conn.execute(select(p.bought, p.sold).where(p.contract_id == contract_id))
        return open_interest(int(r.bought) - int(r.sold) for r in rows)

    def prune_price_history(self, before: datetime, limit: int) -> int:
        t = price_history.c
        doomed = select(t.id).where(t.at < before).order_by(t.id).limit(limit).scalar_subquery()
        return int(self.conn.execute(delete(price_history).where(t.id.in_(doomed))).rowcount)

    # -- post-trade risk settings --
    def auto_liq_settings(
        self, organization_id: int, *, owner_id: int | None = None, ids: Sequence[int] | None = None
    ) -> list[AutoLiqSettings]:
        """Settings of the organization's accounts (of one owner's, of `ids`), by id."""
        t = user_account_auto_liq
        j = t.join(account, account.c.id == t.c.id)
        conds: list[ColumnElement[bool]] = [account.c.organization_id == organization_id]
        if owner_id is not None:
            conds.append(account.c.user_id == owner_id)
        out: list[AutoLiqSettings] = []
        for chunk in _chunks(ids) if ids is not None else [None]:
            where = list(conds)
            if chunk is not None:
                where.append(t.c.id.in_(chunk))
            rows = self.conn.execute(select(t).select_from(j).where(and_(*where)).order_by(t.c.id))
            out.extend(_auto_liq_settings(r) for r in rows)
        return out

    def alerted_rules_of(self, account_ids: Sequence[int], day: date) -> dict[int, frozenset[str]]:
        t = auto_liq_alert
        out: dict[int, set[str]] = {}
        for chunk in _chunks(list(account_ids)):
            query = select(t.c.account_id, t.c.rule).where(t.c.trade_date == day, t.c.account_id.in_(chunk))
            for account_id, rule in self.conn.execute(query):
                out.setdefault(account_id, set()).add(rule)
        return {account_id: frozenset(rules) for account_id, rules in out.items()}

    def auto_liq_settings_of(self, account_id: int) -> AutoLiqSettings | None:
        """One account's settings, or None."""
        t = user_account_auto_liq
        row = self.conn.execute(select(t).where(t.c.id == account_id)).first()
        return None if row is None else _auto_liq_settings(row)

    def save_auto_liq_settings(self, settings: AutoLiqSettings, now: datetime) -> None:
        """Insert or replace an account's settings."""
        t = user_account_auto_liq
        values: dict[str, Any] = {name: getattr(settings, name) for name in SETTING_FIELDS}
        mode = settings.trailing_max_drawdown_mode
        values["trailing_max_drawdown_mode"] = None if mode is None else mode.value
        values["updated"] = now
        result = self.conn.execute(update(t).where(t.c.id == settings.id).values(**values))
        if result.rowcount == 0:
            self.conn.execute(insert(t).values(id=settings.id, **values))

    # -- timers --
    def add_timer(
        self,
        account_id: int,
        kind: TimerKind,
        due_at: datetime,
        *,
        admin_action: AdminAction | None = None,
        set_at: datetime | None = None,
    ) -> int:
        values = {
            "account_id": account_id,
            "kind": kind.value,
            "admin_action": None if admin_action is None else admin_action.value,
            "set_at": set_at,
            "due_at": due_at,
        }
        return int(
            self.conn.execute(insert(risk_timer).values(**values).returning(risk_timer.c.id)).scalar_one()
        )

    def due_timers(self, now: datetime, limit: int) -> list[Timer]:
        """Timers due at `now` or earlier, the earliest first (at most `limit`)."""
        rows = self.conn.execute(
            select(risk_timer)
            .where(risk_timer.c.due_at <= now)
            .order_by(risk_timer.c.due_at, risk_timer.c.id)
            .limit(limit)
        )
        return [
            Timer(
                r.id,
                r.account_id,
                TimerKind(r.kind),
                r.due_at,
                None if r.admin_action is None else AdminAction(r.admin_action),
                r.set_at,
            )
            for r in rows
        ]

    def delete_timer(self, timer_id: int) -> bool:
        """Remove a timer; False when it was gone already (fired by someone else)."""
        return bool(self.conn.execute(delete(risk_timer).where(risk_timer.c.id == timer_id)).rowcount)

    # -- the sandbox clock --
    def clock_offset(self, *, lock: bool = False) -> int | None:
        """The sandbox clock's stored offset from the machine's clock, in microseconds, or None;
        `lock` (in a write): its row stays locked until the commit (PostgreSQL)."""
        query = select(sandbox_clock.c.offset_us).where(sandbox_clock.c.id == 1)
        if lock and self.conn.dialect.name == "postgresql":
            # The row must exist to be locked: two first moves at once would otherwise both read
            # "never moved" and both insert (one failing on the key, the other's advance lost).
            self.conn.execute(
                pg_insert(sandbox_clock)
                .values(id=1, offset_us=0, updated=datetime.now(UTC))
                .on_conflict_do_nothing(index_elements=[sandbox_clock.c.id])
            )
            query = query.with_for_update()
        return clock_offset_us(self.conn.execute(query).scalar())

    def clock_speed(self) -> tuple[int, datetime] | None:
        """The sandbox clock's stored pace (percent) and the machine time its offset was stored at."""
        c = sandbox_clock.c
        row = self.conn.execute(select(c.speed, c.updated).where(c.id == 1)).first()
        if row is None:
            return None
        speed = row[0] if isinstance(row[0], int) and 0 <= row[0] <= MAX_SPEED else NORMAL_SPEED
        return speed, row[1]

    def save_clock_offset(self, offset_us: int, when: datetime, speed: int = NORMAL_SPEED) -> None:
        values = {"offset_us": offset_us, "updated": when, "speed": speed}
        result = self.conn.execute(update(sandbox_clock).where(sandbox_clock.c.id == 1).values(**values))
        if result.rowcount == 0:
            self.conn.execute(insert(sandbox_clock).values(id=1, **values))

    # -- events --
    def emit(self, event: Event) -> None:
        self.events.append(event)

    def after_commit(self, action: Callable[[], None]) -> None:
        self.committed_actions.append(action)


UNREADABLE_CLOCK_OFFSET = INT64_MAX + 1
"""What a stored clock offset that is no integer (text or a non-finite number, which SQLite's
dynamic typing lets a hand-edited row hold) reads as: beyond every bound, so the clock ignores it."""


def clock_offset_us(value: object) -> int | None:
    """The stored clock offset column's value as microseconds (None: no offset stored)."""
    if value is None:
        return None
    if not isinstance(value, int | float | str):
        return UNREADABLE_CLOCK_OFFSET
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return UNREADABLE_CLOCK_OFFSET
