"""The sandbox controls' storage over one SQLAlchemy connection (mixed into SqlStore): the reset,
injected faults and penalty tickets (see `autoliq.service.ports.SandboxStore`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Select,
    Table,
    delete,
    func,
    insert,
    or_,
    select,
    true,
    update,
)

from autoliq.adapters.sql.batch import status_fields
from autoliq.adapters.sql.schema import (
    account,
    account_risk_status,
    account_risk_status_log,
    app_user,
    auto_liq_alert,
    auto_liq_layer,
    cash_balance,
    cash_change,
    contract_price,
    equity_point,
    fill,
    order_strategy,
    organization,
    position,
    position_limit,
    price_history,
    risk_category,
    risk_parameter,
    risk_session,
    risk_timer,
    sandbox_clock,
    sandbox_fault,
    sandbox_ticket,
    trade_order,
    user_account_auto_liq,
)
from autoliq.adapters.sql.trading_repository import ConnectionOwner, account_from_row
from autoliq.domain.model import Account, RiskStatus, RiskStatusLogEntry
from autoliq.domain.sandbox import TICKET_LIFETIME_SECONDS, Fault, FaultKind, FaultSpec, FaultsState
from autoliq.domain.states import Actor, AdminAction

_SEEDED_STATUS = status_fields(RiskStatus(0))
"""A status row as the seed writes it (`seed.add_accounts`): Normal, nothing set."""

# What the API and the sandbox controls create, deleted by a reset; children before their parents.
# Each with the column that ties a row to an organization: an account id, an organization id, or
# None for the one market every organization shares (only a reset of the whole server deletes it).
_WIPED: tuple[tuple[str, Table, str | None], ...] = (
    ("fills", fill, "account_id"),
    ("orders", trade_order, "account_id"),
    ("orderStrategies", order_strategy, "account_id"),
    ("positions", position, "account_id"),
    ("cashBalances", cash_balance, "account_id"),
    ("cashChanges", cash_change, "account_id"),
    ("userAccountAutoLiqs", user_account_auto_liq, "id"),
    ("userAccountRiskParameters", risk_parameter, "account_id"),
    ("userAccountPositionLimits", position_limit, "account_id"),
    ("timers", risk_timer, "account_id"),
    ("alerts", auto_liq_alert, "account_id"),
    ("equityHistory", equity_point, "account_id"),
    ("autoLiqLayers", auto_liq_layer, "account_id"),
    ("prices", contract_price, None),
    ("priceHistory", price_history, None),
    ("faults", sandbox_fault, "organization_id"),
    ("tickets", sandbox_ticket, "organization_id"),
)


def _accounts_of(organization_id: int) -> Select[tuple[int]]:
    return select(account.c.id).where(account.c.organization_id == organization_id)


def _owned_by(table: Table, column: str, organization_id: int) -> ColumnElement[bool]:
    """The rows of `table` that belong to the organization, by `column` (an account's or its own id)."""
    owner: Column[Any] = table.c[column]
    if column == "organization_id":
        return owner == organization_id
    return owner.in_(_accounts_of(organization_id))


def _off_seed() -> ColumnElement[bool]:
    """A status row that is not as the seed wrote it."""
    s = account_risk_status.c
    return or_(
        s.admin_action != AdminAction.NORMAL.value,
        s.admin_timestamp.is_not(None),
        s.liquidate_only.is_not(None),
        s.user_triggered_liq_only == true(),
        s.max_net_liq.is_not(None),
        s.min_net_liq.is_not(None),
    )


def _fault(row: Any) -> Fault:
    return Fault(
        id=int(row.id),
        path=row.path,
        kind=FaultKind(row.kind),
        remaining=int(row.remaining),
        delay_ms=row.delay_ms,
        p_time=row.p_time,
        p_captcha=bool(row.p_captcha),
        created=row.created,
        organization_id=int(row.organization_id),
    )


def _epoch(value: datetime) -> float:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


class SandboxRepository(ConnectionOwner):
    """Reset, faults and tickets of the Store port."""

    # -- reset --
    def prepare_sandbox_reset(self, organization_id: int | None) -> list[Account]:
        # Earlier writes of this batch land first and later ones read the reset state, not the
        # batch's: the batch's cache ends at these statements on the status table (`Batch.saw`).
        conn = self.conn
        if conn.dialect.name == "postgresql":
            # The accounts' locks (their status rows, in id order as every batch takes them), so no
            # other worker's write of an account is in flight while the reset rewrites it; then,
            # for the whole server, the session job's row. (SQLite: BEGIN IMMEDIATE has serialized
            # every writer already.)
            if organization_id is None:
                conn.execute(
                    select(account_risk_status.c.id).order_by(account_risk_status.c.id).with_for_update()
                )
                conn.execute(select(risk_session.c.id).with_for_update())
            else:
                conn.execute(
                    select(account_risk_status.c.id)
                    .where(account_risk_status.c.id.in_(_accounts_of(organization_id)))
                    .order_by(account_risk_status.c.id)
                    .with_for_update()
                )
        changed = (
            select(account_risk_status.c.id)
            .where(_off_seed())
            .union(select(auto_liq_layer.c.account_id))
            .scalar_subquery()
        )
        query = select(account).where(account.c.id.in_(changed)).order_by(account.c.id)
        if organization_id is not None:
            query = query.where(account.c.organization_id == organization_id)
        return [account_from_row(r) for r in conn.execute(query)]

    def wipe_sandbox(
        self, now: datetime, closed_trade_date: date, organization_id: int | None
    ) -> dict[str, int]:
        conn = self.conn
        counts: dict[str, int] = {}
        for name, table, column in _WIPED:
            if organization_id is None:
                counts[name] = int(conn.execute(delete(table)).rowcount)
            elif column is None:
                counts[name] = 0  # the shared market: only a reset of the whole server clears it
            else:
                owned = _owned_by(table, column, organization_id)
                counts[name] = int(conn.execute(delete(table).where(owned)).rowcount)
        everyone = organization_id is None
        accounts = true() if everyone else account.c.organization_id == organization_id
        categories = true() if everyone else risk_category.c.organization_id == organization_id
        # Accounts as seeded: no notes, in their organization's default (first) risk category.
        default_category = (
            select(func.min(risk_category.c.id))
            .where(risk_category.c.organization_id == account.c.organization_id)
            .scalar_subquery()
        )
        conn.execute(
            update(account)
            .where(
                accounts,
                or_(
                    account.c.notes.is_not(None),
                    account.c.risk_category_id.is_(None),
                    account.c.risk_category_id != default_category,
                ),
            )
            .values(notes=None, risk_category_id=default_category)
        )
        firsts = select(func.min(risk_category.c.id)).group_by(risk_category.c.organization_id)
        counts["riskCategories"] = int(
            conn.execute(delete(risk_category).where(categories, risk_category.c.id.not_in(firsts))).rowcount
        )
        conn.execute(
            update(risk_category)
            .where(categories, risk_category.c.halted == true())
            .values(halted=False, updated=now)
        )
        statuses = (
            _off_seed()
            if organization_id is None
            else (_off_seed() & account_risk_status.c.id.in_(_accounts_of(organization_id)))
        )
        conn.execute(update(account_risk_status).where(statuses).values(**_SEEDED_STATUS))
        if organization_id is not None:
            return counts  # the one clock and its session job are the whole server's
        # No stored offset: the sandbox clock is the machine's, as on a new database.
        conn.execute(delete(sandbox_clock))
        result = conn.execute(update(risk_session).values(closed_trade_date=closed_trade_date))
        if result.rowcount == 0:
            conn.execute(insert(risk_session).values(id=1, closed_trade_date=closed_trade_date))
        return counts

    def log_sandbox_reset(
        self, account_ids: Sequence[int], now: datetime, actor_user_id: int, reason: str
    ) -> list[RiskStatusLogEntry]:
        if not account_ids:
            return []
        rows = [
            {
                "account_id": account_id,
                "timestamp": now,
                **_SEEDED_STATUS,
                "actor": Actor.USER.value,
                "actor_user_id": actor_user_id,
                "reason_code": None,
                "reason": reason,
            }
            for account_id in account_ids
        ]
        t = account_risk_status_log
        ids = self.conn.execute(insert(t).returning(t.c.id, sort_by_parameter_order=True), rows).scalars()
        return [
            RiskStatusLogEntry(
                int(entry_id),
                account_id,
                now,
                RiskStatus(account_id),
                Actor.USER,
                actor_user_id,
                None,
                reason,
            )
            for entry_id, account_id in zip(ids, account_ids, strict=True)
        ]

    def rewind_session_closed_date(self, day: date) -> bool:
        r = risk_session.c
        result = self.conn.execute(
            update(risk_session).where(r.id == 1, r.closed_trade_date > day).values(closed_trade_date=day)
        )
        return bool(result.rowcount)

    # -- operator and organizations --
    def sandbox_operator(self, name: str | None) -> int | None:
        o = organization.c
        query = select(func.min(o.id)) if name is None else select(o.id).where(o.name == name)
        found = self.conn.execute(query).scalar()
        return None if found is None else int(found)

    def organization_of_user_name(self, name: str) -> int | None:
        found = self.conn.execute(select(app_user.c.organization_id).where(app_user.c.name == name)).scalar()
        return None if found is None else int(found)

    # -- faults --
    def add_fault(self, spec: FaultSpec, organization_id: int, now: datetime) -> Fault:
        values: dict[str, Any] = {
            "path": spec.path,
            "path_key": spec.path.lower(),
            "kind": spec.kind.value,
            "remaining": spec.count,
            "delay_ms": spec.delay_ms,
            "p_time": spec.p_time,
            "p_captcha": spec.p_captcha,
            "created": now,
            "organization_id": organization_id,
        }
        fault_id = self.conn.execute(insert(sandbox_fault).values(**values).returning(sandbox_fault.c.id))
        return Fault(
            int(fault_id.scalar_one()),
            spec.path,
            spec.kind,
            spec.count,
            spec.delay_ms,
            spec.p_time,
            spec.p_captcha,
            now,
            organization_id,
        )

    def faults(self, organization_id: int) -> list[Fault]:
        f = sandbox_fault.c
        rows = self.conn.execute(
            select(sandbox_fault).where(f.organization_id == organization_id, f.remaining > 0).order_by(f.id)
        )
        return [_fault(row) for row in rows]

    def clear_faults(self, organization_id: int, *, unowned_tickets: bool) -> int:
        f, t = sandbox_fault.c, sandbox_ticket.c
        cleared = int(
            self.conn.execute(delete(sandbox_fault).where(f.organization_id == organization_id)).rowcount
        )
        tickets = t.organization_id == organization_id
        if unowned_tickets:
            tickets = or_(tickets, t.organization_id.is_(None))
        self.conn.execute(delete(sandbox_ticket).where(tickets))
        return cleared

    def take_fault(self, path_key: str, organization_id: int) -> Fault | None:
        f = sandbox_fault.c
        query = (
            select(sandbox_fault)
            .where(f.path_key == path_key, f.organization_id == organization_id, f.remaining > 0)
            .order_by(f.id)
            .limit(1)
        )
        if self.conn.dialect.name == "postgresql":
            # Two workers taking from one fault at once: the second waits, then sees what is left.
            query = query.with_for_update()
        row = self.conn.execute(query).first()
        if row is None:
            return None
        if row.remaining <= 1:
            self.conn.execute(delete(sandbox_fault).where(f.id == row.id))
        else:
            self.conn.execute(update(sandbox_fault).where(f.id == row.id).values(remaining=f.remaining - 1))
        return _fault(row)

    # -- penalty tickets --
    def add_ticket(
        self, ticket: str, path_key: str, p_time: int, valid_after: datetime, organization_id: int | None
    ) -> None:
        t = sandbox_ticket.c
        self.conn.execute(delete(sandbox_ticket).where(t.expires <= valid_after - timedelta(seconds=p_time)))
        self.conn.execute(
            insert(sandbox_ticket).values(
                ticket=ticket,
                path_key=path_key,
                p_time=p_time,
                valid_after=valid_after,
                expires=valid_after + timedelta(seconds=TICKET_LIFETIME_SECONDS),
                organization_id=organization_id,
            )
        )

    def pop_ticket(
        self, ticket: str, path_key: str, now: datetime
    ) -> tuple[int, datetime, int | None] | None:
        t = sandbox_ticket.c
        query = select(t.p_time, t.valid_after, t.organization_id).where(
            t.ticket == ticket, t.path_key == path_key, t.expires > now
        )
        if self.conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = self.conn.execute(query).first()
        if row is None:
            return None
        deleted = self.conn.execute(delete(sandbox_ticket).where(t.ticket == ticket)).rowcount
        return (int(row.p_time), row.valid_after, row.organization_id) if deleted else None

    def faults_state(self, now: datetime) -> FaultsState:
        f = sandbox_fault.c
        paths: dict[str, set[int]] = {}
        for path_key, organization_id in self.conn.execute(
            select(f.path_key, f.organization_id).where(f.remaining > 0).distinct()
        ):
            paths.setdefault(path_key, set()).add(int(organization_id))
        t = sandbox_ticket.c
        until = self.conn.execute(
            select(func.max(t.valid_after)).where(t.expires > now, t.valid_after > now)
        ).scalar()
        return FaultsState(
            {path: frozenset(owners) for path, owners in paths.items()},
            _epoch(until) if until is not None else 0.0,
        )
