"""`SqlUnitOfWork`: durable writes with group commit, reads on a pool of snapshot connections.

Every write goes to one writer thread. The thread takes all the writes that are waiting (up to
`max_batch`), runs them in one transaction and commits once, so one fsync makes a whole batch
durable; only then is each caller answered and each event published. A write that raises makes
the batch roll back, and its members are then run one by one, each in its own transaction, so one
failure never takes a neighbour's change with it.

A storage fault (a failed BEGIN or COMMIT, or a statement failing on the storage: disk full, I/O
error, read-only file, lost connection; `storage_faults.is_storage_fault`) is not a write's own
failure: the batch is rolled back, the writer's connection is closed (a new one is opened for the
next batch: a broken transaction never outlives its batch) and every write of the batch answers
`StorageUnavailable` (HTTP 503). On SQLite a batch is also refused, before it begins and after it
commits, when the database's path no longer leads to the file the server opened: a write committed
to a deleted or replaced file is not acknowledged.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, RootTransaction

from autoliq.adapters.event_bus import OUTBOX_RETENTION, new_origin, prune_outbox, write_outbox
from autoliq.adapters.hot_path import HotPath
from autoliq.adapters.repositories import SqlStore
from autoliq.adapters.storage_faults import StorageHealth, describe_error, is_storage_fault
from autoliq.domain.errors import StorageUnavailable
from autoliq.domain.events import Event
from autoliq.service.ports import Publisher, Store
from autoliq.telemetry.metrics import observe_event_lag

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Job:
    work: Callable[[Store], Any]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop
    accounts: Sequence[int] = ()
    log_rows: int = 0
    events: list[Event] = field(default_factory=list)
    actions: list[Callable[[], None]] = field(default_factory=list)
    """What the work asked to run after its commit (`Store.after_commit`)."""

    def take(self, store: SqlStore) -> None:
        """Keep what the work's transaction emitted, for after its commit."""
        self.events = store.events
        self.actions = store.committed_actions


def _is_lock_conflict(exc: BaseException) -> bool:
    """A deadlock or serialization failure (PostgreSQL SQLSTATE 40P01 / 40001)."""
    original = getattr(exc, "orig", None)
    return getattr(original, "sqlstate", None) in ("40P01", "40001")


def _settle(future: asyncio.Future[Any], value: Any, error: BaseException | None) -> None:
    if future.done():  # the caller went away; the write itself stands
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


def _unavailable(error: Exception) -> Exception:
    """A read's error as the caller should see it: `StorageUnavailable` for a storage fault."""
    if not is_storage_fault(error):
        return error
    unavailable = StorageUnavailable(describe_error(error))
    unavailable.__cause__ = error
    return unavailable


def _reset(conn: Connection | None) -> None:
    """Drop a connection a storage fault hit: roll back what may be open, discard the DB-API
    connection (the pool opens a new one), never raise."""
    if conn is None:
        return
    for step in (conn.rollback, conn.invalidate, conn.close):
        try:
            step()
        except Exception:  # a broken connection may refuse each step; the next one still runs
            log.debug("resetting the writer's connection: %s failed", step.__name__, exc_info=True)


def _rolled_back(transaction: RootTransaction) -> bool:
    """Roll back `transaction`; False when even that failed (the connection is then unusable)."""
    try:
        transaction.rollback()
    except Exception:
        return False
    return True


def _changes(conn: Connection) -> int:
    """SQLite's count of rows changed on this connection; 0 elsewhere (see `_wrote`)."""
    changes: int = getattr(conn.connection.dbapi_connection, "total_changes", 0)
    return changes


def _touch_version(store: Store) -> None:
    # The readiness probe's write: rewrites one row as it is (a real page write on both engines).
    assert isinstance(store, SqlStore)
    store.conn.exec_driver_sql("UPDATE alembic_version SET version_num = version_num")


class SqlUnitOfWork:
    """The UnitOfWork port on SQLAlchemy: one writer thread with group commit."""

    def __init__(
        self,
        write_engine: Engine,
        read_engine: Engine,
        publisher: Publisher,
        *,
        max_batch: int = 256,
        health: StorageHealth | None = None,
    ) -> None:
        self._write_engine = write_engine
        self._read_engine = read_engine
        self._publisher = publisher
        self._max_batch = max_batch
        self.health = health or StorageHealth()
        """Whether the last write attempt failed on the storage (`/_autoliq/ready` reads it)."""
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._snapshots: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._reader: threading.Thread | None = None
        self.batches = 0
        self.writes = 0
        self.prepared_batches = 0
        """Batches whose reads were prepared in bulk (PostgreSQL)."""
        self.origin = new_origin()
        """This process's tag on the outbox rows it writes (its relay skips them)."""
        self.outbox_retention = OUTBOX_RETENTION
        self.outbox_prune_interval = 60.0
        """SQLite: how often (seconds) a write's transaction also deletes the outbox rows older than
        `outbox_retention` (PostgreSQL's relays prune on their own connections)."""
        self._outbox_pruned = time.monotonic()

    # -- lifecycle --
    def start(self) -> None:
        """Start the writer thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="autoliq-writer", daemon=True)
            self._thread.start()
        if self._reader is None:
            self._reader = threading.Thread(target=self._read_snapshots, name="autoliq-reader", daemon=True)
            self._reader.start()

    def stop(self) -> None:
        """Finish the writes already queued, then stop the writer thread."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        if self._reader is not None:
            self._snapshots.put(None)
            self._reader.join()
            self._reader = None

    async def drain(self) -> None:
        """Wait for the writes in flight (the writer thread finishes them at `stop`)."""

    def _record_events(self, conn: Connection, events: list[Event]) -> None:
        """The transaction's events into the outbox, for the other workers' relays. On SQLite the
        writer also prunes the outbox now and then: its relays only read (a reader turning writer
        would wait on the workers' write lock), and the writer holds that lock already."""
        now = datetime.now(UTC)
        write_outbox(conn, self.origin, events, now)
        if conn.dialect.name == "sqlite":
            tick = time.monotonic()
            if tick - self._outbox_pruned >= self.outbox_prune_interval:
                self._outbox_pruned = tick
                prune_outbox(conn, now - self.outbox_retention)

    # -- the port --
    async def write(
        self, work: Callable[[Store], T], *, accounts: Sequence[int] = (), log_rows: int = 0
    ) -> T:
        """Run `work` in a transaction, commit durably, then answer and publish. `accounts` (whose
        status `work` reads) and `log_rows` (how many log rows it appends) let a batch be prepared in
        a few round trips; a wrong hint costs speed, never correctness."""
        if self._thread is None:
            raise RuntimeError("the unit of work is not started")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Job(work, future, loop, accounts, log_rows))
        return await future

    async def probe_write(self) -> None:
        """One real write through the writer (a row rewritten as it is): after a storage fault,
        `/_autoliq/ready` uses it to learn whether writes work again when no client writes."""
        await self.write(_touch_version)

    async def read(self, work: Callable[[Store], T]) -> T:
        """Run `work` on its own read connection, off the event loop."""
        return await asyncio.to_thread(self.read_sync, work)

    async def snapshot(self, work: Callable[[Store], T], *, accounts: Sequence[int] = ()) -> T:
        """A short read on one snapshot, run by the reader thread: the reads waiting together share
        one REPEATABLE READ transaction on its own connection, taken after each of them was asked
        (so within each caller's request), and the statuses of their `accounts` are read in one
        query (PostgreSQL)."""
        if self._reader is None:
            raise RuntimeError("the unit of work is not started")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._snapshots.put(_Job(work, future, loop, accounts))
        return await future

    def read_sync(self, work: Callable[[Store], T]) -> T:
        """Run `work` on a read connection in this thread (a storage fault: `StorageUnavailable`)."""
        try:
            with self._read_engine.connect() as conn:
                try:
                    return work(SqlStore(conn))
                finally:
                    conn.rollback()
        except Exception as exc:
            if is_storage_fault(exc):
                raise StorageUnavailable(describe_error(exc)) from exc
            raise

    # -- the writer thread --
    def _take_batch(self, jobs: queue.SimpleQueue[_Job | None]) -> tuple[list[_Job], bool]:
        """Wait for a job, then take those waiting behind it (up to `max_batch`); (batch, stopping)."""
        first = jobs.get()
        if first is None:
            return [], True
        batch = [first]
        while len(batch) < self._max_batch:
            try:
                job = jobs.get_nowait()
            except queue.Empty:
                break
            if job is None:
                return batch, True
            batch.append(job)
        return batch, False

    def _run(self) -> None:
        conn: Connection | None = None
        stopping = False
        while not stopping:
            batch, stopping = self._take_batch(self._queue)
            if not batch:
                break
            conn = self._execute(conn, batch)
        if conn is not None:
            conn.close()

    # -- the reader thread --
    def _read_snapshots(self) -> None:
        conn: Connection | None = None
        stopping = False
        while not stopping:
            batch, stopping = self._take_batch(self._snapshots)
            if not batch:
                break
            try:
                if conn is None or conn.closed or conn.invalidated:
                    conn = self._read_engine.connect()
                    if conn.dialect.name != "sqlite":
                        conn = conn.execution_options(isolation_level="REPEATABLE READ")
                outcomes = self._read_batch(conn, batch)
            except Exception as exc:
                if conn is not None:
                    conn.close()
                    conn = None
                outcomes = [(None, _unavailable(exc))] * len(batch)
            for job, (value, error) in zip(batch, outcomes, strict=True):
                job.loop.call_soon_threadsafe(_settle, job.future, value, error)
        if conn is not None:
            conn.close()

    @staticmethod
    def _read_batch(conn: Connection, batch: list[_Job]) -> list[tuple[Any, BaseException | None]]:
        """Run the batch's jobs on one snapshot. A job that raises fails alone: the jobs after it
        run on a new snapshot (a failed statement spoils the transaction on PostgreSQL)."""
        outcomes: list[tuple[Any, BaseException | None]] = []
        while len(outcomes) < len(batch):
            with conn.begin() as transaction:
                hot = HotPath(conn)
                rest = batch[len(outcomes) :]
                hot.prepare_batch([a for job in rest for a in job.accounts], 0)
                for job in rest:
                    try:
                        outcomes.append((job.work(SqlStore(conn, hot)), None))
                    except Exception as exc:
                        outcomes.append((None, exc))
                        break
                transaction.rollback()
        return outcomes

    def _storage_failed(
        self, conn: Connection | None, jobs: Sequence[_Job], cause: str, error: BaseException | None
    ) -> None:
        """A storage fault: reset the connection, mark the writer unhealthy, answer every job 503."""
        _reset(conn)
        self.health.failed(cause, error)
        for job in jobs:
            refused = StorageUnavailable(cause)
            refused.__cause__ = error
            job.loop.call_soon_threadsafe(_settle, job.future, None, refused)

    def _fault(self, conn: Connection | None, jobs: Sequence[_Job], error: BaseException) -> None:
        self._storage_failed(conn, jobs, describe_error(error), error)

    def _acknowledgeable(self, jobs: Sequence[_Job]) -> bool:
        """Before a batch begins and after it commits: False (the jobs answered 503) when the SQLite
        file was deleted or replaced (what commits there is not where the operator's database is)."""
        refusal = self.health.refusal()
        if refusal is None:
            return True
        self._storage_failed(None, jobs, refusal, None)
        return False

    def _wrote(self, conn: Connection, before: int) -> None:
        """A commit succeeded: the writer is healthy again if it wrote something (an empty commit
        succeeds on a full SQLite disk; on PostgreSQL the commit's round trip shows the connection
        works again, the usual fault there)."""
        if self.health.fault is not None and (conn.dialect.name != "sqlite" or _changes(conn) != before):
            self.health.succeeded()

    def _execute(self, conn: Connection | None, batch: list[_Job]) -> Connection | None:
        """Run and commit `batch` on `conn` (opened if None); the connection to use next."""
        if not self._acknowledgeable(batch):
            return conn
        results: list[Any] = []
        try:
            if conn is None or conn.closed or conn.invalidated:
                conn = self._write_engine.connect()
            transaction = conn.begin()
        except Exception as exc:
            self._fault(conn, batch, exc)
            return None
        before = _changes(conn) if self.health.fault is not None else 0
        try:
            hot = HotPath(conn, locking=True)
            if hot.pipelined:
                self.prepared_batches += 1
                hot.prepare_batch([a for job in batch for a in job.accounts], sum(j.log_rows for j in batch))
                self._run_jobs(conn, hot, batch, results)
                hot.flush()
            else:
                self._run_jobs(conn, hot, batch, results)
            self._record_events(conn, [e for job in batch for e in job.events])
        except Exception as exc:
            if is_storage_fault(exc) or not _rolled_back(transaction):
                self._fault(conn, batch, exc)
                return None
            # One member failed: run each alone so the others still land.
            current: Connection | None = conn
            for job in batch:
                current = self._run_alone(current, job)
            return current
        try:
            transaction.commit()
        except Exception as exc:
            self._fault(conn, batch, exc)
            return None
        if not self._acknowledgeable(batch):
            return conn
        self._wrote(conn, before)
        self.batches += 1
        self.writes += len(batch)
        self._deliver(batch, results)
        return conn

    @staticmethod
    def _run_jobs(conn: Connection, hot: HotPath, batch: list[_Job], results: list[Any]) -> None:
        for job in batch:
            store = SqlStore(conn, hot)
            results.append(job.work(store))
            job.take(store)

    def _run_alone(self, conn: Connection | None, job: _Job, attempts: int = 3) -> Connection | None:
        if not self._acknowledgeable([job]):
            return conn
        try:
            if conn is None or conn.closed or conn.invalidated:
                conn = self._write_engine.connect()
            transaction = conn.begin()
        except Exception as exc:
            self._fault(conn, [job], exc)
            return None
        before = _changes(conn) if self.health.fault is not None else 0
        try:
            hot = HotPath(conn, locking=True)
            hot.prepare_batch(list(job.accounts), 0)  # lock the hinted accounts first
            store = SqlStore(conn, hot)
            value = job.work(store)
            hot.flush()
            job.take(store)
            self._record_events(conn, job.events)
        except Exception as exc:
            if is_storage_fault(exc) or not _rolled_back(transaction):
                self._fault(conn, [job], exc)
                return None
            if attempts > 1 and _is_lock_conflict(exc):
                # Two workers took the same accounts' locks in different orders: the database broke
                # the deadlock by failing this transaction, which did nothing: run it again.
                return self._run_alone(conn, job, attempts - 1)
            job.loop.call_soon_threadsafe(_settle, job.future, None, exc)
            return conn
        try:
            transaction.commit()
        except Exception as exc:
            self._fault(conn, [job], exc)
            return None
        if not self._acknowledgeable([job]):
            return conn
        self._wrote(conn, before)
        self.batches += 1
        self.writes += 1
        self._deliver([job], [value])
        return conn

    def _deliver(self, batch: list[_Job], results: list[Any]) -> None:
        """After commit: answer every job, then publish its events, in commit order. One wake-up of
        each event loop per batch, not one per job (each wake-up is a write to the loop's pipe)."""
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Job, Any]]] = {}
        for job, value in zip(batch, results, strict=True):
            by_loop.setdefault(job.loop, []).append((job, value))
        committed = time.perf_counter()
        for loop, items in by_loop.items():
            loop.call_soon_threadsafe(self._settle_and_publish, items, committed)

    def _settle_and_publish(self, items: list[tuple[_Job, Any]], committed: float) -> None:
        """On the caller's loop after commit: answer, run the after-commit actions, publish (the
        time since the commit observed as the local event lag)."""
        for job, value in items:
            _settle(job.future, value, None)
        for job, _ in items:
            for action in job.actions:
                try:
                    action()
                except Exception:
                    log.exception("an after-commit action failed")
            if job.events:
                observe_event_lag(time.perf_counter() - committed, "local")
                self._publisher.publish(job.events)


class InLoopUnitOfWork(SqlUnitOfWork):
    """SQLite's unit of work: statements run on the event loop's thread; only the commit leaves it.

    With a writer thread, the event loop and the writer fight over the GIL on every write (py-spy:
    much of the CPU was lost to hand-offs; figures in docs/performance.md). SQLite's
    statements are microseconds of C against the page cache, so here they run on the loop itself, one
    batch at a time, and only the commit (the fsync, which releases the GIL) runs in a worker thread.
    Requests that arrive during a commit form the next batch: group commit as before. PostgreSQL
    keeps the writer thread: its statements wait on network round trips.
    """

    def __init__(
        self,
        write_engine: Engine,
        read_engine: Engine,
        publisher: Publisher,
        *,
        max_batch: int = 256,
        health: StorageHealth | None = None,
    ) -> None:
        super().__init__(write_engine, read_engine, publisher, max_batch=max_batch, health=health)
        self._pending: list[_Job] = []
        self._flusher: asyncio.Task[None] | None = None
        self._conn: Connection | None = None
        self._snapshot_store: SqlStore | None = None
        self._started = False

    def start(self) -> None:
        """Accept writes."""
        self._started = True

    async def drain(self) -> None:
        """Wait until the batch being committed, and those queued behind it, are done: `stop`
        must not close the connection under a statement running on a worker thread."""
        while self._flusher is not None and not self._flusher.done():
            await asyncio.wait({self._flusher})

    def stop(self) -> None:
        """Release the write connection (call `drain` first: the server drains requests before it
        stops, and the app's lifespan awaits `drain`)."""
        self._started = False
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._snapshot_store is not None:
            self._snapshot_store.conn.close()
            self._snapshot_store = None

    async def snapshot(self, work: Callable[[Store], T], *, accounts: Sequence[int] = ()) -> T:
        """A short read on one snapshot, run on the event loop: a WAL reader never waits for the
        writer, and a few point reads of SQLite's page cache cost less than a hop to a thread."""
        store = self._snapshot_store
        if store is None or store.conn.closed or store.conn.invalidated:
            try:
                conn = self._read_engine.connect()
            except Exception as exc:
                if is_storage_fault(exc):
                    raise StorageUnavailable(describe_error(exc)) from exc
                raise
            store = self._snapshot_store = SqlStore(conn, HotPath(conn))
        # BEGIN (deferred) on the DB-API connection: the reads below share one snapshot. The raw
        # statements skip SQLAlchemy's transaction events (a cost on every request); `work` must use only
        # the raw-cursor reads (an SQLAlchemy statement would fail loudly: autobegin inside BEGIN).
        cursor = store.hot.cursor
        cursor.execute("BEGIN")
        try:
            return work(store)
        finally:
            cursor.execute("ROLLBACK")

    async def write(
        self, work: Callable[[Store], T], *, accounts: Sequence[int] = (), log_rows: int = 0
    ) -> T:
        """Queue `work` for the next batch; answered after that batch's durable commit."""
        if not self._started:
            raise RuntimeError("the unit of work is not started")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._pending.append(_Job(work, future, loop, accounts, log_rows))
        if self._flusher is None or self._flusher.done():
            self._flusher = loop.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        while self._pending:
            batch = self._pending[: self._max_batch]
            del self._pending[: len(batch)]
            await self._commit_batch(batch)

    def _connection(self) -> Connection:
        if self._conn is None or self._conn.closed or self._conn.invalidated:
            self._conn = self._write_engine.connect()
        return self._conn

    def _fault(self, conn: Connection | None, jobs: Sequence[_Job], error: BaseException) -> None:
        super()._fault(conn, jobs, error)
        self._conn = None  # the next batch opens a new connection

    async def _commit_batch(self, batch: list[_Job]) -> None:
        if not self._acknowledgeable(batch):
            return
        conn: Connection | None = None
        results: list[Any] = []
        try:
            conn = self._connection()
            # BEGIN IMMEDIATE may wait for another process's write lock (busy_timeout): not on the loop.
            transaction = await asyncio.to_thread(conn.begin)
        except Exception as exc:
            self._fault(conn, batch, exc)
            return
        before = _changes(conn) if self.health.fault is not None else 0
        try:
            hot = HotPath(conn)
            for job in batch:
                store = SqlStore(conn, hot)
                results.append(job.work(store))
                job.take(store)
            self._record_events(conn, [e for job in batch for e in job.events])
        except Exception as exc:
            if is_storage_fault(exc) or not _rolled_back(transaction):
                self._fault(conn, batch, exc)
                return
            # One member failed: run each alone so the others still land.
            for job in batch:
                await self._commit_batch_alone(job)
            return
        try:
            await asyncio.to_thread(transaction.commit)
        except Exception as exc:
            self._fault(conn, batch, exc)
            return
        if not self._acknowledgeable(batch):
            return
        self._wrote(conn, before)
        self.batches += 1
        self.writes += len(batch)
        self._settle_and_publish(list(zip(batch, results, strict=True)), time.perf_counter())

    async def _commit_batch_alone(self, job: _Job) -> None:
        if not self._acknowledgeable([job]):
            return
        conn: Connection | None = None
        try:
            conn = self._connection()
            transaction = await asyncio.to_thread(conn.begin)
        except Exception as exc:
            self._fault(conn, [job], exc)
            return
        before = _changes(conn) if self.health.fault is not None else 0
        try:
            store = SqlStore(conn)
            value = job.work(store)
            job.take(store)
            self._record_events(conn, job.events)
        except Exception as exc:
            if is_storage_fault(exc) or not _rolled_back(transaction):
                self._fault(conn, [job], exc)
            else:
                _settle(job.future, None, exc)
            return
        try:
            await asyncio.to_thread(transaction.commit)
        except Exception as exc:
            self._fault(conn, [job], exc)
            return
        if not self._acknowledgeable([job]):
            return
        self._wrote(conn, before)
        self.batches += 1
        self.writes += 1
        self._settle_and_publish([(job, value)], time.perf_counter())
