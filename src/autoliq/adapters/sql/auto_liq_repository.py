"""The auto-liq layer, alerts and the session job's progress over one SQLAlchemy connection (mixed
into SqlStore)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import and_, delete, insert, select, union_all, update
from sqlalchemy.sql import ColumnElement

from autoliq.adapters.sql.schema import (
    account,
    auto_liq_alert,
    auto_liq_layer,
    position,
    risk_session,
    risk_timer,
    trade_order,
    user_account_auto_liq,
)
from autoliq.adapters.sql.trading_repository import ConnectionOwner
from autoliq.domain.auto_liq import Alert, AutoLiqLayer, LayerState, Level
from autoliq.domain.orders import OrdStatus, TimeInForce
from autoliq.domain.post_trade import TrailingMode
from autoliq.domain.timers import TimerKind

FLAT_LOTS = "[]"


class AutoLiqRepository(ConnectionOwner):
    """The auto-liq layer, alerts, price triggers and the session job's storage of the Store port."""

    def auto_liq_layer(self, account_id: int) -> AutoLiqLayer | None:
        t = auto_liq_layer
        row = self.conn.execute(select(t).where(t.c.account_id == account_id)).first()
        if row is None:
            return None
        return AutoLiqLayer(row.account_id, LayerState(row.state), row.rule, row.since, row.until)

    def clear_auto_liq_layer(self, account_id: int) -> AutoLiqLayer | None:
        if not self.batch.has_auto_liq_layer(account_id):
            return None  # the usual case: one raw statement (SQLAlchemy building its own cost more)
        layer = self.auto_liq_layer(account_id)
        if layer is not None:
            self.conn.execute(delete(auto_liq_layer).where(auto_liq_layer.c.account_id == account_id))
            self.delete_timers(account_id, TimerKind.AUTO_LIQ_UNLOCK)
        return layer

    def add_alert(
        self, account_id: int, now: datetime, day: date, rule: str, level: Level, message: str
    ) -> Alert:
        values = {
            "account_id": account_id,
            "timestamp": now,
            "trade_date": day,
            "rule": rule,
            "level": level.value,
            "message": message,
        }
        alert_id = self.conn.execute(
            insert(auto_liq_alert).values(**values).returning(auto_liq_alert.c.id)
        ).scalar_one()
        return Alert(int(alert_id), account_id, now, day, rule, level, message)

    def alerts(
        self,
        organization_id: int,
        *,
        owner_id: int | None = None,
        account_id: int | None = None,
        after_id: int = 0,
        limit: int = 1000,
    ) -> list[Alert]:
        t = auto_liq_alert
        conds: list[ColumnElement[bool]] = [account.c.organization_id == organization_id, t.c.id > after_id]
        if owner_id is not None:
            conds.append(account.c.user_id == owner_id)
        if account_id is not None:
            conds.append(t.c.account_id == account_id)
        rows = self.conn.execute(
            select(t)
            .select_from(t.join(account, account.c.id == t.c.account_id))
            .where(and_(*conds))
            .order_by(t.c.id)
            .limit(limit)
        )
        return [
            Alert(r.id, r.account_id, r.timestamp, r.trade_date, r.rule, Level(r.level), r.message)
            for r in rows
        ]

    def candidates(self, contract_id: int, price_ticks: int) -> list[int]:
        p = position
        low = select(p.c.account_id).where(
            p.c.contract_id == contract_id, p.c.trigger_low_ticks >= price_ticks
        )
        high = select(p.c.account_id).where(
            p.c.contract_id == contract_id, p.c.trigger_high_ticks <= price_ticks
        )
        rows = self.conn.execute(union_all(low, high))
        return sorted({int(r[0]) for r in rows})

    def session_end_accounts(self) -> list[int]:
        p, s = position, user_account_auto_liq
        holding = (
            select(p.c.account_id)
            .select_from(p.join(s, s.c.id == p.c.account_id))
            .where(p.c.lots != FLAT_LOTS)
        )
        eod = select(s.c.id).where(
            s.c.trailing_max_drawdown.is_not(None), s.c.trailing_max_drawdown_mode == TrailingMode.EOD.value
        )
        return sorted({int(r[0]) for r in self.conn.execute(union_all(holding, eod))})

    def delete_timers(self, account_id: int, kind: TimerKind) -> int:
        t = risk_timer
        return int(
            self.conn.execute(delete(t).where(t.c.account_id == account_id, t.c.kind == kind.value)).rowcount
        )

    def session_closed_date(self) -> date | None:
        # Locked (PostgreSQL): workers running the session job at once take turns, and the second
        # reads what the first wrote.
        query = select(risk_session.c.closed_trade_date).where(risk_session.c.id == 1).with_for_update()
        return self.conn.execute(query).scalar()

    def save_session_closed_date(self, day: date) -> None:
        t = risk_session
        if self.conn.execute(update(t).where(t.c.id == 1).values(closed_trade_date=day)).rowcount == 0:
            self.conn.execute(insert(t).values(id=1, closed_trade_date=day))

    def working_day_orders(self, *, created_before: datetime) -> list[tuple[int, int]]:
        """(order id, account id) of the working Day orders entered before `created_before`."""
        t = trade_order
        rows = self.conn.execute(
            select(t.c.id, t.c.account_id).where(
                t.c.status == OrdStatus.WORKING.value,
                t.c.time_in_force == TimeInForce.DAY.value,
                t.c.created < created_before,
            )
        )
        return [(int(r.id), int(r.account_id)) for r in rows]
