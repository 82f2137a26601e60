"""A batch of placed orders prepared in bulk (PostgreSQL): what the batch's orders read (last prices,
positions, working orders, cash, whether the account has post-trade settings) is read once for the
whole batch, their ids reserved, their writes buffered until the batch's flush (`Batch.prepare_batch`
with `orders`). The orders must see each other's effects exactly as unprepared orders do, and any
statement the batch does not know (a price change, an order on a pair it did not prepare) must see
the buffered writes: the same rows, outcomes and events as without preparation, in fewer statements.
On SQLite the preparation does nothing (the same test shows the same rows either way)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Connection, func, select

from autoliq.adapters.publisher import InMemoryPublisher
from autoliq.adapters.sql.db import create_admin_engine
from autoliq.adapters.sql.repositories import SqlStore
from autoliq.adapters.sql.schema import cash_balance, fill, position, trade_order
from autoliq.adapters.sql.unit_of_work import UnitOfWork
from autoliq.domain.accounting import Lot, PositionState
from autoliq.domain.events import TradingEntityChanged
from autoliq.domain.instruments import PRODUCTS, ContractSpec, listed_contracts
from autoliq.domain.orders import OrderType, TimeInForce
from autoliq.domain.states import Side
from autoliq.service import risk_engine
from autoliq.service.execution import NewOrder, OrderOutcome, order_refusal
from tests.conftest import World
from tests.integration.test_liquidation_statements import COUNTER, _counting_write_engine

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
ES, NQ = (listed_contracts(p, NOW.date(), 1)[0] for p in PRODUCTS[:2])


def _price(c: ContractSpec, points: int) -> int:
    return int(Decimal(points) / c.product.tick_size)


def _set_up(world: World) -> tuple[int, int]:
    a, b = world.demo_account_ids[:2]
    engine = create_admin_engine(world.database_url)
    try:
        with engine.begin() as conn:
            store = SqlStore(conn)
            store.set_contract_price(ES.id, _price(ES, 5000), NOW)
            store.set_contract_price(NQ.id, _price(NQ, 20000), NOW)
            held = PositionState((Lot(2, Decimal(4990)),), bought=2, bought_value=Decimal(9980))
            store.save_position(a, ES, held, NOW, NOW.date())
            store.adjust_cash(a, 5_000_000, NOW, NOW.date())
    finally:
        engine.dispose()
    return a, b


def _orders(a: int, b: int) -> list[NewOrder]:
    def order(account: int, c: ContractSpec, side: Side, qty: int, **kw: Any) -> NewOrder:
        kw.setdefault("order_type", OrderType.MARKET)
        kw.setdefault("time_in_force", TimeInForce.DAY)
        return NewOrder(account, c, side, qty, max_position=kw.pop("cap", 10), **kw)

    return [
        order(a, ES, Side.SELL, 1),  # realizes $500: the prepared cash moves
        order(a, ES, Side.SELL, 1),  # and again, from the cash the batch wrote
        order(
            a,
            ES,
            Side.BUY,
            5,
            order_type=OrderType.LIMIT,
            time_in_force=TimeInForce.GTC,
            limit_price=Decimal(4900),
        ),
        order(a, ES, Side.BUY, 5, cap=6),  # refused: the resting 5 of this batch count against the cap
        order(b, ES, Side.SELL, 3),
        order(b, NQ, Side.BUY, 1),  # a pair the batch did not prepare: read after the buffered writes
        order(b, ES, Side.BUY, 3),
    ]


def _rows(conn: Connection, ids: list[int], before: dict[str, int], events: list[Any]) -> tuple[Any, ...]:
    fresh = {
        t.name: {
            i: ("new", n)
            for n, i in enumerate(
                conn.execute(select(t.c.id).where(t.c.id > before[t.name]).order_by(t.c.id)).scalars()
            )
        }
        for t in (trade_order, fill)
    }
    tables = []
    for t in (trade_order, fill, position, cash_balance):
        rows = []
        for r in conn.execute(select(t).where(t.c.account_id.in_(ids))).mappings():
            row = dict(r)
            if t.name in fresh:
                row["id"] = fresh[t.name].get(row["id"], row["id"])
            if t is fill:
                row["order_id"] = fresh["trade_order"].get(row["order_id"], row["order_id"])
            if t is position:
                row.pop("id", None)
            rows.append(tuple(sorted((k, repr(v)) for k, v in row.items())))
        tables.append(sorted(rows))
    named = []
    for e in events:
        assert isinstance(e, TradingEntityChanged)
        table = {"order": "trade_order", "fill": "fill"}.get(e.entity_type)
        entity = fresh[table].get(e.entity_id, e.entity_id) if table else e.entity_id
        named.append((e.entity_type, e.event_type, e.account_id, entity))
    return (*tables, named)


def _max_ids(conn: Connection) -> dict[str, int]:
    return {
        t.name: conn.execute(select(func.coalesce(func.max(t.c.id), 0))).scalar_one()
        for t in (trade_order, fill)
    }


def test_orders_when_batch_prepared_then_same_rows_outcomes_and_events_as_unprepared(world: World) -> None:
    a, b = _set_up(world)
    orders = _orders(a, b)
    hints = [(o.account_id, o.contract.id) for o in orders if o.contract is ES]
    engine = create_admin_engine(world.database_url)
    try:
        with engine.connect() as conn, conn.begin():
            before = _max_ids(conn)
            results = []
            for prepare in (True, False):
                savepoint = conn.begin_nested()
                store = SqlStore(conn)
                if prepare:
                    store.batch.prepare_batch([o.account_id for o in orders], 0, hints)
                outcomes: list[OrderOutcome] = []
                for o in orders:
                    outcomes.append(risk_engine.place_order(store, o, NOW))
                    if o is orders[4]:
                        store.set_contract_price(ES.id, _price(ES, 5010), NOW)  # a statement it does not know
                store.batch.flush()
                rows = _rows(conn, [a, b], before, list(store.events))
                reasons = [o.failure_reason for o in outcomes]
                results.append((reasons, rows))
                savepoint.rollback()
            prepared, unprepared = results
            assert prepared == unprepared
            reasons = prepared[0]
            assert reasons == [None, None, None, "MaxPosLimitReached", None, None, None]
            conn.rollback()
    finally:
        engine.dispose()


def test_orders_when_batch_prepared_then_their_reads_and_writes_take_a_few_statements(world: World) -> None:
    """Through the unit of work, as the server places orders: on PostgreSQL a batch of orders costs a
    fixed number of statements for its reads and ids, however many orders, where unprepared each
    order reads its price, position, working orders, cash and settings and inserts with RETURNING."""
    if world.database_url.startswith("sqlite"):
        pytest.skip("SQLite prepares nothing: its statements are microseconds in process, not round trips")
    a, _ = _set_up(world)
    counts = []
    for hinted in (False, True):
        write_engine = _counting_write_engine(world.database_url)
        read_engine = create_admin_engine(world.database_url)
        uow = UnitOfWork(write_engine, read_engine, InMemoryPublisher())
        uow.start()

        def place(side: Side) -> Any:
            order = NewOrder(a, ES, side, 1, OrderType.MARKET, TimeInForce.DAY, max_position=10)
            return lambda store: risk_engine.place_order(store, order, NOW)

        async def go(uow: UnitOfWork = uow, hinted: bool = hinted) -> int:
            await uow.write(lambda store: store.account(a), accounts=(a,))
            COUNTER.reset()
            hint = ((a, ES.id),) if hinted else ()
            writes = [
                uow.write(place(side), accounts=(a,), orders=hint) for side in [Side.BUY, Side.SELL] * 10
            ]
            done = await asyncio.gather(*writes)
            assert all(o.failure_reason is None for o in done)
            return COUNTER.count

        try:
            counts.append(asyncio.run(go()))
        finally:
            uow.stop()
            write_engine.dispose()
            read_engine.dispose()
    unprepared, prepared = counts
    # 20 orders: unprepared about 8 statements each; prepared about a dozen for the whole batch.
    assert prepared < unprepared / 4, counts


def test_order_snapshots_when_hinted_then_a_batch_reads_in_a_few_statements_and_reserves_no_ids(
    world: World,
) -> None:
    """placeorder's refusal check runs on a snapshot (`order_refusal`); on PostgreSQL the snapshots
    waiting together read their statuses and the orders' last prices, positions, working orders,
    cash and settings once for the batch (pipelined), where unhinted each order reads its price by
    itself. The same answers either way, and a snapshot takes no order or fill id from the
    sequences (a read must not use up ids)."""
    if world.database_url.startswith("sqlite"):
        pytest.skip("SQLite prepares nothing: its snapshots read SQLite's page cache in process")
    a, b = _set_up(world)
    orders = [
        NewOrder(account, ES, side, 1, OrderType.MARKET, TimeInForce.DAY, max_position=10)
        for account in (a, b)
        for side in [Side.BUY, Side.SELL] * 10
    ]
    sequences = (
        "SELECT sequencename, coalesce(last_value, 0) FROM pg_sequences"
        " WHERE sequencename IN ('trade_order_id_seq', 'fill_id_seq') ORDER BY 1"
    )
    counts, answers = [], []
    for hinted in (False, True):
        read_engine = _counting_write_engine(world.database_url)
        write_engine = create_admin_engine(world.database_url)
        uow = UnitOfWork(write_engine, read_engine, InMemoryPublisher())
        uow.start()

        async def go(uow: UnitOfWork = uow, hinted: bool = hinted) -> tuple[int, list[Any]]:
            await uow.snapshot(lambda store: store.account(a), accounts=(a,))
            COUNTER.reset()
            done = await asyncio.gather(
                *(
                    uow.snapshot(
                        lambda store, o=o: order_refusal(store, o),
                        accounts=(o.account_id,),
                        orders=((o.account_id, ES.id),) if hinted else (),
                    )
                    for o in orders
                )
            )
            return COUNTER.count, list(done)

        try:
            with write_engine.connect() as conn:
                ids_before = [tuple(r) for r in conn.exec_driver_sql(sequences)]
                assert len(ids_before) == 2, ids_before
            count, done = asyncio.run(go())
            with write_engine.connect() as conn:
                assert [tuple(r) for r in conn.exec_driver_sql(sequences)] == ids_before
        finally:
            uow.stop()
            write_engine.dispose()
            read_engine.dispose()
        counts.append(count)
        answers.append(done)
    assert answers[0] == answers[1] == [None] * len(orders)
    unhinted, hinted_count = counts
    # 40 orders: unhinted one price read each, hinted a few statements per batch of snapshots.
    assert hinted_count < unhinted / 4, counts


def test_order_when_filled_then_its_position_is_read_once(world: World) -> None:
    """The gate reads the account's position (the order's cap needs it) and the fill books against
    the same position, read once in the transaction (only the order row is written between)."""
    a, _ = _set_up(world)
    write_engine = _counting_write_engine(world.database_url)
    read_engine = create_admin_engine(world.database_url)
    uow = UnitOfWork(write_engine, read_engine, InMemoryPublisher())
    uow.start()
    order = NewOrder(a, ES, Side.SELL, 1, OrderType.MARKET, TimeInForce.DAY, max_position=10)

    async def go() -> OrderOutcome:
        await uow.write(lambda store: store.account(a), accounts=(a,))
        COUNTER.reset()
        return await uow.write(lambda store: risk_engine.place_order(store, order, NOW), accounts=(a,))

    try:
        outcome = asyncio.run(go())
        statements = list(COUNTER.sql)
        with read_engine.connect() as conn:
            held = SqlStore(conn).position(a, ES)
    finally:
        uow.stop()
        write_engine.dispose()
        read_engine.dispose()
    assert outcome.failure_reason is None and outcome.order_id is not None
    assert held.net_pos == 1  # 2 held, 1 sold: booked against the position the gate read
    position_reads = [s for s in statements if s.startswith("SELECT position.lots")]
    assert len(position_reads) == 1, "\n".join(statements)
