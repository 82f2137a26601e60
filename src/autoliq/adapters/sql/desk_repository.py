"""The risk desk's account pages and the equity history over one SQLAlchemy connection (mixed into
SqlStore)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.sql import ColumnElement

from autoliq.adapters.sql.schema import (
    account,
    account_risk_status,
    app_user,
    auto_liq_layer,
    cash_balance,
    equity_point,
)
from autoliq.adapters.sql.trading_repository import ConnectionOwner
from autoliq.domain.money import INITIAL_BALANCE_CENTS
from autoliq.domain.states import AdminAction
from autoliq.service.ports.desk import DeskQuery, DeskRow, EquityPoint


def _sort_column(key: str) -> Any:
    """The column a desk sort key orders by (the route admits only these keys)."""
    return {
        "id": account.c.id,
        "name": account.c.name,
        "owner": app_user.c.name,
        "adminAction": func.coalesce(account_risk_status.c.admin_action, AdminAction.NORMAL.value),
        "autoLiq": func.coalesce(auto_liq_layer.c.state, "Normal"),
        "balance": func.coalesce(cash_balance.c.amount_cents, INITIAL_BALANCE_CENTS),
    }[key]


class DeskRepository(ConnectionOwner):
    """The desk's reads; the equity history."""

    def desk_accounts(self, query: DeskQuery) -> tuple[int, list[DeskRow]]:
        a, u, s, layer, c = account, app_user, account_risk_status, auto_liq_layer, cash_balance
        conds: list[ColumnElement[bool]] = [a.c.organization_id == query.organization_id]
        if query.owner_id is not None:
            conds.append(a.c.user_id == query.owner_id)
        if query.ids is not None:
            conds.append(a.c.id.in_([int(i) for i in query.ids]))
        if query.name_like is not None:
            conds.append(func.lower(a.c.name).like(query.name_like, escape="\\"))
        if query.admin_action is not None:
            action = s.c.admin_action
            if query.admin_action == AdminAction.NORMAL.value:
                conds.append(or_(action.is_(None), action == query.admin_action))
            else:
                conds.append(action == query.admin_action)
        if query.auto_liq is not None:
            conds.append(
                layer.c.state.is_(None) if query.auto_liq == "Normal" else layer.c.state == query.auto_liq
            )
        joined = (
            a.join(u, u.c.id == a.c.user_id)
            .outerjoin(s, s.c.id == a.c.id)
            .outerjoin(layer, layer.c.account_id == a.c.id)
        )
        needs_cash = query.sort == "balance"
        counted = a.join(u, u.c.id == a.c.user_id)
        if query.admin_action is not None:
            counted = counted.outerjoin(s, s.c.id == a.c.id)
        if query.auto_liq is not None:
            counted = counted.outerjoin(layer, layer.c.account_id == a.c.id)
        total = int(self.conn.execute(select(func.count()).select_from(counted).where(*conds)).scalar_one())
        if needs_cash:
            joined = joined.outerjoin(c, c.c.account_id == a.c.id)
        key = _sort_column(query.sort)
        order = [key.desc(), a.c.id.desc()] if query.descending else [key.asc(), a.c.id.asc()]
        rows = self.conn.execute(
            select(
                a.c.id,
                a.c.name,
                a.c.user_id,
                u.c.name.label("owner"),
                a.c.archived,
                s.c.admin_action,
                s.c.admin_timestamp,
                s.c.min_net_liq,
                layer.c.state,
                layer.c.rule,
                layer.c.since,
                layer.c.until,
            )
            .select_from(joined)
            .where(*conds)
            .order_by(*order)
            .offset(query.offset)
            .limit(query.limit)
        )
        page = [
            DeskRow(
                id=int(r.id),
                name=r.name,
                owner_id=int(r.user_id),
                owner=r.owner,
                archived=bool(r.archived),
                admin_action=r.admin_action or AdminAction.NORMAL.value,
                admin_timestamp=r.admin_timestamp,
                min_net_liq=r.min_net_liq,
                layer_state=r.state,
                layer_rule=r.rule,
                layer_since=r.since,
                layer_until=r.until,
            )
            for r in rows
        ]
        return total, page

    def add_equity_points(self, points: Sequence[EquityPoint]) -> None:
        """On the write path's raw cursor, like the evaluation's other writes (a statement through
        SQLAlchemy between them would break PostgreSQL's pipelined batch): one `executemany`."""
        if not points:
            return
        batch = self.batch
        codec = batch.codec
        rows = [(p.account_id, codec.time(p.at), p.net_liq_cents, p.floor_cents) for p in points]
        statement = batch.statements["insert_equity_point"]  # statements.EQUITY_INSERT_COLUMNS
        if len(rows) == 1:
            batch.cursor.execute(statement, rows[0])
        else:
            batch.cursor.executemany(statement, rows)

    def equity_points(self, account_id: int, limit: int) -> list[EquityPoint]:
        e = equity_point.c
        rows = self.conn.execute(
            select(e.at, e.net_liq_cents, e.floor_cents)
            .where(e.account_id == account_id)
            .order_by(e.id.desc())
            .limit(limit)
        ).fetchall()
        return [
            EquityPoint(account_id, r[0], int(r[1]), None if r[2] is None else int(r[2]))
            for r in reversed(rows)
        ]

    def prune_equity_history(self, before: datetime, limit: int) -> int:
        e = equity_point.c
        doomed = select(e.id).where(e.at < before).order_by(e.id).limit(limit).scalar_subquery()
        return int(self.conn.execute(delete(equity_point).where(e.id.in_(doomed))).rowcount)
