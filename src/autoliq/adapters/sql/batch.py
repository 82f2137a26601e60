"""`Batch`: one transaction's raw cursor and its explicit per-batch cache.

A `Batch` lives as long as one transaction of the unit of work (a batch of writes, or a snapshot).
It runs the hot statements (`statements.py`, compiled from the schema) on the DB-API cursor of the
SQLAlchemy connection, their values converted by the one codec (`codec.py`), so this path and
SQLAlchemy's read what the other wrote (`tests/integration/test_hot_path.py`, both engines).

On PostgreSQL a batch is prepared (`prepare_batch`): its accounts' statuses, auto-liq layers and
category halts read in one query, its log ids reserved in another, its status and log writes
buffered and sent by `flush` (a handful of round trips per batch instead of three per write). That
cache ends by itself: while the batch lasts it sees every SQLAlchemy statement on its connection
(`saw`) and sends its buffered writes before a statement on the status tables, and drops what a
write may change; no caller invalidates it by hand. `close` ends the watch.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, Engine, Select, event
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.selectable import Join

from autoliq.adapters.sql.codec import Codec, codec_for, read_time
from autoliq.adapters.sql.schema import (
    account,
    account_risk_status,
    account_risk_status_log,
    auto_liq_layer,
    risk_category,
)
from autoliq.adapters.sql.statements import STATUS_COLUMNS, statements_for
from autoliq.domain.auto_liq import LayerState
from autoliq.domain.gate import TradingState
from autoliq.domain.model import RiskStatus
from autoliq.domain.states import Actor, AdminAction, ReasonCode

_PLAIN_STATES = {a.value: TradingState(a) for a in AdminAction}
MISSING: Any = object()
"""`Batch.prepared`'s answer for what the batch did not prepare."""


@dataclass(slots=True)
class _TradingCache:
    """A prepared batch of orders' reads (rows as the statements return them) and buffered writes."""

    active: bool = False
    prices: dict[int, Any] = field(default_factory=dict)
    positions: dict[tuple[int, int], Any] = field(default_factory=dict)
    working: dict[tuple[int, int], list[Any]] = field(default_factory=dict)
    cash: dict[int, Any] = field(default_factory=dict)
    settings: dict[int, bool] = field(default_factory=dict)
    order_ids: list[int] = field(default_factory=list)
    fill_ids: list[int] = field(default_factory=list)
    writes: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)


@cache
def _status_sql(dialect_name: str, locking: bool) -> dict[str, str]:
    """The status statements by name, in their locking (FOR UPDATE) variants where `locking`."""
    statements = statements_for(dialect_name)
    lock = "_locked" if locking else ""
    sql = {
        name: statements[name + lock] for name in ("select_status", "select_trading_state", "select_statuses")
    }
    for name in (
        "select_layer_exists", "update_status", "insert_status", "upsert_status", "insert_log",
        "insert_log_with_id",
    ):  # fmt: skip
        sql[name] = statements[name]
    sql["reserve_log_ids"] = statements["reserve_log_ids"]
    return sql


def status_from_row(row: Any) -> RiskStatus:
    return RiskStatus(
        id=row[0],
        admin_action=AdminAction(row[1]),
        admin_timestamp=read_time(row[2]),
        liquidate_only=read_time(row[3]),
        user_triggered_liq_only=bool(row[4]),
        max_net_liq=row[5],
        min_net_liq=row[6],
    )


def status_params(status: RiskStatus, codec: Codec) -> tuple[Any, ...]:
    """A status row's columns but its id, stored as `codec`'s engine stores them (in the order of
    `statements.STATUS_COLUMNS[1:]`): what every raw-cursor writer of the row passes."""
    return (
        status.admin_action.value, codec.time(status.admin_timestamp), codec.time(status.liquidate_only),
        codec.flag(status.user_triggered_liq_only), status.max_net_liq, status.min_net_liq,
    )  # fmt: skip


def status_fields(status: RiskStatus) -> dict[str, Any]:
    """A status row's columns but its id, as SQLAlchemy's column types take them (they encode
    through the same codec): what the bulk writers of the row (the sandbox reset) pass."""
    values = (
        status.admin_action.value, status.admin_timestamp, status.liquidate_only,
        status.user_triggered_liq_only, status.max_net_liq, status.min_net_liq,
    )  # fmt: skip
    return dict(zip(STATUS_COLUMNS[1:], values, strict=True))


_BATCH = "autoliq.batch"
"""The key of a connection's prepared batch in `Connection.info`, while the batch lasts."""
_STATUS_TABLES = frozenset({account_risk_status, account_risk_status_log})
"""A statement on these sees the batch's buffered writes first; writing them drops its statuses."""
_GATE_TABLES = frozenset({auto_liq_layer, risk_category, account})
"""Writing these drops the batch's prepared layers and halts (an account's layer or category)."""
_hooked: weakref.WeakSet[Engine] = weakref.WeakSet()


def _tables(clause: Any) -> list[Any]:
    """The tables a SQLAlchemy statement writes, or reads in its FROM clause."""
    if isinstance(clause, UpdateBase):
        return [clause.table]
    if not isinstance(clause, Select):
        return []
    out: list[Any] = []
    froms: list[Any] = list(clause.get_final_froms())
    while froms:
        item = froms.pop()
        if isinstance(item, Join):
            froms += (item.left, item.right)
        else:
            out.append(item)
    return out


def _before_execute(conn: Connection, clause: Any, *_: Any) -> None:
    """Every SQLAlchemy statement of a prepared batch passes here: the batch's cache ends where
    a statement may see or change what it holds, so no caller invalidates it by hand."""
    batch = conn.info.get(_BATCH)
    if batch is not None:
        batch.saw(clause)


def _prepared_trading(
    pairs: set[tuple[int, int]], accounts: list[int], contracts: list[int], reads: dict[str, Any]
) -> _TradingCache:
    """The order path's reads of a batch of orders (`statements._order_batch`, one cursor each,
    sent by `Batch.prepare_batch`), as the batch's cache."""
    cache = _TradingCache(active=True)
    cache.prices = dict.fromkeys(contracts)
    cache.prices.update((int(r[0]), r[1]) for r in reads["batch_prices"].fetchall())
    cache.positions = dict.fromkeys(pairs)
    for r in reads["batch_positions"].fetchall():
        if (r[0], r[1]) in pairs:
            cache.positions[(r[0], r[1])] = tuple(r[2:])
    cache.working = {pair: [] for pair in pairs}
    for r in reads["batch_working"].fetchall():
        if (r[1], r[2]) in pairs:
            cache.working[(r[1], r[2])].append(r)
    cache.cash = dict.fromkeys(accounts)
    cache.cash.update((int(r[0]), tuple(r[1:])) for r in reads["batch_cash"].fetchall())
    cache.settings = dict.fromkeys(accounts, False)
    cache.settings.update((int(r[0]), True) for r in reads["batch_settings"].fetchall())
    for name, ids in (("reserve_order_ids", cache.order_ids), ("reserve_fill_ids", cache.fill_ids)):
        if name in reads:  # a write's (pop() hands them out lowest first)
            ids.extend(sorted((int(r[0]) for r in reads[name].fetchall()), reverse=True))
    return cache


class Batch:
    """One transaction's raw cursor and per-batch cache: the status reads and writes, the log.

    On PostgreSQL a batch can be prepared (`prepare_batch`): the statuses of the batch's accounts
    are read in one query and its log ids reserved from the sequence in another, so that the batch's
    UPDATEs and INSERTs need no answer: they are buffered and sent by `flush` as three `executemany`
    calls (psycopg pipelines them): a handful of round trips per batch instead of three per write,
    and far less of psycopg's per-statement Python.
    """

    def __init__(self, conn: Connection, *, locking: bool = False) -> None:
        self._sqlite = conn.dialect.name == "sqlite"
        self.codec = codec_for(conn.dialect.name)
        """The column conversions of this engine (`codec.py`)."""
        self.statements = statements_for(conn.dialect.name)
        """The hot statements compiled for this engine (`statements.py`)."""
        # PostgreSQL write transactions lock the status rows they read (FOR UPDATE): a status row is
        # the account's lock, so the writes of one account serialize across workers and machines.
        # (SQLite writers serialize on BEGIN IMMEDIATE; snapshots never lock.)
        self._locking = locking and not self._sqlite
        self._sql = _status_sql(conn.dialect.name, self._locking)
        self._conn = conn
        # The DB-API connection's info, taken while the connection is sound: `close` must work on a
        # connection a lost server has invalidated (its `info` then raises until rolled back).
        self._info = conn.info
        dbapi = conn.connection.dbapi_connection
        assert dbapi is not None
        self._dbapi: Any = dbapi
        self._cursor = dbapi.cursor()
        # account id -> status as this batch has it (None: no row); only for prepared accounts.
        self._statuses: dict[int, RiskStatus | None] = {}
        # account id -> (auto-liq layer state, category halted) as prepared; dropped when changed.
        self._layers: dict[int, tuple[str | None, bool, bool]] = {}
        self._log_ids: list[int] = []
        # Prepared batches: statement -> parameter rows, sent by flush() in this order.
        self._buffer: dict[str, list[tuple[Any, ...]]] = {}
        # The order path's prepared reads (PostgreSQL, `prepare_batch` with `orders`), as the
        # statements return their rows, kept up to date by this batch's writes, dropped by any
        # other statement (`saw`, `cursor`); and its INSERTs and upserts, buffered until `flush`.
        self._trading = _TradingCache()

    @property
    def connection(self) -> Connection:
        """The SQLAlchemy connection of this transaction."""
        return self._conn

    @property
    def cursor(self) -> Any:
        """The DB-API cursor of this transaction's connection, for a statement the batch does not
        know: the order path's buffered writes are sent first and its prepared reads dropped (that
        statement may read or change what they hold)."""
        if self._trading.active:
            self._end_trading()
        return self._cursor

    @property
    def read_cursor(self) -> Any:
        """The cursor for one of the order path's own statements on a row the batch did not prepare
        (it reads or writes that row only): the buffered writes are sent first, the prepared rows
        stay."""
        if self._trading.writes:
            self._flush_trading()
        return self._cursor

    def _end_trading(self) -> None:
        self._flush_trading()
        self._trading = _TradingCache()

    @property
    def is_sqlite(self) -> bool:
        """True on SQLite (`?` parameters, text times), False on PostgreSQL (`%s`, native types)."""
        return self._sqlite

    @property
    def pipelined(self) -> bool:
        """True where `prepare_batch` lets the batch's writes be buffered and sent at `flush`."""
        return not self._sqlite

    def prepare_batch(
        self, account_ids: list[int], log_rows: int, orders: Sequence[tuple[int, int]] = ()
    ) -> None:
        """PostgreSQL: read the accounts' statuses and reserve `log_rows` log ids; with `orders`
        ((account id, contract id) of each order the batch places), also their last prices,
        positions, working orders, cash and whether they have post-trade settings, and (a write's
        batch) one order id and one fill id per order: one query each however many orders, sent
        together in one pipeline. Until `close`, the batch watches the connection's SQLAlchemy
        statements (`saw`)."""
        if self._sqlite:
            return
        engine = self._conn.engine
        if engine not in _hooked:
            event.listen(engine, "before_execute", _before_execute)
            _hooked.add(engine)
        self._info[_BATCH] = self
        # Every read is sent before the first answer is awaited (psycopg's pipeline mode, one cursor
        # per statement): one round trip for the batch's reads instead of one per read.
        st, sql = self.statements, self._sql
        wanted = list(dict.fromkeys(account_ids))
        with self.pipeline(bool(wanted) + bool(log_rows) + (7 if orders else 0)):
            statuses = self._send(sql["select_statuses"], (wanted,)) if wanted else None
            log_ids = self._send(sql["reserve_log_ids"], (log_rows,)) if log_rows else None
            pairs = set(orders)
            accounts = sorted({a for a, _ in pairs})
            contracts = sorted({c for _, c in pairs})
            reads: dict[str, Any] = {}
            if orders:
                for name, params in (
                    ("batch_prices", (contracts,)),
                    ("batch_positions", (accounts, contracts)),
                    ("batch_working", (accounts, contracts)),
                    ("batch_cash", (accounts,)),
                    ("batch_settings", (accounts,)),
                    ("reserve_order_ids", (len(orders),)),
                    ("reserve_fill_ids", (len(orders),)),
                ):
                    # Ids only for a write: a snapshot would use up sequence values.
                    if self._locking or not name.startswith("reserve_"):
                        reads[name] = self._send(st[name], params)
            if statuses is not None:
                rows = statuses.fetchall()
                found = {row[0]: status_from_row(row) for row in rows}
                self._statuses = {a: found.get(a) for a in wanted}
                # The other two layers of the gate, until a write of this batch changes them.
                self._layers = {row[0]: (row[7], bool(row[8]), bool(row[9])) for row in rows}
                self._layers.update((a, (None, False, False)) for a in wanted if a not in found)
            if log_ids is not None:
                self._log_ids = [int(row[0]) for row in log_ids.fetchall()]
                self._log_ids.reverse()  # pop() hands them out in ascending order
            if orders:
                self._trading = _prepared_trading(pairs, accounts, contracts, reads)
        self._buffer = {self._sql[k]: [] for k in ("insert_status", "update_status", "insert_log_with_id")}

    def _send(self, sql: str, params: tuple[Any, ...]) -> Any:
        """Inside `prepare_batch`'s pipeline: send a read on a cursor of its own (its rows are
        fetched later)."""
        cursor = self._dbapi.cursor()
        cursor.execute(sql, params)
        return cursor

    def rows_of(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        """A statement whose rows are awaited now, on a cursor of its own. Inside a pipeline the
        batch's shared cursor may still hold results of the `executemany` calls sent before it:
        psycopg 3.3 answered its `fetchall` with one of theirs ("the last operation didn't produce
        records (command status: INSERT 0 1)") once a price tick liquidated 1,000 accounts."""
        cursor = self._dbapi.cursor()
        try:
            cursor.execute(sql, params)
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def pipeline(self, statements: int) -> contextlib.AbstractContextManager[Any]:
        """PostgreSQL, for more than one statement: the `statements` sent within are pipelined
        (psycopg's pipeline mode: an answer waits only for what was sent before it; the end is one
        more round trip, a Sync, which a single statement would not pay); otherwise nothing."""
        if self._sqlite or statements < 2:
            return contextlib.nullcontext()
        pipelined: contextlib.AbstractContextManager[Any] = self._dbapi.pipeline()
        return pipelined

    @property
    def buffered_statements(self) -> int:
        """How many `executemany` calls `flush` would send."""
        return sum(1 for rows in self._trading.writes.values() if rows) + sum(
            1 for rows in self._buffer.values() if rows
        )

    # -- the order path's prepared reads and buffered writes (PostgreSQL; `_TradingCache`) --

    def prepared(self, kind: str, key: Any) -> Any:
        """The prepared row of `kind` ("prices", "positions", "working", "cash", "settings") for
        `key`, or `MISSING` (not prepared: the caller reads it through `cursor`)."""
        held: dict[Any, Any] = getattr(self._trading, kind)
        return held.get(key, MISSING)

    def remember(self, kind: str, key: Any, row: Any) -> None:
        """A write of this batch changed a prepared row: keep it as written (when prepared)."""
        held: dict[Any, Any] = getattr(self._trading, kind)
        if key in held:
            held[key] = row

    def forget_working(self, key: tuple[int, int]) -> None:
        """An order of the pair was stored or changed: its working orders are read again (after the
        buffered writes are sent)."""
        self._trading.working.pop(key, None)

    def new_id(self, table: str) -> int | None:
        """A reserved id of `table` ("trade_order" or "fill"), or None (none left: the caller inserts
        with RETURNING through `cursor`)."""
        ids = self._trading.order_ids if table == "trade_order" else self._trading.fill_ids
        return ids.pop() if ids else None

    def buffer_write(self, name: str, params: tuple[Any, ...]) -> None:
        """Send statement `name` at `flush` when the order path is prepared, else now."""
        if self._trading.active:
            self._trading.writes.setdefault(name, []).append(params)
        else:
            self._cursor.execute(self.statements[name], params)

    def _flush_trading(self) -> None:
        """The order path's buffered writes: orders before their fills, positions, cash."""
        writes = self._trading.writes
        for name in ("insert_order_with_id", "insert_fill_with_id", "save_position", "save_cash"):
            rows = writes.pop(name, None)
            if rows:
                self._cursor.executemany(self.statements[name], rows)
        for name, rows in writes.items():  # none today: every buffered statement is named above
            self._cursor.executemany(self.statements[name], rows)
        writes.clear()

    def flush(self) -> None:
        """Send the prepared batch's buffered writes: the order path's, then new status rows, then
        updates, then log rows (an account's row is inserted before it is updated; updates keep
        their order); the batch buffers no more after it."""
        self.send_buffered()
        self._buffer = {}

    def send_buffered(self) -> None:
        """Before a raw read of the status tables: send the writes buffered so far (the batch goes on
        buffering the next ones)."""
        self._flush_trading()
        for sql, rows in self._buffer.items():
            if rows:
                self._cursor.executemany(sql, rows)
                rows.clear()

    def _write(self, key: str, params: tuple[Any, ...]) -> None:
        sql = self._sql[key]
        if sql in self._buffer:
            self._buffer[sql].append(params)
        else:
            self._cursor.execute(sql, params)

    def risk_status(self, account_id: int) -> RiskStatus | None:
        """The account's status row, or None."""
        if account_id in self._statuses:
            return self._statuses[account_id]
        self._cursor.execute(self._sql["select_status"], (account_id,))
        row = self._cursor.fetchone()
        return None if row is None else status_from_row(row)

    def trading_state(self, account_id: int) -> TradingState:
        """What the order gate reads first, in one statement: the admin action, the auto-liq layer and
        the risk category's halt (Normal and clear without a status row). A prepared batch has
        them already: from its statuses, and the layer and halt read with them, which the writes
        that change those drop (`saw`)."""
        prepared = self._layers.get(account_id)
        if prepared is not None:
            action = AdminAction.NORMAL.value
            layer, halted, limited = prepared
        else:
            self._cursor.execute(self._sql["select_trading_state"], (account_id,))
            row = self._cursor.fetchone()
            action, layer, halted, limited = (
                (AdminAction.NORMAL.value, None, False, False) if row is None else row
            )
        if account_id in self._statuses:
            # A prepared batch's status may have changed in this batch, its write still buffered.
            status = self._statuses[account_id]
            action = AdminAction.NORMAL.value if status is None else status.admin_action.value
        if layer is None and not halted and not limited:
            return _PLAIN_STATES[action]
        return TradingState(
            AdminAction(action), None if layer is None else LayerState(layer), bool(halted), bool(limited)
        )

    def has_auto_liq_layer(self, account_id: int) -> bool:
        """Whether the account has an auto-liq layer row: as a prepared batch read it, else one raw
        query (every `Normal` asks, and almost every account has none)."""
        prepared = self._layers.get(account_id)
        if prepared is not None:
            return prepared[0] is not None
        self._cursor.execute(self._sql["select_layer_exists"], (account_id,))
        return self._cursor.fetchone() is not None

    def saw(self, clause: Any) -> None:
        """A SQLAlchemy statement runs in this batch: send the buffered writes first if it reads or
        writes the status tables; drop what it may change (statuses: re-read from the database;
        layers and halts: re-read by the gate's statement)."""
        if self._trading.active:
            # Any other statement may read what the order path buffered, or change what it holds.
            self._flush_trading()
            if isinstance(clause, UpdateBase):
                self._trading = _TradingCache()
        if not self._statuses and not self._layers and not any(self._buffer.values()):
            return
        tables = _tables(clause)
        if not _STATUS_TABLES.isdisjoint(tables):
            self.flush()
            if isinstance(clause, UpdateBase):
                # A write of many status rows at once (the sandbox reset): what follows reads its result.
                self._statuses = {}
                self._layers = {}
        if isinstance(clause, UpdateBase) and not _GATE_TABLES.isdisjoint(tables):
            self._layers = {}

    def close(self) -> None:
        """The batch is over (committed or rolled back): stop watching the connection."""
        if self._info.get(_BATCH) is self:
            del self._info[_BATCH]

    def save_risk_status(self, status: RiskStatus) -> None:
        """Update the row, inserting it when missing."""
        values = status_params(status, self.codec)
        if status.id in self._statuses:
            # Prepared: whether the row exists is known, so no answer is needed (pipeline-safe).
            exists = self._statuses[status.id] is not None
            self._statuses[status.id] = status
            if exists:
                self._write("update_status", (*values, status.id))
            else:
                self._write("insert_status", (status.id, *values))
            return
        self._cursor.execute(self._sql["update_status"], (*values, status.id))
        if self._cursor.rowcount == 0:
            self._cursor.execute(self._sql["insert_status"], (status.id, *values))

    def save_risk_statuses(self, statuses: Sequence[RiskStatus]) -> None:
        """`save_risk_status` of many accounts (one row each): the prepared ones as it does, the
        others in one upsert `executemany`."""
        rows: list[tuple[Any, ...]] = []
        for status in statuses:
            if status.id in self._statuses:
                self.save_risk_status(status)
            else:
                rows.append((status.id, *status_params(status, self.codec)))
        if len(rows) == 1:
            self._cursor.execute(self._sql["upsert_status"], rows[0])
        elif rows:
            self._cursor.executemany(self._sql["upsert_status"], rows)

    def layers_changed(self) -> None:
        """Auto-liq layers were written on the raw cursor: drop the prepared ones (the gate's
        statement reads them again)."""
        self._layers = {}

    def insert_statuses(self, statuses: Iterable[RiskStatus]) -> None:
        """Insert new status rows (the seed's), in one `executemany`."""
        rows = [(status.id, *status_params(status, self.codec)) for status in statuses]
        self._cursor.executemany(self._sql["insert_status"], rows)

    def append_log(
        self,
        account_id: int,
        timestamp: datetime,
        status: RiskStatus,
        actor: Actor,
        actor_user_id: int | None,
        reason_code: ReasonCode | None,
        reason: str | None,
    ) -> int:
        """Insert a new log row; its id (the entry is built once, with it: `dataclasses.replace` of
        a built one cost ~4 µs a write)."""
        values = (
            account_id, self.codec.time(timestamp), *status_params(status, self.codec),
            actor.value, actor_user_id, reason_code.value if reason_code else None, reason,
        )  # fmt: skip
        if self._log_ids:
            entry_id = self._log_ids.pop()
            self._write("insert_log_with_id", (entry_id, *values))
            return entry_id
        self._cursor.execute(self._sql["insert_log"], values)
        row = self._cursor.fetchone()
        assert row is not None
        return int(row[0])

    def append_logs(
        self,
        rows: Sequence[tuple[int, datetime, RiskStatus, Actor, int | None, ReasonCode | None, str | None]],
    ) -> list[int]:
        """`append_log` of many rows, in their order; their ids (ascending). PostgreSQL: the ids
        reserved from the sequence in one query, the rows sent in one `executemany` (or buffered in
        a prepared batch); SQLite: one INSERT each on the raw cursor (no round trip to save)."""
        if self._sqlite or len(rows) < 2:
            return [self.append_log(*row) for row in rows]
        need = len(rows) - len(self._log_ids)
        if need > 0:
            self._cursor.execute(self._sql["reserve_log_ids"], (need,))
            fresh = sorted(int(row[0]) for row in self._cursor.fetchall())
            # pop() hands out the lowest first: the batch's ids left, then the new ones.
            self._log_ids = fresh[::-1] + self._log_ids
        ids: list[int] = []
        params: list[tuple[Any, ...]] = []
        for account_id, timestamp, status, actor, actor_user_id, reason_code, reason in rows:
            entry_id = self._log_ids.pop()
            ids.append(entry_id)
            params.append(
                (
                    entry_id, account_id, self.codec.time(timestamp), *status_params(status, self.codec),
                    actor.value, actor_user_id, reason_code.value if reason_code else None, reason,
                )
            )  # fmt: skip
        sql = self._sql["insert_log_with_id"]
        if sql in self._buffer:
            self._buffer[sql].extend(params)
        else:
            self._cursor.executemany(sql, params)
        return ids
