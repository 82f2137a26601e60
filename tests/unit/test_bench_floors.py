"""The benchmark floors (bench/floor*.py) do the durable work they claim, and bench/profile_layers.py
puts stacks in the layers it documents: their figures are the evidence in docs/performance.md."""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(autouse=True)
def _bench_on_path() -> Iterator[None]:
    sys.path.insert(0, str(BENCH))
    try:
        yield
    finally:
        sys.path.remove(str(BENCH))


def _writer_db(module: Any, tmp_path: Path, accounts: int) -> tuple[Any, sqlite3.Connection]:
    writer, _app = module.build(str(tmp_path / "floor.db"), accounts)
    return writer, writer.db


def _commit(writer: Any, batch: list[Any]) -> list[bytes]:
    writer.db.execute("BEGIN IMMEDIATE")
    answers: list[bytes] = writer.commit(writer.db, "2026-12-07T10:00:00Z", batch)
    writer.db.execute("COMMIT")
    return answers


def test_admin_floor_when_a_batch_commits_then_each_request_has_its_status_log_and_outbox_row(
    tmp_path: Path,
) -> None:
    import floor_admin_app as app

    writer, db = _writer_db(app, tmp_path, 3)
    requests = [
        app.SetAdminAutoLiqAction(1, "LockTradingImmediately", "Other", "r1"),
        app.SetAdminAutoLiqAction(2, "LiquidateOnlyModeImmediately", "Other", "r2"),
        app.SetAdminAutoLiqAction(1, "Normal", "Other", "r3"),
    ]
    answers = [json.loads(answer) for answer in _commit(writer, requests)]
    assert [a["accountRiskStatus"]["adminAction"] for a in answers] == [
        "LockTradingImmediately",
        "LiquidateOnlyModeImmediately",
        "Normal",
    ]
    statuses = dict(db.execute("SELECT id, admin_action FROM account_risk_status"))
    assert statuses == {1: "Normal", 2: "LiquidateOnlyModeImmediately", 3: "Normal"}
    logs = db.execute("SELECT account_id, admin_action, reason FROM account_risk_status_log ORDER BY id")
    assert logs.fetchall() == [
        (1, "LockTradingImmediately", "r1"),
        (2, "LiquidateOnlyModeImmediately", "r2"),
        (1, "Normal", "r3"),
    ]
    payloads = [json.loads(row[0]) for row in db.execute("SELECT payload FROM event_outbox ORDER BY id")]
    assert [p["d"]["adminAction"] for p in payloads] == [
        "LockTradingImmediately",
        "LiquidateOnlyModeImmediately",
        "Normal",
    ]
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_order_floor_when_orders_fill_then_positions_are_fifo_and_cash_takes_the_realized_profit(
    tmp_path: Path,
) -> None:
    import floor_order_app as app

    writer, db = _writer_db(app, tmp_path, 2)

    def order(account: int, action: str, qty: int = 1) -> Any:
        return app.PlaceOrder(
            action=action, symbol="ESZ6", orderQty=qty, orderType="Market", accountId=account
        )

    first = _commit(writer, [order(1, "Buy", 2), order(2, "Sell")])
    assert [json.loads(a) for a in first] == [{"orderId": 1}, {"orderId": 2}]
    db.execute("UPDATE contract_price SET price_ticks = price_ticks + 8")  # +2 points, $100 a lot
    second = _commit(writer, [order(1, "Sell", 3), order(2, "Buy")])
    assert [json.loads(a) for a in second] == [{"orderId": 3}, {"orderId": 4}]
    positions = {
        row[0]: row[1:]
        for row in db.execute("SELECT account_id, lots, bought, sold, realized_ticks FROM position")
    }
    start = app.PRICE_TICKS
    assert positions[1] == (
        json.dumps([[-1, start + 8]]),
        2,
        3,
        16,
    )  # closed 2 long at +8 ticks, 1 short open
    assert positions[2] == ("[]", 1, 1, -8)  # the short closed 8 ticks higher
    cash = dict(db.execute("SELECT account_id, amount_cents FROM cash_balance"))
    assert cash == {1: 5_000_000 + 16 * app.TICK_CENTS, 2: 5_000_000 - 8 * app.TICK_CENTS}
    assert db.execute("SELECT count(*) FROM fill").fetchone()[0] == 4
    assert db.execute("SELECT count(*) FROM trade_order WHERE status = 'Filled'").fetchone()[0] == 4
    assert db.execute("SELECT count(*) FROM event_outbox").fetchone()[0] == 4


def test_order_floor_when_the_account_is_locked_then_it_refuses_and_writes_nothing(tmp_path: Path) -> None:
    import floor_order_app as app

    writer, db = _writer_db(app, tmp_path, 1)
    db.execute("UPDATE account_risk_status SET admin_action = 'LockTradingImmediately'")
    request = app.PlaceOrder(action="Buy", symbol="ESZ6", orderQty=1, orderType="Market", accountId=1)
    assert _commit(writer, [request]) == [app.LOCKED]
    assert db.execute("SELECT count(*) FROM trade_order").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM event_outbox").fetchone()[0] == 0


@pytest.mark.parametrize(
    ("frames", "layer"),
    [
        (
            ["thread (1): MainThread", "Runner.run (asyncio/runners.py:86)"],
            "HTTP server (uvicorn, event loop)",
        ),
        (
            ["t", "Edge.__call__ (autoliq/api/edge.py:10)", "authorize (autoliq/api/security.py:5)"],
            "auth (token, caller)",
        ),
        (
            [
                "t",
                "UnitOfWork._commit (autoliq/adapters/sql/unit_of_work.py:3)",
                "apply (autoliq/service/risk_status.py:9)",
            ],
            "domain and service",
        ),
        (
            ["t", "apply (autoliq/service/risk_status.py:9)", "Batch.save (autoliq/adapters/sql/batch.py:4)"],
            "storage (SQL, transaction)",
        ),
        (
            [
                "t",
                "UnitOfWork._record_events (autoliq/adapters/sql/unit_of_work.py:7)",
                "write_outbox (autoliq/adapters/sql/outbox.py:2)",
            ],
            "events (outbox, publication)",
        ),
        (
            [
                "t",
                "Scheduler._close_sessions (autoliq/service/scheduler.py:66)",
                "execute (sqlalchemy/engine/base.py:1)",
            ],
            "background (scheduler, relay, logging)",
        ),
        (["t", "Writer.run (floor.py:72)", "commit (floor_admin_app.py:86)"], "storage (SQL, transaction)"),
        (["t", "make_app.<locals>.app (floor.py:120)"], "the floor's request code"),
        (["t", "something (elsewhere.py:1)"], "other"),
    ],
)
def test_profile_layers_when_a_stack_is_classified_then_its_innermost_layer_frame_decides(
    frames: list[str], layer: str
) -> None:
    import profile_layers

    assert profile_layers.layer_of(frames) == layer


def test_profile_layers_when_a_stack_ends_in_a_blocked_wait_then_it_is_not_counted(tmp_path: Path) -> None:
    import profile_layers

    stacks = tmp_path / "profile-x-cpu.txt"
    stacks.write_text(
        "thread (1): MainThread;Runner.run (asyncio/runners.py:86) 3\n"
        "thread (2): w;Thread.run (threading.py:1);_worker (concurrent/futures/thread.py:81) 50\n"
    )
    counts, total = profile_layers.layers(stacks)
    assert total == 3
    assert counts == {"HTTP server (uvicorn, event loop)": 3}
