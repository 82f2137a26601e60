"""Risk categories, account notes and demo-account resets over one SQLAlchemy connection (mixed
into SqlStore)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import ColumnElement

from autoliq.adapters.sql.schema import (
    account,
    auto_liq_layer,
    cash_balance,
    cash_change,
    fill,
    position,
    risk_category,
    trade_order,
    user_account_auto_liq,
)
from autoliq.adapters.sql.trading_repository import ConnectionOwner
from autoliq.domain.instruments import product_of_contract
from autoliq.domain.money import CashState
from autoliq.domain.orders import LIVE_STATUSES
from autoliq.domain.risk_admin import PastFill, RiskCategory
from autoliq.domain.states import Side

# SQLite binds at most 32,766 parameters per statement; stay well below for IN lists.
_IN_CHUNK = 5000


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), _IN_CHUNK):
        yield unique[start : start + _IN_CHUNK]


def _category(row: Any) -> RiskCategory:
    return RiskCategory(row.id, row.organization_id, row.name, bool(row.halted))


_LIVE_STATUSES = [s.value for s in LIVE_STATUSES]


class AdminRepository(ConnectionOwner):
    """The administrative siblings' storage (see `autoliq.service.ports.AdminStore`)."""

    # -- account notes --
    def account_notes(self, account_id: int) -> str | None:
        notes = self.conn.execute(select(account.c.notes).where(account.c.id == account_id)).scalar()
        return None if notes is None else str(notes)

    def set_account_notes(self, account_id: int, notes: str | None) -> None:
        self.conn.execute(update(account).where(account.c.id == account_id).values(notes=notes))

    # -- risk categories --
    def risk_categories(
        self, organization_id: int, *, ids: Sequence[int] | None = None
    ) -> list[RiskCategory]:
        t = risk_category
        mine: ColumnElement[bool] = t.c.organization_id == organization_id
        if ids is None:
            return [_category(r) for r in self.conn.execute(select(t).where(mine).order_by(t.c.id))]
        out: list[RiskCategory] = []
        for chunk in _chunks(ids):
            rows = self.conn.execute(select(t).where(and_(mine, t.c.id.in_(chunk))).order_by(t.c.id))
            out.extend(_category(r) for r in rows)
        return sorted(out, key=lambda c: c.id)

    def add_risk_category(self, organization_id: int, name: str, now: datetime) -> RiskCategory | None:
        dialect = postgresql if self.conn.dialect.name == "postgresql" else sqlite
        # ON CONFLICT: two firms' workers creating the same name at once get one row and one refusal.
        statement = (
            dialect.insert(risk_category)
            .values(organization_id=organization_id, name=name, halted=False, updated=now)
            .on_conflict_do_nothing(index_elements=["organization_id", "name"])
            .returning(risk_category.c.id)
        )
        new_id = self.conn.execute(statement).scalar()
        return None if new_id is None else RiskCategory(int(new_id), organization_id, name, False)

    def set_risk_category_halted(self, category_id: int, halted: bool, now: datetime) -> None:
        self.conn.execute(
            update(risk_category).where(risk_category.c.id == category_id).values(halted=halted, updated=now)
        )

    def switch_risk_category(self, account_ids: Sequence[int], category_id: int) -> int:
        moved = 0
        for chunk in _chunks(account_ids):
            result = self.conn.execute(
                update(account)
                .where(
                    account.c.id.in_(chunk),
                    or_(account.c.risk_category_id.is_(None), account.c.risk_category_id != category_id),
                )
                .values(risk_category_id=category_id)
            )
            moved += result.rowcount
        return moved

    # -- demo-account resets --
    def fills_before(self, account_ids: Sequence[int], day: date) -> dict[int, list[PastFill]]:
        out: dict[int, list[PastFill]] = {}
        for chunk in _chunks(account_ids):
            rows = self.conn.execute(
                select(
                    fill.c.account_id,
                    fill.c.contract_id,
                    fill.c.action,
                    fill.c.qty,
                    fill.c.price_ticks,
                    fill.c.trade_date,
                )
                .where(fill.c.account_id.in_(chunk), fill.c.trade_date < day)
                .order_by(fill.c.id)
            )
            for r in rows:
                product = product_of_contract(r.contract_id)
                tick = product.tick_size if product is not None else Decimal(1)
                out.setdefault(r.account_id, []).append(
                    PastFill(r.contract_id, Side(r.action), r.qty, r.price_ticks * tick, r.trade_date)
                )
        return out

    def position_contracts(self, account_ids: Sequence[int]) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        for chunk in _chunks(account_ids):
            rows = self.conn.execute(
                select(position.c.account_id, position.c.contract_id)
                .where(position.c.account_id.in_(chunk))
                .order_by(position.c.account_id, position.c.contract_id)
            )
            for r in rows:
                out.setdefault(r.account_id, []).append(r.contract_id)
        return out

    def cash_changes_before(self, account_ids: Sequence[int], before: datetime) -> dict[int, int]:
        out: dict[int, int] = {}
        for chunk in _chunks(account_ids):
            rows = self.conn.execute(
                select(cash_change.c.account_id, func.sum(cash_change.c.amount_cents).label("cents"))
                .where(cash_change.c.account_id.in_(chunk), cash_change.c.timestamp < before)
                .group_by(cash_change.c.account_id)
            )
            for r in rows:
                out[r.account_id] = int(r.cents)
        return out

    def working_orders_of(self, account_ids: Sequence[int]) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        for chunk in _chunks(account_ids):
            rows = self.conn.execute(
                select(trade_order.c.account_id, trade_order.c.id)
                .where(trade_order.c.account_id.in_(chunk), trade_order.c.status.in_(_LIVE_STATUSES))
                .order_by(trade_order.c.id)
            )
            for r in rows:
                out.setdefault(r.account_id, []).append(r.id)
        return out

    def with_auto_liq_layer(self, account_ids: Sequence[int]) -> set[int]:
        t = auto_liq_layer
        found: set[int] = set()
        for chunk in _chunks(account_ids):
            found.update(self.conn.execute(select(t.c.account_id).where(t.c.account_id.in_(chunk))).scalars())
        return found

    def with_post_trade_settings(self, account_ids: Sequence[int]) -> set[int]:
        t = user_account_auto_liq
        found: set[int] = set()
        for chunk in _chunks(account_ids):
            found.update(self.conn.execute(select(t.c.id).where(t.c.id.in_(chunk))).scalars())
        return found

    def save_cash_states(self, states: Mapping[int, CashState], now: datetime) -> None:
        rows: list[dict[str, Any]] = []
        for account_id, cash in states.items():
            if cash.trade_date is None:
                raise ValueError("a saved cash balance needs its trade date")
            rows.append(
                {
                    "account_id": account_id,
                    "amount_cents": cash.amount,
                    "realized_cents": cash.realized,
                    "week_realized_cents": cash.week_realized,
                    "amount_sod_cents": cash.amount_sod,
                    "timestamp": now,
                    "trade_date": cash.trade_date,
                }
            )
        # Replaced in bulk: two statements per 5,000 accounts, not two per account.
        for chunk in _chunks(list(states)):
            self.conn.execute(delete(cash_balance).where(cash_balance.c.account_id.in_(chunk)))
        for start in range(0, len(rows), _IN_CHUNK):
            self.conn.execute(insert(cash_balance), rows[start : start + _IN_CHUNK])
