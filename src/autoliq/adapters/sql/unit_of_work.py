"""`UnitOfWork`: durable writes with group commit, reads on snapshot connections.

The writes waiting together (up to `max_batch`) run in one transaction that commits once, so one
fsync makes a whole batch durable; only then is each caller answered and each event published. A
write that raises makes the batch roll back, and its members are then run one by one, each in its
own transaction, so one failure never takes a neighbour's change with it.

One class, one commit path (`UnitOfWork._commit`); where the statements run is the committer's:
- `ThreadCommitter` (PostgreSQL): a writer thread runs the batches (its statements wait on network
  round trips) and a reader thread the snapshots;
- `LoopCommitter` (SQLite): the statements run on the event loop, only BEGIN IMMEDIATE and the
  commit (the fsync, which releases the GIL) leave it for a worker thread. With a writer thread the
  loop and the writer fought over the GIL on every write (py-spy; figures in docs/performance.md);
  SQLite's statements are microseconds of C against the page cache.
  Requests that arrive during a commit form the next batch: group commit as before.

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
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection, Engine, RootTransaction

from autoliq.adapters.sql.batch import Batch
from autoliq.adapters.sql.outbox import OUTBOX_RETENTION, new_origin, prune_outbox, write_outbox
from autoliq.adapters.sql.repositories import SqlStore
from autoliq.adapters.sql.storage_faults import StorageHealth, describe_error, is_storage_fault
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
    orders: Sequence[tuple[int, int]] = ()
    events: list[Event] | tuple[()] = ()
    actions: list[Callable[[], None]] | tuple[()] = ()
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


def _finish(step: Coroutine[Any, Any, None]) -> None:
    """Run a commit step that never suspends (the thread committer's) to its end, in this thread."""
    try:
        step.send(None)
    except StopIteration:
        return
    step.close()
    raise RuntimeError("a writer-thread commit step suspended")


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def _answer(job: _Job, value: Any, error: BaseException | None) -> None:
    """Settle a job's future, from its own loop or from another thread."""
    if _on_loop(job.loop):
        _settle(job.future, value, error)
    else:
        job.loop.call_soon_threadsafe(_settle, job.future, value, error)


class Committer(Protocol):
    """Where a unit of work's statements run: the one difference between the engines."""

    def start(self, uow: UnitOfWork) -> None:
        """Accept writes and snapshots."""

    def stop(self) -> None:
        """Finish the queued writes, release the connections."""

    async def drain(self) -> None:
        """Wait for the batches in flight."""

    def submit(self, job: _Job) -> None:
        """Queue a write for the next batch."""

    def snapshot(self, job: _Job) -> Awaitable[Any]:
        """Run a short read on a snapshot; its result."""

    def blocking(self, step: Callable[[], T]) -> Coroutine[Any, Any, T]:
        """Run a step that may block (BEGIN, COMMIT) without stalling the event loop."""


class UnitOfWork:
    """The UnitOfWork port on SQLAlchemy: group commit, one commit path, a committer per engine."""

    def __init__(
        self,
        write_engine: Engine,
        read_engine: Engine,
        publisher: Publisher,
        *,
        max_batch: int = 256,
        health: StorageHealth | None = None,
        committer: Committer | None = None,
    ) -> None:
        self._write_engine = write_engine
        self._read_engine = read_engine
        self._publisher = publisher
        self.max_batch = max_batch
        self.health = health or StorageHealth()
        """Whether the last write attempt failed on the storage (`/_autoliq/ready` reads it)."""
        if committer is None:
            committer = LoopCommitter() if write_engine.dialect.name == "sqlite" else ThreadCommitter()
        self.committer = committer
        self._conn: Connection | None = None
        self._started = False
        self.batches = 0
        self.writes = 0
        self.prepared_batches = 0
        """Batches whose reads were prepared in bulk (PostgreSQL)."""
        self.origin = new_origin()
        """This process's tag on the outbox rows it writes (its relay never reads them)."""
        self.outbox_retention = OUTBOX_RETENTION
        self.outbox_prune_interval = 60.0
        """SQLite: how often (seconds) a write's transaction also deletes the outbox rows older than
        `outbox_retention` (PostgreSQL's relays prune on their own connections)."""
        self._outbox_pruned = time.monotonic()
        self.outbox_written: Callable[[list[int]], None] | None = None
        """Told the ids of the outbox rows each transaction wrote, after its commit (this process's
        relay: `OutboxRelay.wrote`); None: nobody listens."""

    @property
    def read_engine(self) -> Engine:
        """The engine of the snapshot and read connections."""
        return self._read_engine

    # -- lifecycle --
    def start(self) -> None:
        """Accept writes."""
        if not self._started:
            self._started = True
            self.committer.start(self)

    def stop(self) -> None:
        """Finish the writes already queued, then release the write connection (on SQLite call
        `drain` first: the app's lifespan awaits it)."""
        if self._started:
            self._started = False
            self.committer.stop()
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def drain(self) -> None:
        """Wait for the writes in flight."""
        await self.committer.drain()

    def _record_events(self, hot: Batch, events: list[Event]) -> list[int]:
        """The transaction's events into the outbox, for the other workers' relays; the new rows'
        ids (for this process's relay, once committed). On SQLite the writer also prunes the outbox
        now and then: its relays only read (a reader turning writer would wait on the workers'
        write lock), and the writer holds that lock already."""
        now = datetime.now(UTC)
        ids = write_outbox(hot, self.origin, events, now)
        if hot.is_sqlite:
            tick = time.monotonic()
            if tick - self._outbox_pruned >= self.outbox_prune_interval:
                self._outbox_pruned = tick
                prune_outbox(hot.connection, now - self.outbox_retention)
        return ids

    # -- the port --
    async def write(
        self,
        work: Callable[[Store], T],
        *,
        accounts: Sequence[int] = (),
        log_rows: int = 0,
        orders: Sequence[tuple[int, int]] = (),
    ) -> T:
        """Run `work` in a transaction, commit durably, then answer and publish. `accounts` (whose
        status `work` reads), `log_rows` (how many log rows it appends) and `orders` ((account id,
        contract id) of each order it places) let a batch be prepared in a few round trips; a
        wrong hint costs speed, never correctness."""
        if not self._started:
            raise RuntimeError("the unit of work is not started")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self.committer.submit(_Job(work, future, loop, accounts, log_rows, orders))
        return await future

    async def probe_write(self) -> None:
        """One real write (a row rewritten as it is): after a storage fault, `/_autoliq/ready` uses
        it to learn whether writes work again when no client writes."""
        await self.write(_touch_version)

    async def read(self, work: Callable[[Store], T]) -> T:
        """Run `work` on its own read connection, off the event loop."""
        return await asyncio.to_thread(self.read_sync, work)

    async def snapshot(
        self,
        work: Callable[[Store], T],
        *,
        accounts: Sequence[int] = (),
        orders: Sequence[tuple[int, int]] = (),
    ) -> T:
        """A short read on one snapshot, taken after it was asked (so within the caller's request);
        where the committer batches snapshots, the statuses of `accounts`, and the last prices,
        positions, working orders and cash of `orders` ((account id, contract id) pairs), are read
        for the whole batch in one pipelined round trip (`Batch.prepare_batch`)."""
        if not self._started:
            raise RuntimeError("the unit of work is not started")
        loop = asyncio.get_running_loop()
        job = _Job(work, loop.create_future(), loop, accounts, 0, orders)
        value: T = await self.committer.snapshot(job)
        return value

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

    # -- the one commit path --
    def _storage_failed(self, jobs: Sequence[_Job], cause: str, error: BaseException | None) -> None:
        """A storage fault: drop the connection (the next batch opens a new one: a broken transaction
        never outlives its batch), mark the writer unhealthy, answer every job 503."""
        _reset(self._conn)
        self._conn = None
        self.health.failed(cause, error)
        for job in jobs:
            refused = StorageUnavailable(cause)
            refused.__cause__ = error
            _answer(job, None, refused)

    def _acknowledgeable(self, jobs: Sequence[_Job]) -> bool:
        """Before a batch begins and after it commits: False (the jobs answered 503) when the SQLite
        file was deleted or replaced (what commits there is not where the operator's database is)."""
        refusal = self.health.refusal()
        if refusal is None:
            return True
        self.health.failed(refusal, None)
        for job in jobs:
            _answer(job, None, StorageUnavailable(refusal))
        return False

    def _wrote(self, conn: Connection, before: int) -> None:
        """A commit succeeded: the writer is healthy again if it wrote something (an empty commit
        succeeds on a full SQLite disk; on PostgreSQL the commit's round trip shows the connection
        works again, the usual fault there)."""
        if self.health.fault is not None and (conn.dialect.name != "sqlite" or _changes(conn) != before):
            self.health.succeeded()

    async def _commit(self, batch: list[_Job], *, alone: bool = False, attempts: int = 3) -> None:
        """Run `batch` in one transaction and commit it durably, then answer and publish. A member
        that raises rolls the batch back and each member runs alone (`alone`); a storage fault
        answers the whole batch 503."""
        if not self._acknowledgeable(batch):
            return
        blocking = self.committer.blocking
        try:
            if self._conn is None or self._conn.closed or self._conn.invalidated:
                self._conn = self._write_engine.connect()
            conn = self._conn
            # BEGIN IMMEDIATE (SQLite) may wait for another process's write lock (busy_timeout).
            transaction = await blocking(conn.begin)
        except Exception as exc:
            self._storage_failed(batch, describe_error(exc), exc)
            return
        before = _changes(conn) if self.health.fault is not None else 0
        results: list[Any] = []
        try:
            hot = Batch(conn, locking=True)
        except Exception as exc:
            with contextlib.suppress(Exception):
                await blocking(transaction.rollback)
            self._storage_failed(batch, describe_error(exc), exc)
            return
        try:
            if hot.pipelined and not alone:
                self.prepared_batches += 1
            # PostgreSQL: the batch's statuses read (and locked, in account order) and its log ids
            # reserved in two round trips; its writes then buffered and sent at `flush`.
            hot.prepare_batch(
                [a for job in batch for a in job.accounts],
                sum(j.log_rows for j in batch),
                [pair for job in batch for pair in job.orders],
            )
            for job in batch:
                store = SqlStore(conn, hot)
                results.append(job.work(store))
                job.take(store)
            # PostgreSQL: the buffered writes and the outbox rows (and NOTIFY) in one pipeline (the
            # outbox's ids are the one answer awaited).
            events = [e for job in batch for e in job.events]
            with hot.pipeline(hot.buffered_statements + (2 if events else 0)):
                hot.flush()
                outbox_ids = self._record_events(hot, events)
        except Exception as exc:
            hot.close()
            if is_storage_fault(exc) or not _rolled_back(transaction):
                self._storage_failed(batch, describe_error(exc), exc)
            elif not alone:
                for job in batch:  # one member failed: run each alone so the others still land
                    await self._commit([job], alone=True)
            elif attempts > 1 and _is_lock_conflict(exc):
                # Two workers took the same accounts' locks in different orders: the database broke
                # the deadlock by failing this transaction, which did nothing: run it again.
                await self._commit(batch, alone=True, attempts=attempts - 1)
            else:
                _answer(batch[0], None, exc)
            return
        hot.close()
        try:
            await blocking(transaction.commit)
        except Exception as exc:
            self._storage_failed(batch, describe_error(exc), exc)
            return
        written = self.outbox_written
        if written is not None and outbox_ids:
            written(outbox_ids)  # committed only: a rolled-back SQLite rowid is taken again
        if not self._acknowledgeable(batch):
            return
        self._wrote(conn, before)
        self.batches += 1
        self.writes += len(batch)
        self._deliver(batch, results)

    def _deliver(self, batch: list[_Job], results: list[Any]) -> None:
        """After commit: answer every job, then publish its events, in commit order. One wake-up of
        each other event loop per batch, not one per job (each wake-up is a write to the loop's pipe)."""
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Job, Any]]] = {}
        for job, value in zip(batch, results, strict=True):
            by_loop.setdefault(job.loop, []).append((job, value))
        committed = time.perf_counter()
        for loop, items in by_loop.items():
            if _on_loop(loop):
                self._settle_and_publish(items, committed)
            else:
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


def _take_batch(jobs: queue.SimpleQueue[_Job | None], max_batch: int) -> tuple[list[_Job], bool]:
    """Wait for a job, then take those waiting behind it (up to `max_batch`); (batch, stopping)."""
    first = jobs.get()
    if first is None:
        return [], True
    batch = [first]
    while len(batch) < max_batch:
        try:
            job = jobs.get_nowait()
        except queue.Empty:
            break
        if job is None:
            return batch, True
        batch.append(job)
    return batch, False


class ThreadCommitter:
    """PostgreSQL: a writer thread runs the batches, a reader thread the snapshots."""

    def __init__(self) -> None:
        self._uow: UnitOfWork | None = None
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._snapshots: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []

    def start(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self._threads = [
            threading.Thread(target=self._write_batches, name="autoliq-writer", daemon=True),
            threading.Thread(target=self._read_snapshots, name="autoliq-reader", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._queue.put(None)
        self._snapshots.put(None)
        for thread in self._threads:
            thread.join()
        self._threads = []

    async def drain(self) -> None:
        """Nothing to wait for: the writer thread finishes the queued writes at `stop`."""

    def submit(self, job: _Job) -> None:
        self._queue.put(job)

    def snapshot(self, job: _Job) -> Awaitable[Any]:
        self._snapshots.put(job)
        return job.future

    async def blocking(self, step: Callable[[], T]) -> T:
        return step()  # already off the event loop, on the writer thread

    def _write_batches(self) -> None:
        assert self._uow is not None
        stopping = False
        while not stopping:
            batch, stopping = _take_batch(self._queue, self._uow.max_batch)
            if not batch:
                continue
            try:
                _finish(self._uow._commit(batch))
            except Exception as exc:  # a defect, not a write's failure: answer, keep the writer alive
                log.exception("the writer failed on a batch")
                for job in batch:
                    _answer(job, None, exc)

    def _read_snapshots(self) -> None:
        """The snapshots waiting together share one REPEATABLE READ transaction on the reader's
        connection, and the statuses of their accounts are read in one query."""
        assert self._uow is not None
        conn: Connection | None = None
        stopping = False
        while not stopping:
            batch, stopping = _take_batch(self._snapshots, self._uow.max_batch)
            if not batch:
                break
            try:
                if conn is None or conn.closed or conn.invalidated:
                    conn = self._uow.read_engine.connect()
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
                hot = Batch(conn)
                rest = batch[len(outcomes) :]
                hot.prepare_batch(
                    [a for job in rest for a in job.accounts],
                    0,
                    [pair for job in rest for pair in job.orders],
                )
                for job in rest:
                    try:
                        outcomes.append((job.work(SqlStore(conn, hot)), None))
                    except Exception as exc:
                        outcomes.append((None, exc))
                        break
                hot.close()
                transaction.rollback()
        return outcomes


class LoopCommitter:
    """SQLite: the statements run on the event loop, one batch at a time; BEGIN IMMEDIATE and the
    commit run in a worker thread, and the writes that arrive meanwhile form the next batch."""

    def __init__(self) -> None:
        self._uow: UnitOfWork | None = None
        self._pending: list[_Job] = []
        self._flusher: asyncio.Task[None] | None = None
        self._snapshot_store: SqlStore | None = None

    def start(self, uow: UnitOfWork) -> None:
        self._uow = uow

    def stop(self) -> None:
        if self._snapshot_store is not None:
            self._snapshot_store.conn.close()
            self._snapshot_store = None

    async def drain(self) -> None:
        """Wait until the batch being committed, and those queued behind it, are done: `stop` must
        not close the connection under a statement running on a worker thread."""
        while self._flusher is not None and not self._flusher.done():
            await asyncio.wait({self._flusher})

    def submit(self, job: _Job) -> None:
        self._pending.append(job)
        if self._flusher is None or self._flusher.done():
            self._flusher = job.loop.create_task(self._flush())

    async def _flush(self) -> None:
        assert self._uow is not None
        while self._pending:
            batch = self._pending[: self._uow.max_batch]
            del self._pending[: len(batch)]
            try:
                await self._uow._commit(batch)
            except Exception as exc:  # a defect, not a write's failure: answer, keep flushing
                log.exception("the writer failed on a batch")
                for job in batch:
                    _answer(job, None, exc)

    async def blocking(self, step: Callable[[], T]) -> T:
        return await asyncio.to_thread(step)

    async def snapshot(self, job: _Job) -> Any:
        """On the event loop: a WAL reader never waits for the writer, and a few point reads of
        SQLite's page cache cost less than a hop to a thread."""
        assert self._uow is not None
        store = self._snapshot_store
        if store is None or store.conn.closed or store.conn.invalidated:
            try:
                conn = self._uow.read_engine.connect()
            except Exception as exc:
                if is_storage_fault(exc):
                    raise StorageUnavailable(describe_error(exc)) from exc
                raise
            store = self._snapshot_store = SqlStore(conn, Batch(conn))
        # BEGIN (deferred) on the DB-API connection: the reads below share one snapshot. The raw
        # statements skip SQLAlchemy's transaction events (a cost on every request); `work` must use only
        # the raw-cursor reads (an SQLAlchemy statement would fail loudly: autobegin inside BEGIN).
        cursor = store.batch.cursor
        cursor.execute("BEGIN")
        try:
            return job.work(store)
        finally:
            cursor.execute("ROLLBACK")
