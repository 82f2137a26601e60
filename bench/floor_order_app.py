"""A second floor for `place_order.py --floor` (the `fill` case): the least a CPython server does
for the same durable work as a filled market order in autoliq, with none of autoliq's layers.

`bare_order_app.py` answers without a database; this app books the fill, written as directly as
CPython allows, so that its CPU per request is the cost of the work itself on this runtime:

- `floor.py`'s server, token, body and group commit (a writer thread, WAL, `synchronous=FULL`);
- the order checked (action, type, quantity bound, symbol known, the account's organization
  against the caller's, from dicts loaded at start);
- per batch: one `SELECT` each of the batch's admin actions, last prices, positions and cash rows;
  per order in memory: the lock check, the fill at the last price, the position's FIFO lots
  (integer ticks) and realized profit, the cash; then `executemany` of the order rows, the fill
  rows, the position upserts, the cash updates and the outbox rows (the order, fill, position and
  cash events' JSON), on the same secondary indexes as autoliq's tables;
- the answer `{"orderId":N}` (a locked account: `failureReason` TradingLocked, nothing written).

What it leaves out, which autoliq does: the pre-trade and post-trade risk rules (auto-liquidation
thresholds, trailing drawdown, position limits), the trade date and session, linked orders,
commissions by contract, the order's full Tradovate shape, the events' publication to WebSocket
clients and other workers, metrics, connection limits, rate limits, sandbox faults, storage-fault
handling.

    .venv/bin/python bench/floor_order_app.py --port 8098 --accounts 1000
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import msgspec

from bare_order_app import PlaceOrder
from floor import ORGANIZATION, Writer, in_marks, make_app, serve

PATH = "/v1/order/placeorder"
SYMBOL = "ESZ6"  # place_order.py's default --symbol
CONTRACT = 1
TICK_CENTS = 1250  # ES: a quarter point, $12.50
PRICE_TICKS = 5000 * 4  # place_order.py's default --price 5000
MAX_QTY = 10_000


class Filled(msgspec.Struct):
    orderId: int


_encode = msgspec.json.Encoder().encode
LOCKED = b'{"failureReason":"TradingLocked","failureText":"Trading is locked"}'

SCHEMA = (
    "CREATE TABLE account_risk_status (id INTEGER PRIMARY KEY, organization_id INTEGER NOT NULL, "
    "admin_action TEXT NOT NULL)",
    "CREATE TABLE contract_price (contract_id INTEGER PRIMARY KEY, price_ticks INTEGER NOT NULL, "
    "updated TEXT NOT NULL)",
    "CREATE TABLE trade_order (id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL, "
    "contract_id INTEGER NOT NULL, action TEXT NOT NULL, order_type TEXT NOT NULL, qty INTEGER NOT NULL, "
    "time_in_force TEXT NOT NULL, status TEXT NOT NULL, admin INTEGER NOT NULL, limit_ticks INTEGER, "
    "stop_ticks INTEGER, triggered INTEGER NOT NULL, fill_ticks INTEGER, cl_ord_id TEXT, "
    "created TEXT NOT NULL, updated TEXT NOT NULL, parent_id INTEGER, oco_id INTEGER, "
    "has_children INTEGER NOT NULL DEFAULT 0, strategy_id INTEGER, strategy_label TEXT, "
    "offset_ticks INTEGER)",
    "CREATE INDEX ix_trade_order_account_contract_status ON trade_order (account_id, contract_id, status)",
    "CREATE INDEX ix_trade_order_contract_status ON trade_order (contract_id, status)",
    "CREATE INDEX ix_trade_order_parent ON trade_order (parent_id)",
    "CREATE INDEX ix_trade_order_strategy ON trade_order (strategy_id)",
    "CREATE TABLE fill (id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "order_id INTEGER NOT NULL REFERENCES trade_order, "
    "account_id INTEGER NOT NULL, contract_id INTEGER NOT NULL, action TEXT NOT NULL, qty INTEGER NOT NULL, "
    "price_ticks INTEGER NOT NULL, timestamp TEXT NOT NULL, trade_date TEXT NOT NULL)",
    "CREATE INDEX ix_fill_account_id ON fill (account_id, id)",
    "CREATE INDEX ix_fill_order_id ON fill (order_id)",
    "CREATE INDEX ix_fill_contract_id_timestamp ON fill (contract_id, timestamp)",
    "CREATE TABLE position (id INTEGER PRIMARY KEY AUTOINCREMENT, account_id INTEGER NOT NULL, "
    "contract_id INTEGER NOT NULL, lots TEXT NOT NULL, bought INTEGER NOT NULL, "
    "bought_ticks INTEGER NOT NULL, "
    "sold INTEGER NOT NULL, sold_ticks INTEGER NOT NULL, realized_ticks INTEGER NOT NULL, "
    "timestamp TEXT NOT NULL, trade_date TEXT NOT NULL, trigger_low_ticks INTEGER, "
    "trigger_high_ticks INTEGER, "
    "UNIQUE (account_id, contract_id))",
    "CREATE INDEX ix_position_contract_id ON position (contract_id)",
    "CREATE INDEX ix_position_contract_trigger_low ON position (contract_id, trigger_low_ticks)",
    "CREATE INDEX ix_position_contract_trigger_high ON position (contract_id, trigger_high_ticks)",
    "CREATE TABLE cash_balance (account_id INTEGER PRIMARY KEY, amount_cents INTEGER NOT NULL, "
    "realized_cents INTEGER NOT NULL, timestamp TEXT NOT NULL)",
    "CREATE TABLE event_outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, origin TEXT NOT NULL, "
    "created TEXT NOT NULL, payload TEXT NOT NULL)",
    "CREATE INDEX ix_event_outbox_created ON event_outbox (created)",
)

UPSERT_POSITION = (
    "INSERT INTO position (account_id, contract_id, lots, bought, bought_ticks, sold, sold_ticks, "
    "realized_ticks, timestamp, trade_date) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (account_id, contract_id) DO UPDATE SET lots = excluded.lots, bought = excluded.bought, "
    "bought_ticks = excluded.bought_ticks, sold = excluded.sold, sold_ticks = excluded.sold_ticks, "
    "realized_ticks = excluded.realized_ticks, timestamp = excluded.timestamp"
)


class Book:
    """The order ids (one writer: a counter read at start, as autoliq reserves ids per batch)."""

    def __init__(self) -> None:
        self.next_order_id = 1


def _book(lots: list[list[int]], signed_qty: int, price: int) -> int:
    """FIFO: `signed_qty` (+ buy, - sell) at `price` against the open `lots` ([signed qty, price]);
    realized ticks."""
    realized = 0
    remaining = signed_qty
    while remaining and lots and (lots[0][0] > 0) != (remaining > 0):
        lot = lots[0]
        closed = min(abs(lot[0]), abs(remaining))
        sign = 1 if lot[0] > 0 else -1
        realized += sign * closed * (price - lot[1])
        lot[0] -= sign * closed
        remaining += sign * closed
        if lot[0] == 0:
            lots.pop(0)
    if remaining:
        lots.append([remaining, price])
    return realized


def make_commit(book: Book) -> Any:
    def commit(db: sqlite3.Connection, now: str, batch: list[PlaceOrder]) -> list[bytes]:
        marks, ids = in_marks(request.accountId for request in batch)
        locked = {
            row[0]
            for row in db.execute(
                f"SELECT id FROM account_risk_status WHERE id IN ({marks}) AND admin_action <> 'Normal'", ids
            )
        }
        price = db.execute(
            "SELECT price_ticks FROM contract_price WHERE contract_id = ?", (CONTRACT,)
        ).fetchone()[0]
        positions = {
            row[0]: [json.loads(row[1]), *row[2:]]
            for row in db.execute(
                "SELECT account_id, lots, bought, bought_ticks, sold, sold_ticks, realized_ticks "
                "FROM position "
                f"WHERE contract_id = ? AND account_id IN ({marks})",
                [CONTRACT, *ids],
            )
        }
        cash = {
            row[0]: [row[1], row[2]]
            for row in db.execute(
                "SELECT account_id, amount_cents, realized_cents FROM cash_balance "
                f"WHERE account_id IN ({marks})",
                ids,
            )
        }
        trade_date = now[:10]
        orders = []
        fills = []
        events = []
        answers = []
        touched: dict[int, None] = {}
        for request in batch:
            account = request.accountId
            if account in locked:
                answers.append(LOCKED)
                continue
            order_id = book.next_order_id
            book.next_order_id += 1
            qty = request.orderQty
            buy = request.action == "Buy"
            position = positions.setdefault(account, [[], 0, 0, 0, 0, 0])
            if buy:
                position[1] += qty
                position[2] += qty * price
            else:
                position[3] += qty
                position[4] += qty * price
            realized = _book(position[0], qty if buy else -qty, price)
            position[5] += realized
            balance = cash[account]
            balance[0] += realized * TICK_CENTS
            balance[1] += realized * TICK_CENTS
            touched[account] = None
            orders.append(
                (order_id, account, CONTRACT, request.action, "Market", qty, "Day", "Filled", price, now, now)
            )
            fills.append((order_id, account, CONTRACT, request.action, qty, price, now, trade_date))
            events.append(
                (
                    "floor",
                    now,
                    _encode(
                        [
                            {
                                "e": "order",
                                "d": {"id": order_id, "accountId": account, "ordStatus": "Filled"},
                            },
                            {"e": "fill", "d": {"orderId": order_id, "qty": qty, "price": price / 4}},
                            {
                                "e": "position",
                                "d": {"accountId": account, "netPos": position[1] - position[3]},
                            },
                            {"e": "cashBalance", "d": {"accountId": account, "amount": balance[0] / 100}},
                        ]
                    ).decode(),
                )
            )
            answers.append(_encode(Filled(order_id)))
        if orders:
            db.executemany(
                "INSERT INTO trade_order (id, account_id, contract_id, action, order_type, qty, "
                "time_in_force, status, admin, triggered, fill_ticks, created, updated) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?, ?)",
                orders,
            )
            db.executemany(
                "INSERT INTO fill (order_id, account_id, contract_id, action, qty, price_ticks, timestamp, "
                "trade_date) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                fills,
            )
            db.executemany(
                UPSERT_POSITION,
                [
                    (
                        account,
                        CONTRACT,
                        json.dumps(positions[account][0]),
                        *positions[account][1:],
                        now,
                        trade_date,
                    )
                    for account in touched
                ],
            )
            db.executemany(
                "UPDATE cash_balance SET amount_cents = ?, realized_cents = ?, timestamp = ? "
                "WHERE account_id = ?",
                [(cash[account][0], cash[account][1], now, account) for account in touched],
            )
            db.executemany("INSERT INTO event_outbox (origin, created, payload) VALUES (?, ?, ?)", events)
        return answers

    return commit


def build(path: str, accounts: int) -> tuple[Writer, Any]:
    accounts_range = range(1, accounts + 1)

    def seed(db: sqlite3.Connection) -> None:
        db.executemany(
            "INSERT INTO account_risk_status (id, organization_id, admin_action) VALUES (?, ?, 'Normal')",
            ((account_id, ORGANIZATION) for account_id in accounts_range),
        )
        db.executemany(
            "INSERT INTO cash_balance (account_id, amount_cents, realized_cents, timestamp) "
            "VALUES (?, 5000000, 0, '2026-12-07T00:00:00Z')",
            ((account_id,) for account_id in accounts_range),
        )
        db.execute(
            "INSERT INTO contract_price (contract_id, price_ticks, updated) "
            "VALUES (?, ?, '2026-12-07T00:00:00Z')",
            (CONTRACT, PRICE_TICKS),
        )

    organization_of = {account_id: ORGANIZATION for account_id in accounts_range}
    contracts = {SYMBOL: CONTRACT}

    def check(request: PlaceOrder, organization: int) -> bytes | None:
        if request.action not in ("Buy", "Sell") or request.orderType != "Market":
            return b'{"failureReason":"UnknownReason","failureText":"Market orders only"}'
        if not 1 <= request.orderQty <= MAX_QTY:
            return b'{"errorText":"orderQty out of range"}'
        if request.symbol not in contracts:
            return b'{"failureReason":"InvalidContract"}'
        if request.accountId is None or organization_of.get(request.accountId) != organization:
            return b'{"errorText":"Access is denied"}'
        return None

    writer = Writer(path, SCHEMA, seed, make_commit(Book()))
    return writer, make_app(writer, PATH, msgspec.json.Decoder(PlaceOrder).decode, check)


if __name__ == "__main__":
    serve(__doc__, build)
