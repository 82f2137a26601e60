"""Migration 0013: contract quantities are 64-bit on both engines (PostgreSQL's INTEGER was int4)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from alembic import command
from sqlalchemy import insert, inspect, select
from sqlalchemy.exc import DBAPIError

from autoliq.adapters.sql.db import alembic_config, create_admin_engine, migrate
from autoliq.adapters.sql.schema import fill, position, trade_order
from tests.conftest import World
from tests.helpers import HEAD_REVISION, current_revision

T0 = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
BIG = 2**31  # one past int4
ES_DEC_2026 = 1_202_612


def _order(account_id: int, qty: int) -> dict[str, object]:
    return dict(
        account_id=account_id, contract_id=ES_DEC_2026, action="Buy", order_type="Market", qty=qty,
        time_in_force="GTC", status="Filled", admin=False, limit_ticks=None, stop_ticks=None, triggered=False,
        fill_ticks=20_000, cl_ord_id=None, created=T0, updated=T0,
    )  # fmt: skip


def test_migration_0013_when_applied_over_rows_then_kept_and_quantities_of_2_31_stored(world: World) -> None:
    url, a = world.database_url, world.demo_account_ids[0]
    engine = create_admin_engine(url)
    try:
        command.downgrade(alembic_config(engine), "0012")
        with engine.begin() as conn:
            kept = conn.execute(
                insert(trade_order).values(_order(a, 7)).returning(trade_order.c.id)
            ).scalar_one()
        if engine.dialect.name == "postgresql":
            # The trap 0013 removes: int4 refused 2**31 (a 500 on placeorder before the limits).
            with pytest.raises(DBAPIError), engine.begin() as conn:
                conn.execute(insert(trade_order).values(_order(a, BIG)))
        migrate(url)
        assert current_revision(url) == HEAD_REVISION  # the head, past 0013
        with engine.begin() as conn:
            order_id = conn.execute(
                insert(trade_order).values(_order(a, BIG)).returning(trade_order.c.id)
            ).scalar_one()
            conn.execute(
                insert(fill).values(
                    order_id=order_id, account_id=a, contract_id=ES_DEC_2026, action="Buy", qty=BIG,
                    price_ticks=20_000, timestamp=T0, trade_date=date(2026, 11, 24),
                )
            )  # fmt: skip
            conn.execute(
                insert(position).values(
                    account_id=a, contract_id=ES_DEC_2026, lots="[]", bought=BIG, bought_ticks=0, sold=2**40,
                    sold_ticks=0, realized_ticks=0, timestamp=T0, trade_date=date(2026, 11, 24),
                )
            )  # fmt: skip
        with engine.connect() as conn:
            assert conn.execute(
                select(trade_order.c.id, trade_order.c.qty).order_by(trade_order.c.id)
            ).all() == [
                (kept, 7),
                (order_id, BIG),
            ]
            assert conn.execute(select(fill.c.qty)).scalar_one() == BIG
            assert conn.execute(select(position.c.bought, position.c.sold)).one() == (BIG, 2**40)
            if engine.dialect.name == "postgresql":
                columns = {
                    (t, c["name"]): str(c["type"])
                    for t in ("trade_order", "fill", "position")
                    for c in inspect(conn).get_columns(t)
                }
                assert {columns[k] for k in [("trade_order", "qty"), ("fill", "qty"), ("position", "bought"),
                                             ("position", "sold")]} == {"BIGINT"}  # fmt: skip
    finally:
        engine.dispose()
