"""Pre-trade limit rows over one SQLAlchemy connection (mixed into SqlStore)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, delete, func, insert, select, update
from sqlalchemy.sql import ColumnElement

from autoliq.adapters.sql.schema import (
    account,
    limit_log,
    position_limit,
    risk_parameter,
)
from autoliq.adapters.sql.trading_repository import ConnectionOwner
from autoliq.domain.position_limits import PositionLimit, RiskParameter, Scope, TotalBy

_IN_CHUNK = 500
_SCOPE_FIELDS = tuple(f.name for f in fields(Scope))
_LIMIT_VALUES = (
    "active",
    "long_limit",
    "short_limit",
    "exposed_limit",
    "fungible_exposed_limit",
    "description",
    "risk_time_period_id",
    "product_verification_status",
)
_PARAMETER_VALUES = (
    "max_opening_order_qty",
    "max_closing_order_qty",
    "max_back_month",
    "pre_expiration_days",
    "fungible_max_opening_order_qty",
    "fungible_max_closing_order_qty",
    "margin_percentage",
    "margin_dollar_value",
    "hard_limit",
    "product_verification_status",
)


class _Named:
    """A raw cursor's row read by column name."""

    __slots__ = ("_values",)

    def __init__(self, names: list[str], row: Sequence[Any]) -> None:
        self._values = dict(zip(names, row, strict=True))

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None


def _scope(row: Any) -> Scope:
    return Scope(**{name: getattr(row, name) for name in _SCOPE_FIELDS})


def _limit(row: Any) -> PositionLimit:
    values = {name: getattr(row, name) for name in _LIMIT_VALUES}
    values["active"] = bool(values["active"])
    return PositionLimit(row.id, row.account_id, TotalBy(row.total_by), _scope(row), **values)


def _parameter(row: Any) -> RiskParameter:
    values = {name: getattr(row, name) for name in _PARAMETER_VALUES}
    values["hard_limit"] = None if values["hard_limit"] is None else bool(values["hard_limit"])
    return RiskParameter(row.id, row.position_limit_id, scope=_scope(row), **values)


def _scope_values(scope: Scope) -> dict[str, Any]:
    return {name: getattr(scope, name) for name in _SCOPE_FIELDS}


def _chunks(ids: Sequence[int] | None) -> list[Sequence[int] | None]:
    if ids is None:
        return [None]
    unique = list(dict.fromkeys(ids))
    return [unique[i : i + _IN_CHUNK] for i in range(0, len(unique), _IN_CHUNK)] or [[]]


class LimitsRepository(ConnectionOwner):
    """`position_limit`, `risk_parameter` and `limit_log` of the Store port."""

    def _rows(
        self,
        table: Table,
        organization_id: int,
        owner_id: int | None,
        column: str,
        ids: Sequence[int] | None,
    ) -> list[Any]:
        j = table.join(account, account.c.id == table.c.account_id)
        conds: list[ColumnElement[bool]] = [account.c.organization_id == organization_id]
        if owner_id is not None:
            conds.append(account.c.user_id == owner_id)
        out: list[Any] = []
        for chunk in _chunks(ids):
            where = list(conds)
            if chunk is not None:
                where.append(table.c[column].in_(chunk))
            query = select(*table.c).select_from(j).where(and_(*where)).order_by(table.c.id)
            out.extend(self.conn.execute(query))
        return out

    def position_limits(
        self,
        organization_id: int,
        *,
        owner_id: int | None = None,
        ids: Sequence[int] | None = None,
        account_ids: Sequence[int] | None = None,
    ) -> list[PositionLimit]:
        column, keys = ("account_id", account_ids) if account_ids is not None else ("id", ids)
        found = [_limit(r) for r in self._rows(position_limit, organization_id, owner_id, column, keys)]
        if ids is not None and account_ids is not None:
            wanted = set(ids)
            found = [limit for limit in found if limit.id in wanted]
        return sorted(found, key=lambda limit: limit.id)

    def risk_parameters(
        self,
        organization_id: int,
        *,
        owner_id: int | None = None,
        ids: Sequence[int] | None = None,
        limit_ids: Sequence[int] | None = None,
    ) -> list[RiskParameter]:
        column, keys = ("position_limit_id", limit_ids) if limit_ids is not None else ("id", ids)
        found = [_parameter(r) for r in self._rows(risk_parameter, organization_id, owner_id, column, keys)]
        if ids is not None and limit_ids is not None:
            wanted = set(ids)
            found = [parameter for parameter in found if parameter.id in wanted]
        return sorted(found, key=lambda parameter: parameter.id)

    def count_position_limits(self, account_id: int) -> int:
        t = position_limit
        return int(self.conn.execute(select(func.count()).where(t.c.account_id == account_id)).scalar_one())

    def count_risk_parameters(self, position_limit_id: int) -> int:
        t = risk_parameter
        query = select(func.count()).where(t.c.position_limit_id == position_limit_id)
        return int(self.conn.execute(query).scalar_one())

    def save_position_limit(self, limit: PositionLimit, now: datetime) -> PositionLimit:
        values: dict[str, Any] = {name: getattr(limit, name) for name in _LIMIT_VALUES}
        values.update(_scope_values(limit.scope), total_by=limit.total_by.value, updated=now)
        t = position_limit
        if limit.id == 0:
            new_id = self.conn.execute(
                insert(t).values(account_id=limit.account_id, **values).returning(t.c.id)
            ).scalar_one()
            return replace(limit, id=int(new_id))
        self.conn.execute(update(t).where(t.c.id == limit.id).values(**values))
        return limit

    def save_risk_parameter(self, parameter: RiskParameter, account_id: int, now: datetime) -> RiskParameter:
        values: dict[str, Any] = {name: getattr(parameter, name) for name in _PARAMETER_VALUES}
        values.update(_scope_values(parameter.scope), updated=now)
        t = risk_parameter
        if parameter.id == 0:
            new_id = self.conn.execute(
                insert(t)
                .values(position_limit_id=parameter.position_limit_id, account_id=account_id, **values)
                .returning(t.c.id)
            ).scalar_one()
            return replace(parameter, id=int(new_id))
        self.conn.execute(update(t).where(t.c.id == parameter.id).values(**values))
        return parameter

    def delete_position_limit(self, limit_id: int) -> list[int]:
        t = risk_parameter
        gone = [int(r[0]) for r in self.conn.execute(select(t.c.id).where(t.c.position_limit_id == limit_id))]
        self.conn.execute(delete(t).where(t.c.position_limit_id == limit_id))
        self.conn.execute(delete(position_limit).where(position_limit.c.id == limit_id))
        return sorted(gone)

    def delete_risk_parameter(self, parameter_id: int) -> None:
        self.conn.execute(delete(risk_parameter).where(risk_parameter.c.id == parameter_id))

    def append_limit_log(
        self,
        account_id: int,
        now: datetime,
        entity_type: str,
        entity_id: int,
        change: str,
        actor_user_id: int | None,
        entity: str | None,
    ) -> None:
        self.conn.execute(
            insert(limit_log).values(
                account_id=account_id,
                timestamp=now,
                entity_type=entity_type,
                entity_id=entity_id,
                change=change,
                actor_user_id=actor_user_id,
                entity=entity,
            )
        )

    # The gate's reads run on the order path's raw cursor (statements.py), as its other reads: a
    # snapshot's read-only transaction is the cursor's, which SQLAlchemy's own statements would
    # try to begin again.
    def _raw(self, name: str, params: tuple[Any, ...]) -> list[Any]:
        batch = self.batch
        cursor = batch.read_cursor
        cursor.execute(batch.statements[name], params)
        return list(cursor.fetchall())

    def account_contracts(self, account_id: int) -> list[int]:
        return sorted({int(r[0]) for r in self._raw("account_contracts", (account_id, account_id))})

    def account_limits(self, account_id: int) -> tuple[list[PositionLimit], list[RiskParameter]]:
        limit_names = [c.name for c in position_limit.c]
        limits = [_limit(_Named(limit_names, r)) for r in self._raw("account_limits", (account_id,))]
        if not limits:
            return [], []
        active = {limit.id for limit in limits}
        names = [c.name for c in risk_parameter.c]
        rows = self._raw("account_parameters", (account_id,))
        return limits, [
            p for p in (_parameter(_Named(names, r)) for r in rows) if p.position_limit_id in active
        ]
