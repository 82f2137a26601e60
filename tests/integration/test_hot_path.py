"""The raw-cursor write path stores exactly what SQLAlchemy's types read back, and the reverse."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from autoliq.adapters.sql.batch import Batch
from autoliq.adapters.sql.codec import POSTGRES, SQLITE, Codec, read_day, read_flag, read_time
from autoliq.adapters.sql.db import create_admin_engine
from autoliq.adapters.sql.repositories import SqlStore
from autoliq.adapters.sql.schema import account_risk_status
from autoliq.adapters.sql.statements import STATUS_COLUMNS, statements_for
from autoliq.domain.model import RiskStatus
from autoliq.domain.states import Actor, AdminAction, ReasonCode
from tests.conftest import World

TIMES = [
    datetime(2026, 11, 24, 15, 0, 0, tzinfo=UTC),  # no microseconds
    datetime(2026, 11, 24, 15, 0, 0, 123456, tzinfo=UTC),
    datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
]


@pytest.mark.parametrize("when", TIMES)
def test_hot_path_when_status_and_log_written_then_sqlalchemy_reads_identical_values(
    world: World, when: datetime
) -> None:
    account_id = world.demo_account_ids[0]
    status = RiskStatus(
        id=account_id,
        admin_action=AdminAction.LIQUIDATE_ONLY_MODE_IMMEDIATELY,
        admin_timestamp=when,
        liquidate_only=when,
        user_triggered_liq_only=True,
        max_net_liq=51234.5,
        min_net_liq=49000.25,
    )
    engine = create_admin_engine(world.database_url)
    try:
        with engine.begin() as conn:
            hot = Batch(conn)
            hot.save_risk_status(status)
            entry_id = hot.append_log(
                account_id, when, status, Actor.SYSTEM, None, ReasonCode.CLOSE_FRAUD, "ünï"
            )
        with engine.connect() as conn:
            store = SqlStore(conn)
            org = store.account(account_id)
            assert org is not None
            assert store.risk_statuses(org.organization_id, ids=[account_id]) == [status]
            [entry] = store.log_entries(org.organization_id, ids=[entry_id])
            assert (entry.timestamp, entry.status, entry.actor, entry.reason_code, entry.reason) == (
                when,
                status,
                Actor.SYSTEM,
                ReasonCode.CLOSE_FRAUD,
                "ünï",
            )
            # ... and the hot path reads back what it wrote.
            assert Batch(conn).risk_status(account_id) == status
    finally:
        engine.dispose()


def test_hot_path_when_row_written_by_sqlalchemy_then_reads_it_and_inserts_missing_rows(world: World) -> None:
    engine = create_admin_engine(world.database_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                account_risk_status.update()
                .where(account_risk_status.c.id == world.demo_account_ids[1])
                .values(admin_action="LockTradingImmediately", admin_timestamp=TIMES[1])
            )
            hot = Batch(conn)
            read = hot.risk_status(world.demo_account_ids[1])
            assert read == RiskStatus(
                id=world.demo_account_ids[1],
                admin_action=AdminAction.LOCK_TRADING_IMMEDIATELY,
                admin_timestamp=TIMES[1],
            )
            assert hot.risk_status(987654) is None
            # A status row that does not exist yet is inserted, not lost.
            conn.execute(
                account_risk_status.delete().where(account_risk_status.c.id == world.demo_account_ids[2])
            )
            hot.save_risk_status(
                RiskStatus(id=world.demo_account_ids[2]).with_admin_action(AdminAction.NORMAL, TIMES[0])
            )
            row = conn.execute(
                select(account_risk_status).where(account_risk_status.c.id == world.demo_account_ids[2])
            ).one()
            assert (row.admin_action, row.admin_timestamp) == ("Normal", TIMES[0])
    finally:
        engine.dispose()


@pytest.fixture
def chicago_time() -> Iterator[None]:
    """The process's local time zone set to America/Chicago (UTC-6 in winter), then restored."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "America/Chicago"
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


def test_hot_path_when_local_zone_is_chicago_then_both_paths_refuse_naive_and_store_aware_as_utc(
    world: World, chicago_time: None
) -> None:
    # Once the raw path read a naive datetime as local time (stored shifted by six hours) while
    # SQLAlchemy's column refused it: one codec now converts for both.
    assert datetime(2026, 11, 24, 12, 0).astimezone(UTC).hour == 18  # the zone is in effect
    account_id = world.demo_account_ids[0]
    naive = datetime(2026, 11, 24, 12, 0, 0)
    status = RiskStatus(id=account_id).with_admin_action(AdminAction.LOCK_TRADING_IMMEDIATELY, naive)
    engine = create_admin_engine(world.database_url)
    try:
        with engine.connect() as conn:
            with pytest.raises(ValueError, match="naive datetime"), conn.begin():
                Batch(conn).save_risk_status(status)
            with pytest.raises(Exception, match="naive datetime"), conn.begin():
                conn.execute(
                    account_risk_status.update()
                    .where(account_risk_status.c.id == account_id)
                    .values(admin_timestamp=naive)
                )
        # An aware time in another zone is stored as its UTC instant by both paths.
        chicago = timezone(timedelta(hours=-6))
        when = datetime(2026, 11, 24, 12, 0, 0, 250000, tzinfo=chicago)
        with engine.begin() as conn:
            Batch(conn).save_risk_status(status.with_admin_action(AdminAction.NORMAL, when))
            conn.execute(
                account_risk_status.update()
                .where(account_risk_status.c.id == world.demo_account_ids[1])
                .values(admin_timestamp=when)
            )
        with engine.connect() as conn:
            hot = Batch(conn)
            for written in account_id, world.demo_account_ids[1]:
                stored = conn.execute(
                    select(account_risk_status.c.admin_timestamp).where(account_risk_status.c.id == written)
                ).scalar_one()
                read = hot.risk_status(written)
                assert read is not None
                assert stored == read.admin_timestamp == datetime(2026, 11, 24, 18, 0, 0, 250000, tzinfo=UTC)
                assert stored.tzinfo is UTC
    finally:
        engine.dispose()


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_statements_when_compiled_from_the_schema_then_positional_and_in_the_callers_order(
    dialect: str,
) -> None:
    statements = statements_for(dialect)
    mark = "?" if dialect == "sqlite" else "%s"
    update = statements.statement("update_status")
    assert update.names == (*STATUS_COLUMNS[1:], "id")
    assert update.sql.count(mark) == len(update.names)
    assert statements["insert_log"].endswith(
        "RETURNING id" if dialect == "sqlite" else "RETURNING account_risk_status_log.id"
    )
    # No implicit RETURNING where the caller reads no answer (a buffered executemany).
    assert "RETURNING" not in statements["save_position"] and "RETURNING" not in statements["insert_status"]
    assert ("FOR UPDATE" in statements["select_trading_state_locked"]) is (dialect == "postgresql")


@pytest.mark.parametrize("codec", [SQLITE, POSTGRES], ids=["sqlite", "postgresql"])
def test_codec_when_times_dates_flags_encoded_then_read_back_equal(codec: Codec) -> None:
    when = datetime(2026, 11, 24, 9, 30, 1, 5, tzinfo=timezone(timedelta(hours=-6)))
    assert read_time(codec.time(when)) == when
    assert read_time(codec.time(when)).tzinfo is UTC  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="naive datetime"):
        codec.time(datetime(2026, 11, 24, 9, 30))
    assert read_day(codec.day(date(2026, 11, 24))) == date(2026, 11, 24)
    assert [read_flag(codec.flag(v)) for v in (True, False, None)] == [True, False, None]
    if codec.sqlite:
        assert codec.time(when) == "2026-11-24 15:30:01.000005"  # SQLAlchemy's DATETIME text, in UTC
