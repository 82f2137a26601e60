"""Events across workers: an outbox table written in each write's transaction, and a relay per
process that delivers the other processes' events to its own publisher.

- `write_outbox` (inside the transaction, before its commit): one row per event, tagged with the
  writing process's `origin`; on PostgreSQL also `pg_notify`, which the server delivers at commit.
  The writer publishes its own events in process after the commit, as before.
- `OutboxRelay` (a thread per process): waits for a notification (PostgreSQL `LISTEN`, or a poll every
  `poll_interval` on SQLite), reads the rows above what it has read, and hands the events of other
  origins to the publisher on the event loop, in id order. Ids come from a sequence, so a row may
  commit after a higher id was read: the relay keeps the gaps below the highest id it has read open
  for `gap_timeout` (a gap that never fills is a rolled-back transaction's id) and reads them again.
- Rows older than `OUTBOX_RETENTION` are pruned: on PostgreSQL by the relays (on their own
  connections), on SQLite by the writers, in a write's transaction (a relay there only reads). A relay
  that falls further behind than that (a process stalled for minutes) misses those events.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import Connection, Engine, delete, func, select

from autoliq.adapters.sql.batch import Batch
from autoliq.adapters.sql.schema import event_outbox
from autoliq.domain.events import (
    AlertRaised,
    Event,
    PricesChanged,
    RiskStatusChanged,
    SandboxClockMoved,
    SandboxFaultsChanged,
    SandboxReset,
    SessionsClosed,
    TradingEntityChanged,
)
from autoliq.telemetry.metrics import observe_event_lag

log = logging.getLogger(__name__)
CHANNEL = "autoliq_events"
OUTBOX_RETENTION = timedelta(minutes=10)
"""How long an outbox row is kept for the relays of other processes."""
_KINDS: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (
        RiskStatusChanged,
        TradingEntityChanged,
        AlertRaised,
        SessionsClosed,
        SandboxReset,
        SandboxClockMoved,
        SandboxFaultsChanged,
        PricesChanged,
    )
}
_encode = msgspec.json.Encoder().encode
_decode_envelope = msgspec.json.Decoder(dict[str, Any]).decode


def new_origin() -> str:
    """A process's tag on the rows it writes."""
    return uuid.uuid4().hex


def encode_event(event: Event) -> str:
    """`{"kind": <class name>, "event": <fields>}` as JSON text."""
    return _encode({"kind": type(event).__name__, "event": event}).decode()


def decode_event(payload: str) -> Event:
    """The event `encode_event` wrote."""
    envelope = _decode_envelope(payload)
    kind = _KINDS[envelope["kind"]]
    event: Event = msgspec.convert(envelope["event"], type=kind, strict=False)
    return event


_NOTIFY = f"SELECT pg_notify('{CHANNEL}', '')"


def write_outbox(batch: Batch, origin: str, events: Sequence[Event], now: datetime) -> None:
    """Record `events` in the transaction of `batch` (and wake the relays at its commit): the
    compiled INSERT on the batch's raw cursor (through SQLAlchemy's `execute` it cost most of the
    writer thread's time on PostgreSQL, py-spy: docs/performance.md)."""
    if not events:
        return
    created = batch.codec.time(now)
    rows = [(origin, created, encode_event(e)) for e in events]
    sql = batch.statements["insert_outbox"]
    cursor = batch.cursor
    if len(rows) == 1:
        cursor.execute(sql, rows[0])
    else:
        cursor.executemany(sql, rows)
    if not batch.is_sqlite:
        cursor.execute(_NOTIFY)


def prune_outbox(conn: Connection, before: datetime) -> int:
    """Delete the outbox rows created before `before`; how many."""
    return int(conn.execute(delete(event_outbox).where(event_outbox.c.created < before)).rowcount)


class OutboxRelay:
    """Delivers the events other processes committed to this process's publisher."""

    def __init__(
        self,
        engine: Engine,
        origin: str,
        deliver: Callable[[list[Event]], None],
        *,
        poll_interval: float = 0.1,
        gap_timeout: float = 5.0,
        retention: timedelta = OUTBOX_RETENTION,
    ) -> None:
        self._engine = engine
        self._origin = origin
        self._deliver = deliver
        self._poll = poll_interval
        self._gap_timeout = gap_timeout
        self._retention = retention
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._horizon = 0
        """Every id up to here has been read (or given up as a rolled-back gap)."""
        self._seen: set[int] = set()
        self._gaps: dict[int, float] = {}
        """Missing id -> when it was first noticed missing."""
        self._pruned = 0.0
        self.delivered = 0

    def start(self) -> None:
        """Start after the rows already there (they were published before this process listened)."""
        with self._engine.connect() as conn:
            self._horizon = int(
                conn.execute(select(func.coalesce(func.max(event_outbox.c.id), 0))).scalar_one()
            )
        self._thread = threading.Thread(target=self._run, name="autoliq-outbox-relay", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            if self._engine.dialect.name == "postgresql":
                self._wake_listener()
            self._thread.join(timeout=10)
            self._thread = None

    def _wake_listener(self) -> None:
        """A notification ends the listener's wait now instead of at its next 1 s timeout (every
        stop, a worker's shutdown among them, waited up to a second for it)."""
        try:
            with self._engine.connect() as conn:
                conn.exec_driver_sql(f"NOTIFY {CHANNEL}")
                conn.commit()
        except Exception:  # the database is gone: the timeout ends the wait as before
            log.debug("could not wake the outbox listener", exc_info=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self._engine.dialect.name == "postgresql":
                    self._listen()
                else:
                    self.read_new()
                    self._stop.wait(self._poll)
            except Exception:
                log.exception("outbox relay failed; retrying in 1 s")
                self._stop.wait(1.0)

    def _listen(self) -> None:
        """LISTEN on a dedicated autocommit connection; read after each notification (and every
        second, in case one was missed while reconnecting)."""
        with self._engine.connect() as conn:
            raw: Any = conn.connection.dbapi_connection
            raw.autocommit = True
            raw.execute(f"LISTEN {CHANNEL}")
            self.read_new()
            while not self._stop.is_set():
                for _ in raw.notifies(timeout=1.0, stop_after=1):
                    break
                self.read_new()

    def read_new(self) -> int:
        """Read and deliver what other processes committed since the last read; how many delivered."""
        now = time.monotonic()
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(
                    event_outbox.c.id, event_outbox.c.origin, event_outbox.c.created, event_outbox.c.payload
                )
                .where(event_outbox.c.id > self._horizon)
                .order_by(event_outbox.c.id)
                .limit(5000)
            ).all()
            # Pruning writes: here on PostgreSQL only (a SQLite reader upgrading to a writer gets
            # "database is locked" against the workers' writers; SQLite's writers prune instead).
            if self._engine.dialect.name == "postgresql" and now - self._pruned > 60:
                self._pruned = now
                prune_outbox(conn, datetime.now(UTC) - self._retention)
            conn.commit()
        events: list[Event] = []
        read_at = datetime.now(UTC)
        for row in rows:
            if row.id in self._seen:
                continue
            self._seen.add(row.id)
            self._gaps.pop(row.id, None)
            if row.origin != self._origin:
                events.append(decode_event(row.payload))
                created = row.created if row.created.tzinfo else row.created.replace(tzinfo=UTC)
                # Wall clocks: across machines, their skew is part of the figure.
                observe_event_lag(max(0.0, (read_at - created).total_seconds()), "outbox")
        self._advance(now)
        if events:
            self._deliver(events)
            self.delivered += len(events)
        return len(events)

    def _advance(self, now: float) -> None:
        top = max(self._seen, default=self._horizon)
        for missing in range(self._horizon + 1, top):
            if missing not in self._seen:
                self._gaps.setdefault(missing, now)
        while self._horizon < top:
            following = self._horizon + 1
            if following in self._seen:
                self._seen.discard(following)
            elif now - self._gaps.get(following, now) >= self._gap_timeout:
                self._gaps.pop(following, None)  # a rolled-back transaction's id
            else:
                break
            self._horizon = following


def loop_deliverer(
    loop: asyncio.AbstractEventLoop, publish: Callable[[list[Event]], None]
) -> Callable[[list[Event]], None]:
    """Deliver from the relay's thread on `loop`, where the publisher's listeners live."""

    def deliver(events: list[Event]) -> None:
        loop.call_soon_threadsafe(publish, events)

    return deliver
