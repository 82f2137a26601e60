"""The hot statements, compiled from the schema once per dialect and run on the raw DB-API cursor.

SQLAlchemy Core builds, caches and compiles a statement on each `execute`; on the write path that
cost was most of the writer thread's time (py-spy; figures in docs/performance.md). These statements are
fixed, so each is built here with SQLAlchemy from `schema.py` (the one
schema: a renamed column breaks here, not in production) and compiled once per dialect to its SQL
text with positional parameters; the callers execute that text on the DB-API connection of the
SQLAlchemy transaction (same connection, same transaction), their values converted by `codec.py`,
the converter SQLAlchemy's column types use too. `names` gives each statement's parameter order,
checked against the order the callers pass when the statements are compiled.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Dialect,
    Table,
    any_,
    bindparam,
    cast,
    delete,
    exists,
    func,
    insert,
    literal_column,
    null,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql import Executable, Select

from autoliq.adapters.sql.schema import (
    account,
    account_risk_status,
    account_risk_status_log,
    auto_liq_alert,
    auto_liq_layer,
    cash_balance,
    contract_price,
    equity_point,
    event_outbox,
    fill,
    order_strategy,
    position,
    position_limit,
    risk_category,
    risk_parameter,
    risk_timer,
    trade_order,
    user_account_auto_liq,
)
from autoliq.domain.linked import StrategyStatus
from autoliq.domain.orders import OrdStatus
from autoliq.domain.post_trade import SETTING_FIELDS


@dataclass(frozen=True, slots=True)
class Statement:
    """One compiled statement: its SQL text and the names of its positional parameters, in order."""

    sql: str
    names: tuple[str, ...]


def _params(table: Table, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: bindparam(name, type_=table.c[name].type) for name in names}


# Column lists whose order the readers index by position.
STATUS_COLUMNS = (
    "id", "admin_action", "admin_timestamp", "liquidate_only", "user_triggered_liq_only", "max_net_liq",
    "min_net_liq",
)  # fmt: skip
LOG_COLUMNS = (
    "account_id", "timestamp", "admin_action", "admin_timestamp", "liquidate_only", "user_triggered_liq_only",
    "max_net_liq", "min_net_liq", "actor", "actor_user_id", "reason_code", "reason",
)  # fmt: skip
ORDER_COLUMNS = (
    "id", "account_id", "contract_id", "action", "order_type", "qty", "time_in_force", "status", "admin",
    "created", "limit_ticks", "stop_ticks", "triggered", "fill_ticks", "parent_id", "oco_id", "strategy_id",
    "offset_ticks", "has_children",
)  # fmt: skip
ORDER_INSERT_COLUMNS = (
    "account_id", "contract_id", "action", "order_type", "qty", "time_in_force", "status", "admin",
    "limit_ticks", "stop_ticks", "triggered", "fill_ticks", "cl_ord_id", "created", "updated", "parent_id",
    "has_children", "strategy_id", "strategy_label", "offset_ticks",
)  # fmt: skip
FILL_INSERT_COLUMNS = (
    "order_id", "account_id", "contract_id", "action", "qty", "price_ticks", "timestamp", "trade_date",
)  # fmt: skip
POSITION_COLUMNS = ("lots", "bought", "bought_ticks", "sold", "sold_ticks", "realized_ticks")
POSITION_SAVE_COLUMNS = ("account_id", "contract_id", *POSITION_COLUMNS, "timestamp", "trade_date")
CASH_COLUMNS = ("amount_cents", "realized_cents", "week_realized_cents", "amount_sod_cents", "trade_date")
OUTBOX_COLUMNS = ("origin", "created", "payload")
LAYER_COLUMNS = ("account_id", "state", "rule", "since", "until")
TIMER_INSERT_COLUMNS = ("account_id", "kind", "admin_action", "set_at", "due_at")
EQUITY_INSERT_COLUMNS = ("account_id", "at", "net_liq_cents", "floor_cents")
ALERT_INSERT_COLUMNS = ("account_id", "timestamp", "trade_date", "rule", "level", "message")
CASH_SAVE_COLUMNS = (
    "account_id", "amount_cents", "realized_cents", "week_realized_cents", "amount_sod_cents", "timestamp",
    "trade_date",
)  # fmt: skip

_WORKING: ColumnElement[str] = literal_column(f"'{OrdStatus.WORKING.value}'")
_SUSPENDED: ColumnElement[str] = literal_column(f"'{OrdStatus.SUSPENDED.value}'")
_ACTIVE: ColumnElement[str] = literal_column(f"'{StrategyStatus.ACTIVE.value}'")


def _status_select(*, locking: bool) -> Executable:
    s = account_risk_status
    query = select(*(s.c[name] for name in STATUS_COLUMNS)).where(s.c.id == bindparam("id"))
    return query.with_for_update() if locking else query


def _limited(account_id: Any) -> Any:
    """Whether the account has an active pre-trade limit row (an index probe)."""
    rows = position_limit.c
    return exists().where(rows.account_id == account_id, rows.active == true()).label("limited")


def _gate_select(*, locking: bool) -> Executable:
    """The gate's one statement: the admin action, the auto-liq layer, the category's halt, and
    whether the account has active pre-trade limits."""
    s, layer, category = account_risk_status, auto_liq_layer, risk_category
    query = (
        select(s.c.admin_action, layer.c.state, category.c.halted, _limited(s.c.id))
        .select_from(
            s.join(account, account.c.id == s.c.id)
            .outerjoin(layer, layer.c.account_id == s.c.id)
            .outerjoin(category, category.c.id == account.c.risk_category_id)
        )
        .where(s.c.id == bindparam("id"))
    )
    return query.with_for_update(of=s) if locking else query


def _outbox_insert_returning(dialect: str) -> Executable:
    """A transaction's outbox rows in one statement whatever their number, answering their ids (the
    writer hands them to its own relay), inserted in the order of the payloads (ids ascending): on
    the payloads as one JSON array of texts (SQLite `json_each`, PostgreSQL
    `json_array_elements_text`). On PostgreSQL a `text[]` parameter was dumped by psycopg's array
    dumper, in Python, with a regular-expression escape per quote of each JSON payload: a quarter of
    the writer thread's time on fills (py-spy; docs/performance.md)."""
    payloads_text = bindparam("payloads", type_=event_outbox.c.payload.type)
    if dialect == "sqlite":
        payload: Any = func.json_each(payloads_text).table_valued("value").c.value
    else:
        payload = func.json_array_elements_text(cast(payloads_text, postgresql.JSON))
    rows = select(
        bindparam("origin", type_=event_outbox.c.origin.type),
        bindparam("created", type_=event_outbox.c.created.type),
        payload,
    )
    return insert(event_outbox).from_select(list(OUTBOX_COLUMNS), rows).returning(event_outbox.c.id)


def _statuses_select(*, locking: bool) -> Executable:
    """PostgreSQL: a batch's statuses with their layer and halt, in one query (in account order when
    locking, so that two batches locking the same accounts cannot deadlock)."""
    s, layer, category = account_risk_status, auto_liq_layer, risk_category
    query = (
        select(*(s.c[name] for name in STATUS_COLUMNS), layer.c.state, category.c.halted, _limited(s.c.id))
        .select_from(
            s.join(account, account.c.id == s.c.id)
            .outerjoin(layer, layer.c.account_id == s.c.id)
            .outerjoin(category, category.c.id == account.c.risk_category_id)
        )
        .where(s.c.id == any_(bindparam("ids")))
    )
    return query.order_by(s.c.id).with_for_update(of=s) if locking else query


def _upsert(table: Table, columns: tuple[str, ...], key: tuple[str, ...], dialect: str) -> Executable:
    build = sqlite_insert if dialect == "sqlite" else pg_insert
    statement = build(table).values(_params(table, columns))
    updated = {name: statement.excluded[name] for name in columns if name not in key}
    return statement.on_conflict_do_update(index_elements=[table.c[k] for k in key], set_=updated)


def _orders(where: ColumnElement[bool]) -> Executable:
    t = trade_order
    return select(*(t.c[name] for name in ORDER_COLUMNS)).where(where).order_by(t.c.id)


# -- the liquidation (set-based: a statement per table, however many positions and orders) --
def _in_ids(column: Column[Any], dialect: str) -> ColumnElement[bool]:
    """`column` is one of the ids of parameter `ids`: a JSON array's text on SQLite (`json_each`),
    an array on PostgreSQL; one compiled statement whatever the number of ids."""
    if dialect == "sqlite":
        each: Select[Any] = select(literal_column("value")).select_from(func.json_each(bindparam("ids")))
        return column.in_(each.scalar_subquery())
    return column == any_(bindparam("ids"))


def _accounts_numbers(dialect: str) -> Executable:
    """`account_numbers` of many accounts in one read: each row starts with its account's id (rows
    in account id order, then contract id)."""
    query = _numbers_query([account.c.id], [], _in_ids(account.c.id, dialect))
    return query.order_by(account.c.id, position.c.contract_id)


def _numbers_query(lead: list[Any], flags: list[Any], where: ColumnElement[bool]) -> Select[Any]:
    """An account's positions (one row with NULL positions when it has none), each with its
    contract's last price, and its cash row: `lead` columns first, `flags` last."""
    a, p, cp, c = account, position, contract_price, cash_balance
    return (
        select(
            *lead,
            p.c.contract_id,
            *(p.c[name] for name in POSITION_COLUMNS),
            cp.c.price_ticks,
            *(c.c[name] for name in CASH_COLUMNS),
            *flags,
        )
        .select_from(
            a.outerjoin(p, p.c.account_id == a.c.id)
            .outerjoin(cp, cp.c.contract_id == p.c.contract_id)
            .outerjoin(c, c.c.account_id == a.c.id)
        )
        .where(where)
    )


ACCOUNT_COLUMNS = ("id", "organization_id", "user_id", "name", "created", "archived", "risk_category_id")
LAYER_READ_COLUMNS = ("state", "rule", "since", "until")


def _evaluation_inputs(dialect: str) -> Executable:
    """The evaluation's first read of many accounts, one row each (those with post-trade settings):
    the settings (`post_trade.SETTING_FIELDS` after the id), the account (ACCOUNT_COLUMNS), its status
    (STATUS_COLUMNS, NULL without a row), its auto-liq layer (LAYER_READ_COLUMNS, NULL without) and
    its latest equity point's net liquidation value and floor (NULL without one: one index seek)."""
    u, a, s, layer, e = user_account_auto_liq, account, account_risk_status, auto_liq_layer, equity_point
    older = equity_point.alias("older")
    latest = select(func.max(older.c.id)).where(older.c.account_id == u.c.id).scalar_subquery()
    return (
        select(
            u.c.id,
            *(u.c[name] for name in SETTING_FIELDS),
            *(a.c[name] for name in ACCOUNT_COLUMNS),
            *(s.c[name] for name in STATUS_COLUMNS),
            *(layer.c[name] for name in LAYER_READ_COLUMNS),
            e.c.net_liq_cents,
            e.c.floor_cents,
        )
        .select_from(
            u.join(a, a.c.id == u.c.id)
            .outerjoin(s, s.c.id == u.c.id)
            .outerjoin(layer, layer.c.account_id == u.c.id)
            .outerjoin(e, e.c.id == latest)
        )
        .where(_in_ids(u.c.id, dialect))
    )


def _tick_writes(dialect: str) -> dict[str, tuple[Executable, tuple[str, ...]]]:
    """The evaluation's writes of many accounts (risk_engine.evaluate_accounts), each one statement
    or one `executemany`."""
    g, t, p, timer = order_strategy, trade_order, position, risk_timer
    s, layer = account_risk_status, auto_liq_layer
    interrupt = _interrupt_strategies(_in_ids(g.c.account_id, dialect))
    cancel = _cancel_live_orders(_in_ids(t.c.account_id, dialect))
    no_trigger = (p.c.trigger_low_ticks.is_not(None)) | (p.c.trigger_high_ticks.is_not(None))
    return {
        "evaluation_inputs": (_evaluation_inputs(dialect), ("ids",)),
        "accounts_numbers": (_accounts_numbers(dialect), ("ids",)),
        "interrupt_strategies_of": (
            interrupt,
            ("strategy_status", "failure_message", "strategy_updated", "ids"),
        ),
        "cancel_live_orders_of": (cancel, ("order_status", "order_updated", "ids")),
        "upsert_status": (_upsert(s, STATUS_COLUMNS, ("id",), dialect), STATUS_COLUMNS),
        "save_layer": (_upsert(layer, LAYER_COLUMNS, ("account_id",), dialect), LAYER_COLUMNS),
        "delete_timers_of": (
            delete(timer).where((timer.c.kind == bindparam("kind")) & _in_ids(timer.c.account_id, dialect)),
            ("kind", "ids"),
        ),
        "insert_timer": (insert(timer).values(_params(timer, TIMER_INSERT_COLUMNS)), TIMER_INSERT_COLUMNS),
        "insert_equity_point": (
            insert(equity_point).values(_params(equity_point, EQUITY_INSERT_COLUMNS)),
            EQUITY_INSERT_COLUMNS,
        ),
        "clear_triggers": (
            update(p)
            .where((p.c.account_id == bindparam("account_id")) & no_trigger)
            .values(trigger_low_ticks=null(), trigger_high_ticks=null()),
            ("account_id",),
        ),
        "set_triggers": (
            update(p)
            .where(
                (p.c.account_id == bindparam("account_id")) & (p.c.contract_id == bindparam("contract_id"))
            )
            .values(
                trigger_low_ticks=bindparam("low", type_=p.c.trigger_low_ticks.type),
                trigger_high_ticks=bindparam("high", type_=p.c.trigger_high_ticks.type),
            ),
            ("low", "high", "account_id", "contract_id"),
        ),
    }


def _liquidation_state(live_work: bool = True) -> Executable:
    """An account's positions (one row with NULL positions when it has none), each with its contract's
    last price, the account's cash row, and whether it has post-trade settings, running strategies
    and live (working or suspended) orders: a liquidation's one read. Without `live_work`, the
    positions, prices and cash only (an evaluation's numbers: the three EXISTS are not free, the
    live orders' one walks the account's order history in the index)."""
    a, p, t, g = account, position, trade_order, order_strategy
    flags: list[Any] = []
    if live_work:
        settings = exists().where(user_account_auto_liq.c.id == a.c.id)
        strategies = exists().where((g.c.account_id == a.c.id) & (g.c.status == _ACTIVE))
        orders = exists().where((t.c.account_id == a.c.id) & t.c.status.in_([_WORKING, _SUSPENDED]))
        flags = [settings.label("has_settings"), strategies.label("strategies"), orders.label("orders")]
    where = a.c.id == bindparam("account_id")
    return _numbers_query([], flags, where).order_by(p.c.contract_id)


INTERRUPT_STRATEGIES = ("strategy_status", "failure_message", "strategy_updated", "strategy_account_id")
CANCEL_LIVE_ORDERS = ("order_status", "order_updated", "order_account_id")


def _interrupt_strategies(accounts: ColumnElement[bool] | None = None) -> Any:
    """The account's running strategies interrupted: their ids (`accounts`: of the accounts it
    selects instead, with their account ids)."""
    g = order_strategy
    which = g.c.account_id == bindparam("strategy_account_id") if accounts is None else accounts
    statement = (
        update(g)
        .where(which & (g.c.status == _ACTIVE))
        .values(
            status=bindparam("strategy_status", type_=g.c.status.type),
            failure_message=bindparam("failure_message", type_=g.c.failure_message.type),
            updated=bindparam("strategy_updated", type_=g.c.updated.type),
        )
    )
    return statement.returning(g.c.id) if accounts is None else statement.returning(g.c.account_id, g.c.id)


def _cancel_live_orders(accounts: ColumnElement[bool] | None = None) -> Any:
    """The account's working and suspended orders cancelled: their ids (`accounts`: of the accounts
    it selects instead, with their account ids)."""
    t = trade_order
    which = t.c.account_id == bindparam("order_account_id") if accounts is None else accounts
    statement = (
        update(t)
        .where(which & t.c.status.in_([_WORKING, _SUSPENDED]))
        .values(
            status=bindparam("order_status", type_=t.c.status.type),
            updated=bindparam("order_updated", type_=t.c.updated.type),
        )
    )
    return statement.returning(t.c.id) if accounts is None else statement.returning(t.c.account_id, t.c.id)


def _end_live_work() -> Executable:
    """PostgreSQL: both in one statement (SQLite has no data-modifying WITH): (0, strategy id) and
    (1, order id) rows."""
    s = _interrupt_strategies().cte("s")
    o = _cancel_live_orders().cte("o")
    return select(literal_column("0"), s.c.id).union_all(select(literal_column("1"), o.c.id))


def _reserve_ids(table: Table) -> Executable:
    """PostgreSQL: `n` new ids of `table`'s sequence."""
    sequence = func.pg_get_serial_sequence(literal_column(f"'{table.name}'"), literal_column("'id'"))
    return select(func.nextval(sequence)).select_from(
        func.generate_series(literal_column("1"), bindparam("n"))
    )


def _order_batch() -> dict[str, tuple[Executable, tuple[str, ...]]]:
    """PostgreSQL: what a batch of placed orders reads up front (`Batch.prepare_batch`), each one
    query for the whole batch (the pairs' accounts x contracts: the callers keep their pairs), and its
    INSERTs with reserved ids (buffered, sent by `flush`)."""
    p, cp, c, t, u = position, contract_price, cash_balance, trade_order, user_account_auto_liq
    accounts: Any = bindparam("accounts")
    contracts: Any = bindparam("contracts")
    return {
        "batch_prices": (
            select(cp.c.contract_id, cp.c.price_ticks).where(cp.c.contract_id == any_(contracts)),
            ("contracts",),
        ),
        "batch_positions": (
            select(p.c.account_id, p.c.contract_id, *(p.c[name] for name in POSITION_COLUMNS)).where(
                (p.c.account_id == any_(accounts)) & (p.c.contract_id == any_(contracts))
            ),
            ("accounts", "contracts"),
        ),
        "batch_working": (
            _orders(
                (t.c.account_id == any_(accounts))
                & (t.c.contract_id == any_(contracts))
                & (t.c.status == _WORKING)
            ),
            ("accounts", "contracts"),
        ),
        "batch_cash": (
            select(c.c.account_id, *(c.c[name] for name in CASH_COLUMNS)).where(
                c.c.account_id == any_(accounts)
            ),
            ("accounts",),
        ),
        "batch_settings": (select(u.c.id).where(u.c.id == any_(accounts)), ("accounts",)),
        "reserve_order_ids": (_reserve_ids(t), ("n",)),
        "reserve_fill_ids": (_reserve_ids(fill), ("n",)),
        "insert_order_with_id": (
            insert(t).values(_params(t, ("id", *ORDER_INSERT_COLUMNS))),
            ("id", *ORDER_INSERT_COLUMNS),
        ),
        "insert_fill_with_id": (
            insert(fill).values(_params(fill, ("id", *FILL_INSERT_COLUMNS))),
            ("id", *FILL_INSERT_COLUMNS),
        ),
    }


def _liquidation(dialect: str) -> dict[str, tuple[Executable, tuple[str, ...]]]:
    built: dict[str, tuple[Executable, tuple[str, ...]]] = {
        "liquidation_state": (_liquidation_state(), ("account_id",)),
        "account_numbers": (_liquidation_state(live_work=False), ("account_id",)),
        "interrupt_strategies": (_interrupt_strategies(), INTERRUPT_STRATEGIES),
        "cancel_live_orders": (_cancel_live_orders(), CANCEL_LIVE_ORDERS),
    }
    if dialect != "sqlite":
        built["end_live_work"] = (_end_live_work(), (*INTERRUPT_STRATEGIES, *CANCEL_LIVE_ORDERS))
        built.update(_order_batch())
    return built


def _build(dialect: str) -> dict[str, tuple[Executable, tuple[str, ...]]]:
    s, log, t = account_risk_status, account_risk_status_log, trade_order
    status_values = STATUS_COLUMNS[1:]
    return {
        # -- the risk status and its log (every admin action) --
        "select_status": (_status_select(locking=False), ("id",)),
        "select_status_locked": (_status_select(locking=True), ("id",)),
        "select_trading_state": (_gate_select(locking=False), ("id",)),
        "select_trading_state_locked": (_gate_select(locking=True), ("id",)),
        "select_statuses": (_statuses_select(locking=False), ("ids",)),
        "select_statuses_locked": (_statuses_select(locking=True), ("ids",)),
        # -- the outbox (every write's events) --
        "insert_outbox": (insert(event_outbox).values(_params(event_outbox, OUTBOX_COLUMNS)), OUTBOX_COLUMNS),
        "select_layer_exists": (
            select(literal_column("1")).where(auto_liq_layer.c.account_id == bindparam("id")),
            ("id",),
        ),
        "update_status": (
            update(s).where(s.c.id == bindparam("id")).values(_params(s, status_values)),
            (*status_values, "id"),
        ),
        "insert_status": (insert(s).values(_params(s, STATUS_COLUMNS)), STATUS_COLUMNS),
        "insert_log": (insert(log).values(_params(log, LOG_COLUMNS)).returning(log.c.id), LOG_COLUMNS),
        "insert_log_with_id": (insert(log).values(_params(log, ("id", *LOG_COLUMNS))), ("id", *LOG_COLUMNS)),
        "reserve_log_ids": (
            select(
                func.nextval(
                    func.pg_get_serial_sequence(literal_column(f"'{log.name}'"), literal_column("'id'"))
                )
            ).select_from(func.generate_series(literal_column("1"), bindparam("n"))),
            ("n",),
        ),
        # -- the order path --
        "last_price": (
            select(contract_price.c.price_ticks).where(
                contract_price.c.contract_id == bindparam("contract_id")
            ),
            ("contract_id",),
        ),
        "has_settings": (
            select(literal_column("1")).where(user_account_auto_liq.c.id == bindparam("account_id")),
            ("account_id",),
        ),
        # -- a limited account's pre-trade limits (read by the gate; `limits_repository.py`) --
        "account_limits": (
            select(*position_limit.c)
            .where(position_limit.c.account_id == bindparam("account_id"), position_limit.c.active == true())
            .order_by(position_limit.c.id),
            ("account_id",),
        ),
        "account_parameters": (
            select(*risk_parameter.c)
            .where(risk_parameter.c.account_id == bindparam("account_id"))
            .order_by(risk_parameter.c.id),
            ("account_id",),
        ),
        "account_contracts": (
            select(position.c.contract_id)
            .where(position.c.account_id == bindparam("account_id"), position.c.bought != position.c.sold)
            .union(
                select(t.c.contract_id).where(
                    t.c.account_id == bindparam("account_id"), t.c.status == _WORKING
                )
            ),
            ("account_id", "account_id"),
        ),
        "working": (
            _orders((t.c.contract_id == bindparam("contract_id")) & (t.c.status == _WORKING)),
            ("contract_id",),
        ),
        "working_of_account": (
            _orders(
                (t.c.account_id == bindparam("account_id"))
                & (t.c.contract_id == bindparam("contract_id"))
                & (t.c.status == _WORKING)
            ),
            ("account_id", "contract_id"),
        ),
        "children": (_orders(t.c.parent_id == bindparam("parent_id")), ("parent_id",)),
        "order": (
            select(*(t.c[name] for name in ORDER_COLUMNS)).where(t.c.id == bindparam("order_id")),
            ("order_id",),
        ),
        "insert_order": (
            insert(t).values(_params(t, ORDER_INSERT_COLUMNS)).returning(t.c.id),
            ORDER_INSERT_COLUMNS,
        ),
        "insert_fill": (
            insert(fill).values(_params(fill, FILL_INSERT_COLUMNS)).returning(fill.c.id),
            FILL_INSERT_COLUMNS,
        ),
        # The same without RETURNING, for SQLite's executemany (which returns no rows).
        "insert_order_plain": (insert(t).values(_params(t, ORDER_INSERT_COLUMNS)), ORDER_INSERT_COLUMNS),
        "insert_fill_plain": (insert(fill).values(_params(fill, FILL_INSERT_COLUMNS)), FILL_INSERT_COLUMNS),
        "insert_alert": (
            insert(auto_liq_alert)
            .values(_params(auto_liq_alert, ALERT_INSERT_COLUMNS))
            .returning(auto_liq_alert.c.id),
            ALERT_INSERT_COLUMNS,
        ),
        "insert_alert_plain": (
            insert(auto_liq_alert).values(_params(auto_liq_alert, ALERT_INSERT_COLUMNS)),
            ALERT_INSERT_COLUMNS,
        ),
        "position": (
            select(*(position.c[name] for name in POSITION_COLUMNS)).where(
                (position.c.account_id == bindparam("account_id"))
                & (position.c.contract_id == bindparam("contract_id"))
            ),
            ("account_id", "contract_id"),
        ),
        "save_position": (
            _upsert(position, POSITION_SAVE_COLUMNS, ("account_id", "contract_id"), dialect),
            POSITION_SAVE_COLUMNS,
        ),
        "cash": (
            select(*(cash_balance.c[name] for name in CASH_COLUMNS)).where(
                cash_balance.c.account_id == bindparam("account_id")
            ),
            ("account_id",),
        ),
        "save_cash": (_upsert(cash_balance, CASH_SAVE_COLUMNS, ("account_id",), dialect), CASH_SAVE_COLUMNS),
        **_liquidation(dialect),
        **_tick_writes(dialect),
        **_outbox(dialect),
    }


def _outbox(dialect: str) -> dict[str, tuple[Executable, tuple[str, ...]]]:
    """The outbox (every write's events): one row (its id the cursor's `lastrowid` on SQLite), or
    several in one statement answering their ids."""
    built: dict[str, tuple[Executable, tuple[str, ...]]] = {
        "insert_outbox_returning": (_outbox_insert_returning(dialect), ("origin", "created", "payloads")),
    }
    if dialect != "sqlite":
        one = insert(event_outbox).values(_params(event_outbox, OUTBOX_COLUMNS)).returning(event_outbox.c.id)
        built["insert_outbox_one"] = (one, OUTBOX_COLUMNS)
    return built


def _dialect(name: str) -> Dialect:
    if name == "sqlite":
        return sqlite.pysqlite.dialect()  # qmark: `?`
    # `%s` parameters, without the psycopg dialect's casts: the text psycopg is given by hand.
    return postgresql.psycopg2.dialect(paramstyle="format")  # type: ignore[no-untyped-call]


class Statements:
    """The compiled hot statements of one dialect, by name (`statements_for`)."""

    def __init__(self, dialect_name: str) -> None:
        dialect = _dialect(dialect_name)
        self.dialect_name = dialect_name
        self._compiled: dict[str, Statement] = {}
        for name, (statement, names) in _build(dialect_name).items():
            # for_executemany: no implicit RETURNING of a generated key (only where a statement asks).
            compiled = statement.compile(dialect=dialect, for_executemany=True)  # type: ignore[attr-defined]
            order = tuple(compiled.positiontup or ())
            if order != names:
                raise AssertionError(f"statement {name}: parameters {order}, callers pass {names}")
            self._compiled[name] = Statement(compiled.string, order)

    def __getitem__(self, name: str) -> str:
        """The SQL text of statement `name`."""
        return self._compiled[name].sql

    def statement(self, name: str) -> Statement:
        """Statement `name` with its parameter names."""
        return self._compiled[name]


MANY_ROWS = 8
"""Above this many rows, `LiquidationRepository._insert` sends one single-row statement per row in one
`executemany` instead of a multi-row INSERT compiled for the row count: compiling one of hundreds of
rows costs tens of milliseconds (a price tick liquidating hundreds of accounts paid it per count,
py-spy), where `executemany` runs in the driver (SQLite's in C, psycopg's pipelined)."""
SINGLE_ROW: dict[str, tuple[str, str]] = {
    # multi-row name: (single-row statement with RETURNING id, without)
    "insert_orders": ("insert_order", "insert_order_plain"),
    "insert_fills": ("insert_fill", "insert_fill_plain"),
    "insert_alerts": ("insert_alert", "insert_alert_plain"),
    "save_positions": ("save_position", "save_position"),
}
MAX_ROWS_PER_INSERT = 500
"""The most rows `insert_rows` puts in one INSERT (SQLite binds at most 32,766 parameters; an
order row has 20)."""
_MULTI_ROW: dict[str, tuple[Table, tuple[str, ...], tuple[str, ...]]] = {
    # name: (table, columns of each row, conflict key: an upsert without RETURNING where given)
    "insert_orders": (trade_order, ORDER_INSERT_COLUMNS, ()),
    "insert_fills": (fill, FILL_INSERT_COLUMNS, ()),
    "insert_alerts": (auto_liq_alert, ALERT_INSERT_COLUMNS, ()),
    "save_positions": (position, POSITION_SAVE_COLUMNS, ("account_id", "contract_id")),
}


@lru_cache(maxsize=64)
def insert_rows(dialect_name: str, name: str, rows: int) -> Statement:
    """A multi-row INSERT of `rows` rows, compiled once per dialect and row count: `insert_orders`
    (ORDER_INSERT_COLUMNS per row) and `insert_fills` (FILL_INSERT_COLUMNS) return the new ids,
    which come back in insertion order once sorted (ids ascend as the rows are inserted);
    `save_positions` (POSITION_SAVE_COLUMNS) is save_position's upsert, many rows at once (no two
    of one position). Its parameters are the rows' values one row after the other. One statement
    however many rows (up to MAX_ROWS_PER_INSERT): SQLite's `executemany` returns no rows, and
    psycopg's costs more than one statement for a few rows."""
    if not 0 < rows <= MAX_ROWS_PER_INSERT:
        raise ValueError(f"insert_rows: {rows} rows (1 to {MAX_ROWS_PER_INSERT})")
    table, columns, key = _MULTI_ROW[name]
    values = [{c: bindparam(f"{c}_{i}", type_=table.c[c].type) for c in columns} for i in range(rows)]
    statement: Executable
    if key:
        build = sqlite_insert if dialect_name == "sqlite" else pg_insert
        upsert = build(table).values(values)
        updated = {c: upsert.excluded[c] for c in columns if c not in key}
        statement = upsert.on_conflict_do_update(index_elements=[table.c[k] for k in key], set_=updated)
    else:
        statement = insert(table).values(values).returning(table.c.id)
    compiled = statement.compile(dialect=_dialect(dialect_name))
    order = tuple(compiled.positiontup or ())
    names = tuple(f"{c}_{i}" for i in range(rows) for c in columns)
    if order != names:
        raise AssertionError(f"statement {name} of {rows} rows: parameters {order[: len(columns)]}...")
    return Statement(compiled.string, order)


@cache
def statements_for(dialect_name: str) -> Statements:
    """The hot statements of a dialect ("sqlite" or "postgresql"), compiled on first use."""
    return Statements(dialect_name)
