"""A liquidation's cost in SQL statements: counted at the DB-API level, whatever the account holds.

The writer's connections are made with a cursor class that counts every `execute` and
`executemany` (an `executemany` is one statement sent with many parameter rows), so the count sees
the raw-cursor statements SQLAlchemy's events miss, and everything the transaction runs: the unit of
work's own reads (PostgreSQL's prepared batch), `BEGIN IMMEDIATE` on SQLite, the outbox insert and
PostgreSQL's `pg_notify`. (`COMMIT` is sent by the DB-API connection, not a cursor: not counted.)
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.engine import make_url

from autoliq.adapters.publisher import InMemoryPublisher
from autoliq.adapters.sql.db import create_admin_engine, is_sqlite, normalize_url, sqlite_file
from autoliq.adapters.sql.repositories import SqlStore
from autoliq.adapters.sql.schema import fill, position, trade_order
from autoliq.adapters.sql.unit_of_work import UnitOfWork
from autoliq.domain.instruments import PRODUCTS, ContractSpec, listed_contracts
from autoliq.domain.orders import OrderType, OrdStatus, TimeInForce
from autoliq.domain.rules import SetAdminAction
from autoliq.domain.states import AdminAction, ReasonCode, Side
from autoliq.service.clock import ManualClock
from autoliq.service.ports import Store
from autoliq.service.risk_status import STORE_ENGINE, apply_admin_action
from tests.conftest import World

T = TypeVar("T")
NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
MAX_STATEMENTS = 12


class Counter:
    """Statements sent on the counting connections since `reset`."""

    def __init__(self) -> None:
        self.count = 0
        self.sql: list[str] = []
        self.exists = 0
        """Statements with an EXISTS subquery among them, but the gate's statuses read (its one
        EXISTS says whether the account has pre-trade limits: `statements._limited`)."""

    def reset(self) -> None:
        self.count = 0
        self.sql = []
        self.exists = 0

    def saw(self, statement: Any) -> None:
        self.count += 1
        text = " ".join(str(statement).split())
        self.exists += "EXISTS" in text.upper() and "POSITION_LIMIT" not in text.upper()
        self.sql.append(text[:90])


COUNTER = Counter()


class _SqliteCursor(sqlite3.Cursor):
    def execute(self, sql: str, parameters: Any = (), /) -> Any:
        COUNTER.saw(sql)
        return super().execute(sql, parameters)

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> Any:
        COUNTER.saw(sql)
        return super().executemany(sql, seq_of_parameters)


class _SqliteConnection(sqlite3.Connection):
    def cursor(self, factory: Any = _SqliteCursor) -> Any:  # type: ignore[override]
        return super().cursor(factory)


def _counting_write_engine(url: str) -> Engine:
    """A writer engine like `create_db_engine(url, writer=True)`, its cursors counting."""
    url = normalize_url(url)
    if is_sqlite(url):
        path = sqlite_file(url)
        assert path is not None
        engine = create_engine(
            url,
            creator=lambda: sqlite3.connect(
                path, check_same_thread=False, isolation_level=None, factory=_SqliteConnection
            ),
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = sqlite3.Cursor(dbapi_connection)  # not counted: set-up
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.close()

        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        return engine
    import psycopg

    class _PgCursor(psycopg.Cursor[Any]):
        def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
            COUNTER.saw(query)
            return super().execute(query, params, **kwargs)

        def executemany(self, query: Any, params_seq: Any, **kwargs: Any) -> Any:
            COUNTER.saw(query)
            return super().executemany(query, params_seq, **kwargs)

    u = make_url(url)
    conninfo = psycopg.conninfo.make_conninfo(
        host=u.host or "", port=u.port or 5432, user=u.username or "", dbname=u.database or ""
    )
    return create_engine(url, creator=lambda: psycopg.connect(conninfo, cursor_factory=_PgCursor))


@dataclass
class Held:
    """What the account was given: its positions' contracts and its working orders."""

    contracts: dict[int, ContractSpec]
    working: list[int]


def _contracts(n: int) -> list[ContractSpec]:
    return [listed_contracts(p, NOW.date(), 1)[0] for p in PRODUCTS[:n]]


def _give(world: World, account_id: int, positions: int, orders: int) -> Held:
    """Positions in `positions` contracts (long and short, booked at one price, then the price
    moves: each close realizes P&L) and `orders` working limit orders far from the price."""
    from autoliq.service import execution

    contracts = _contracts(positions)
    engine = create_admin_engine(world.database_url)
    working: list[int] = []
    try:
        with engine.begin() as conn:
            store = SqlStore(conn)
            for i, c in enumerate(contracts):
                tick = c.product.tick_size
                store.set_contract_price(c.id, 4000 * 4, NOW)
                side = Side.BUY if i % 2 == 0 else Side.SELL
                order = execution.NewOrder(account_id, c, side, 2 + i, OrderType.MARKET, TimeInForce.GTC)
                assert execution.place(store, order, NOW).outcome.order_id is not None
                store.set_contract_price(c.id, 4000 * 4 + 8 * (i + 1), NOW)
                assert tick > 0
            for k in range(orders):
                c = contracts[k % len(contracts)]
                limit = Decimal(100) * c.product.tick_size
                order = execution.NewOrder(
                    account_id, c, Side.BUY, 1, OrderType.LIMIT, TimeInForce.GTC, limit_price=limit
                )
                outcome = execution.place(store, order, NOW).outcome
                assert outcome.order_id is not None, outcome
                working.append(outcome.order_id)
    finally:
        engine.dispose()
    return Held({c.id: c for c in contracts}, working)


def _run(url: str, work: Callable[[Store], T], account_id: int) -> tuple[T, int, list[str]]:
    """Run `work` as the server runs a write (its unit of work), counting its statements."""
    write_engine = _counting_write_engine(url)
    read_engine = create_admin_engine(url)
    uow = UnitOfWork(write_engine, read_engine, InMemoryPublisher())
    uow.start()

    async def go() -> tuple[T, int, list[str]]:
        # A first write opens the connection (and the pool's own statements) before counting.
        await uow.write(lambda store: store.account(account_id), accounts=(account_id,))
        COUNTER.reset()
        value = await uow.write(work, accounts=(account_id,), log_rows=1)
        return value, COUNTER.count, list(COUNTER.sql)

    try:
        return asyncio.run(go())
    finally:
        uow.stop()
        write_engine.dispose()
        read_engine.dispose()


def _liquidate(world: World, account_id: int, held: Held) -> tuple[int, list[str]]:
    engine = create_admin_engine(world.database_url)
    try:
        with engine.connect() as conn:
            store = SqlStore(conn)
            account = store.account(account_id)
            caller = store.user_by_name("admin")
        assert account is not None and caller is not None
    finally:
        engine.dispose()
    command = SetAdminAction(account_id, AdminAction.LIQUIDATE_IMMEDIATELY, ReasonCode.CLOSE_FRAUD, None)
    clock = ManualClock(NOW)
    _, count, sql = _run(
        world.database_url,
        lambda store: apply_admin_action(
            store, account, caller[0], command, clock, held.contracts, engine=STORE_ENGINE
        ),
        account_id,
    )
    return count, sql


def _state(world: World, account_id: int) -> Iterator[tuple[Any, ...]]:
    engine = create_admin_engine(world.database_url)
    try:
        with engine.connect() as conn:
            positions = conn.execute(
                select(position.c.contract_id, position.c.lots).where(position.c.account_id == account_id)
            ).all()
            statuses = conn.execute(
                select(trade_order.c.status).where(trade_order.c.account_id == account_id)
            ).all()
            fills = conn.execute(select(fill.c.id).where(fill.c.account_id == account_id)).all()
    finally:
        engine.dispose()
    yield from ((tuple(positions),), (tuple(s for (s,) in statuses),), (len(fills),))


def test_liquidate_immediately_when_account_holds_several_positions_and_orders_then_the_same_few_statements(
    world: World,
) -> None:
    """A LiquidateImmediately costs the same count of statements whatever the account holds (one
    position and one order, or four positions and six orders), at most `MAX_STATEMENTS`."""
    counts = []
    for account_id, (positions, orders) in zip(world.demo_account_ids, [(1, 1), (4, 6)], strict=False):
        held = _give(world, account_id, positions, orders)

        count, sql = _liquidate(world, account_id, held)

        # It did liquidate: every position flat, every working order cancelled, one closing fill each.
        [(rows,), (statuses,), (fills,)] = list(_state(world, account_id))
        assert all(lots == "[]" for _, lots in rows) and len(rows) == positions
        assert statuses.count(OrdStatus.WORKING.value) == 0
        assert statuses.count(OrdStatus.CANCELED.value) == orders
        assert fills == 2 * positions
        print(f"liquidation of {positions} positions, {orders} orders: {count} statements", *sql, sep="\n  ")
        assert count <= MAX_STATEMENTS, sql
        counts.append(count)
    assert counts[0] == counts[1], counts


def _flatten(world: World, account_id: int, held: Held) -> tuple[int, list[str]]:
    """The flatten timer's transaction on an account with post-trade settings: the liquidation, its
    log row and alert, and the evaluation of the rules after it."""
    from autoliq.domain.post_trade import AutoLiqSettings
    from autoliq.domain.timers import Timer, TimerKind
    from autoliq.service import risk_engine

    engine = create_admin_engine(world.database_url)
    try:
        with engine.begin() as conn:
            SqlStore(conn).save_auto_liq_settings(AutoLiqSettings(id=account_id, flatten_timestamp=NOW), NOW)
    finally:
        engine.dispose()
    timer = Timer(0, account_id, TimerKind.FLATTEN, NOW)
    done, count, sql = _run(world.database_url, lambda store: risk_engine.flatten(store, timer), account_id)
    assert done
    return count, sql


def test_flatten_when_account_holds_more_then_statements_do_not_grow(world: World) -> None:
    """The flatten timer's transaction costs the same whatever the account holds (its evaluation of
    the rules reads the account's numbers in one statement too)."""
    counts = []
    for account_id, (positions, orders) in zip(world.demo_account_ids, [(1, 1), (4, 6)], strict=False):
        held = _give(world, account_id, positions, orders)
        count, sql = _flatten(world, account_id, held)
        [(rows,), (statuses,), _] = list(_state(world, account_id))
        assert all(lots == "[]" for _, lots in rows) and statuses.count(OrdStatus.WORKING.value) == 0
        print(f"flatten of {positions} positions, {orders} orders: {count} statements", *sql, sep="\n  ")
        counts.append(count)
        # The evaluation after the liquidation reads the numbers only: the flags' EXISTS (settings,
        # strategies, live orders: the last walks the account's order history) belong to the
        # liquidation's own read, once.
        assert COUNTER.exists == 1, sql
    assert counts[0] == counts[1]
    # Flatten's own reads (settings, account) and writes (log row, alert, outbox), the liquidation
    # (one read, the cancels, the orders, fills, positions and cash) and the evaluation after it
    # (numbers in one read, status, layer, triggers, and the equity point its new net liquidation
    # value adds: issue 18's equity history, whose latest point the evaluation's first read carries),
    # plus the unit of work's (BEGIN, or PostgreSQL's prepared reads and pg_notify).
    assert counts[0] <= 18, counts
