"""Events across workers: an outbox table written in each write's transaction, and a relay per
process that delivers the other processes' events to its own publisher.

- `write_outbox` (inside the transaction, before its commit): one row per event, tagged with the
  writing process's `origin`; on PostgreSQL also `pg_notify` (payload: the origin), which the server
  delivers at commit. The writer publishes its own events in process after the commit, as before,
  and hands the committed rows' ids to its own relay (`OutboxRelay.wrote`).
- `OutboxRelay` (a thread per process): waits for a notification of another origin (PostgreSQL
  `LISTEN`: its own process's notifications wake it but cause no read; at least one read a second),
  or polls every `poll_interval` on SQLite (0.1 s in a worker of `autoliq serve --workers N`, 1 s in
  a single-process server), reads the other origins' rows above what it has read (never its own: the
  ids its writer handed over fill their places) and hands their events to the publisher on the event
  loop, in id order. Ids come from a sequence, so a row may commit after a higher id was read: the
  relay keeps the gaps below the highest id it has read open for `gap_timeout` (a gap that never
  fills is a rolled-back transaction's id) and reads them again.
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
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import Connection, Engine, delete, func, select

from autoliq.adapters.sql.batch import Batch
from autoliq.adapters.sql.schema import event_outbox, webhook
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
WORKER_POLL_SECONDS = 0.1
"""SQLite: how often the relay of a worker of `autoliq serve --workers N` reads the outbox (its
siblings write there all the time)."""
SOLO_POLL_SECONDS = 1.0
"""SQLite: how often the relay of a single-process server reads it (only another server on the same
file writes there: the relay mostly sleeps)."""
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


_NOTIFY = f"SELECT pg_notify('{CHANNEL}', %s)"


def write_outbox(batch: Batch, origin: str, events: Sequence[Event], now: datetime) -> list[int]:
    """Record `events` in the transaction of `batch` (and wake the relays at its commit, the
    notification's payload `origin`); the new rows' ids, which the writer hands to its own relay
    once committed (`OutboxRelay.wrote`): that relay never reads its process's rows back. The
    compiled INSERT on the batch's raw cursor (through SQLAlchemy's `execute` it cost most of the
    writer thread's time on PostgreSQL, py-spy: docs/performance.md)."""
    if not events:
        return []
    created = batch.codec.time(now)
    cursor = batch.cursor
    statements = batch.statements
    if not batch.is_sqlite:
        # Delivered at commit wherever it stands in the transaction; sent first, it rides in the
        # pipeline with the rows (`UnitOfWork._commit`) rather than after their answer.
        cursor.execute(_NOTIFY, (origin,))
    if len(events) == 1:
        row = (origin, created, encode_event(events[0]))
        if batch.is_sqlite:
            cursor.execute(statements["insert_outbox"], row)
            ids = [cursor.lastrowid]
        else:
            ids = [answer[0] for answer in batch.rows_of(statements["insert_outbox_one"], row)]
    else:
        # One statement however many rows (sqlite3's executemany answers no ids): the payloads as
        # one JSON array of texts, inserted in their order.
        payloads = _encode([encode_event(e) for e in events]).decode()
        params = (origin, created, payloads)
        if batch.is_sqlite:
            cursor.execute(statements["insert_outbox_returning"], params)
            ids = [answer[0] for answer in cursor.fetchall()]
        else:  # on a cursor of its own: see Batch.rows_of
            ids = [answer[0] for answer in batch.rows_of(statements["insert_outbox_returning"], params)]
    return ids


def prune_outbox(conn: Connection, before: datetime) -> int:
    """Delete the outbox rows created before `before`, but none an active webhook has yet to
    deliver (after its cursor: webhooks are fed from the outbox, at least once); how many."""
    held = select(func.min(webhook.c.cursor)).where(webhook.c.active.is_(True)).scalar_subquery()
    old = (event_outbox.c.created < before) & ((held.is_(None)) | (event_outbox.c.id <= held))
    return int(conn.execute(delete(event_outbox).where(old)).rowcount)


class OutboxRelay:
    """Delivers the events other processes committed to this process's publisher."""

    def __init__(
        self,
        engine: Engine,
        origin: str,
        deliver: Callable[[list[Event]], None],
        *,
        poll_interval: float = WORKER_POLL_SECONDS,
        gap_timeout: float = 5.0,
        retention: timedelta = OUTBOX_RETENTION,
        listen_timeout: float = 1.0,
    ) -> None:
        self._engine = engine
        self._origin = origin
        self._deliver = deliver
        self._poll = poll_interval
        self._gap_timeout = gap_timeout
        self._retention = retention
        self._listen_timeout = listen_timeout
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._horizon = 0
        """Every id up to here has been read, or written by this process (or given up as a
        rolled-back gap)."""
        self._seen: set[int] = set()
        self._gaps: dict[int, float] = {}
        """Missing id -> when it was first noticed missing."""
        self._own: deque[int] = deque()
        """The ids this process's writer committed (`wrote`, from its thread), not read back: they
        fill the gaps they would otherwise leave below the horizon. Drained at each read."""
        self._pruned = 0.0
        self.delivered = 0
        self.fetched = 0
        """Outbox rows read so far (other origins' only)."""
        self.reads = 0
        """Reads of the outbox so far."""

    @property
    def poll_interval(self) -> float:
        """SQLite: seconds between two reads (PostgreSQL listens instead)."""
        return self._poll

    def wrote(self, ids: Iterable[int]) -> None:
        """This process committed the outbox rows `ids` (called by its writer, on any thread, after
        the commit: a SQLite rowid of a rolled-back row is taken again by the next insert, perhaps
        another process's). `deque.extend` is atomic: no lock."""
        self._own.extend(ids)

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
        """LISTEN on a dedicated autocommit connection; read after each notification of another
        origin (a notification's payload is its writer's origin: this process's own commits wake
        the relay but are not read), and at least every second (in case one was missed while
        reconnecting: `listen_timeout`)."""
        with self._engine.connect() as conn:
            raw: Any = conn.connection.dbapi_connection
            raw.autocommit = True
            raw.execute(f"LISTEN {CHANNEL}")
            self.read_new()
            due = time.monotonic() + self._listen_timeout
            while not self._stop.is_set():
                others = False
                for note in raw.notifies(timeout=max(0.0, due - time.monotonic()), stop_after=1):
                    others = note.payload != self._origin
                if others or time.monotonic() >= due:
                    self.read_new()
                    due = time.monotonic() + self._listen_timeout

    def read_new(self) -> int:
        """Read and deliver what other processes committed since the last read; how many delivered.
        Only other origins' rows are read; this process's own ids (`wrote`) fill their places."""
        now = time.monotonic()
        with self._engine.connect() as conn:
            rows = self._read(conn)
            # Pruning writes: here on PostgreSQL only (a SQLite reader upgrading to a writer gets
            # "database is locked" against the workers' writers; SQLite's writers prune instead).
            if self._engine.dialect.name == "postgresql" and now - self._pruned > 60:
                self._pruned = now
                prune_outbox(conn, datetime.now(UTC) - self._retention)
            conn.commit()
        self.reads += 1
        self.fetched += len(rows)
        own = self._own
        while own:
            written = own.popleft()
            if written > self._horizon:
                self._seen.add(written)
                self._gaps.pop(written, None)
        events: list[Event] = []
        read_at = datetime.now(UTC)
        for row in rows:
            if row.id in self._seen:
                continue
            self._seen.add(row.id)
            self._gaps.pop(row.id, None)
            events.append(decode_event(row.payload))
            created = row.created if row.created.tzinfo else row.created.replace(tzinfo=UTC)
            # Wall clocks: across machines, their skew is part of the figure.
            observe_event_lag(max(0.0, (read_at - created).total_seconds()), "outbox")
        self._advance(now)
        if events:
            self._deliver(events)
            self.delivered += len(events)
        return len(events)

    def _read(self, conn: Connection) -> Sequence[Any]:
        """The other origins' rows above the horizon, in id order (at most 5,000)."""
        return conn.execute(
            select(event_outbox.c.id, event_outbox.c.created, event_outbox.c.payload)
            .where(event_outbox.c.id > self._horizon, event_outbox.c.origin != self._origin)
            .order_by(event_outbox.c.id)
            .limit(5000)
        ).all()

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
