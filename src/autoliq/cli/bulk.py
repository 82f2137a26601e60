"""One admin action over many accounts: each verified by read-back, journaled, retried when safe.

The plan, per selected account (the same for `--dry-run`, which sends nothing):

- verified in the journal of a resumed run: skipped (`fromJournal`), no request;
- already in the requested state when the statuses were read at the start: skipped
  (`alreadyInState`), no request, unless `force`;
- otherwise sent with `verify=True`: the SDK posts setadminautoliqaction, then reads
  `accountRiskStatus/deps` back. Penalty tickets and 429s are waited out by the SDK.

With `chunk_size` (what `autoliq accounts ...` gives against autoliq), the accounts in flight are
sent together: the writes waiting together go in one request to autoliq's bulk route (at most
`chunk_size` accounts) and are read back together with `accountRiskStatus/items`, and so are the
reads before a retry (`_Batcher`). Each account still goes through the same steps below, with the
same outcomes (the SDK answers each account of a bulk request as the single route would have), and
is journaled on its own. A server without the bulk route (Tradovate: 404) is remembered by the
client, and every account, the first chunk's included, then goes the per-account way, at most
`concurrency` at a time.

A write whose outcome is unknown (a 5xx or a lost answer, and a read-back not showing the action, or
failing itself) is tried again up to `retries` times, after a pause (1 s, 2 s, 4 s, ... at most
30 s), and only after reading the status once more: when the action is there by then, nothing is
sent. A definite refusal (an `errorText`, 404, a ticket not worth waiting for) fails the account at
once. Errors that would fail every account the same way (401 Access is denied, a login refused, 429
past the SDK's budget, a penalty ticket wanting a reCAPTCHA) stop the run: accounts in flight
finish, the rest are reported as not attempted.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from autoliq.cli.journal import JournalWriter, utc_stamp
from autoliq.cli.selection import Target
from autoliq.client import (
    AccessDeniedError,
    ActionNotAppliedError,
    ActionResult,
    ApiError,
    AsyncClient,
    AuthError,
    AutoliqClientError,
    BulkUnavailableError,
    HTTPStatusError,
    NotFoundError,
    PenaltyTicketError,
    RateLimitedError,
    ServerError,
    TransportError,
)

__all__ = [
    "BulkAction",
    "BulkReport",
    "Plan",
    "Settled",
    "describe_error",
    "fatal_reason",
    "plan",
]

RETRY_PAUSE_CAP = 30.0
MAX_CHUNK = 10_000
"""The most accounts autoliq's bulk route takes in one request."""


class Plan(StrEnum):
    """What a run does with one selected account."""

    SEND = "send"
    SKIP_IN_STATE = "skip-in-state"
    SKIP_JOURNAL = "skip-journal"


def plan(
    targets: Iterable[Target], admin_action: str, *, verified: set[int], force: bool
) -> list[tuple[Target, Plan]]:
    """Each target with what the run does with it (no I/O)."""
    planned = []
    for target in targets:
        if target.account_id in verified:
            planned.append((target, Plan.SKIP_JOURNAL))
        elif not force and target.admin_action == admin_action:
            planned.append((target, Plan.SKIP_IN_STATE))
        else:
            planned.append((target, Plan.SEND))
    return planned


@dataclass(frozen=True, slots=True)
class Settled:
    """The outcome of one account: `done`, `skipped` (already in the state) or `failed`."""

    target: Target
    outcome: str
    detail: str | None = None
    """A note for `done`/`skipped`, the error for `failed`."""


class _GaveUp(AutoliqClientError):
    """Retries used up while the outcome stayed unknown or not applied (the message says why)."""


def fatal_reason(exc: BaseException) -> str | None:
    """Why this error stops the whole run (every other account would get it too), or None."""
    if isinstance(exc, AccessDeniedError):
        return (
            "access denied (HTTP 401): the user is not an administrator of the accounts' organization, "
            "or the server refuses this action (Tradovate allows it on demo only)"
        )
    if isinstance(exc, AuthError):
        return f"no longer logged in: {exc}"
    if isinstance(exc, RateLimitedError):
        return (
            "rate limited (HTTP 429) beyond the wait budget: Tradovate blocks a user over its hourly "
            "limit for an hour; run again later with --resume, at a lower --rate"
        )
    if isinstance(exc, PenaltyTicketError) and exc.captcha:
        return "a penalty ticket wants a reCAPTCHA solved: only a person can go on (in Tradovate's web app)"
    return None


def describe_error(exc: BaseException) -> str:
    """One line for the report: what went wrong with an account."""
    if isinstance(exc, _GaveUp):
        return str(exc)
    if isinstance(exc, ApiError):
        return exc.error_text
    if isinstance(exc, NotFoundError):
        return "not found (HTTP 404): no such account, or another organization's"
    if isinstance(exc, HTTPStatusError):
        return f"HTTP {exc.status_code}" + (f": {exc.error_text}" if exc.error_text else "")
    if isinstance(exc, TransportError):
        cause = exc.__cause__
        return "no answer" + (f" ({type(cause).__name__})" if cause is not None else "")
    if isinstance(exc, PenaltyTicketError):
        return f"penalty ticket not waited out after {exc.attempts} attempts: not processed"
    if isinstance(exc, ActionNotAppliedError):
        read_back = exc.result.read_back
        shown = read_back.get("adminAction") if read_back is not None else None
        failure = exc.result.write_error
        why = f" after the write failed ({describe_error(failure)})" if failure is not None else ""
        return f"not applied: the read-back shows {shown or 'no risk status'}{why}"
    return f"{type(exc).__name__}: {exc}"


@dataclass
class BulkReport:
    """Everything a run did, for the summary, `--json` and the exit code."""

    admin_action: str
    selected: int = 0
    done: list[Settled] = field(default_factory=list)
    skipped_in_state: list[Target] = field(default_factory=list)
    skipped_journal: list[Target] = field(default_factory=list)
    failed: list[Settled] = field(default_factory=list)
    not_attempted: list[Target] = field(default_factory=list)
    interrupted: list[Target] = field(default_factory=list)
    """In flight when the run was stopped: their outcome is unknown (a resumed run reads them)."""
    aborted: str | None = None
    stopped: bool = False
    elapsed: float = 0.0

    @property
    def complete(self) -> bool:
        """Every selected account verified in the requested state."""
        return not (self.failed or self.not_attempted or self.interrupted or self.aborted or self.stopped)

    def counts(self) -> dict[str, int]:
        return {
            "selected": self.selected,
            "done": len(self.done),
            "skipped": len(self.skipped_in_state) + len(self.skipped_journal),
            "failed": len(self.failed),
            "notAttempted": len(self.not_attempted),
            "interrupted": len(self.interrupted),
        }

    def to_json(self) -> dict[str, Any]:
        """The report's JSON (`--json`): ids per outcome, failures with their reasons."""
        return {
            "adminAction": self.admin_action,
            "counts": self.counts(),
            "done": [s.target.account_id for s in self.done],
            "skipped": {
                "alreadyInState": [t.account_id for t in self.skipped_in_state],
                "fromJournal": [t.account_id for t in self.skipped_journal],
            },
            "failed": [
                {"accountId": s.target.account_id, "name": s.target.name, "error": s.detail}
                for s in self.failed
            ],
            "notAttempted": [t.account_id for t in self.not_attempted],
            "interrupted": [t.account_id for t in self.interrupted],
            "aborted": self.aborted,
            "stopped": self.stopped,
            "elapsedSeconds": round(self.elapsed, 3),
        }


class BulkAction:
    """Runs one admin action over the planned accounts with `concurrency` workers."""

    def __init__(
        self,
        client: AsyncClient,
        admin_action: str,
        *,
        reason_code: str,
        reason: str | None,
        concurrency: int,
        retries: int,
        retry_pause: float = 1.0,
        journal: JournalWriter | None = None,
        on_settled: Callable[[Settled], None] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        chunk_size: int | None = None,
    ) -> None:
        if concurrency < 1 or retries < 0:
            raise ValueError("concurrency must be positive and retries not negative")
        if chunk_size is not None and not 1 <= chunk_size <= MAX_CHUNK:
            raise ValueError(f"chunk_size must be 1 to {MAX_CHUNK}")
        self.client = client
        self.admin_action = admin_action
        self.reason_code = reason_code
        self.reason = reason
        self.concurrency = concurrency
        self.retries = retries
        self.retry_pause = retry_pause
        self.journal = journal
        self.on_settled = on_settled
        self._sleep = sleep
        self._in_flight: dict[int, Target] = {}
        self.report = BulkReport(admin_action)
        self._batcher = (
            None
            if chunk_size is None or client.bulk_route is False
            else _Batcher(client, admin_action, reason_code, reason, chunk_size)
        )
        self._slots = asyncio.Semaphore(concurrency)
        """Per-account requests in flight: at most `concurrency` (workers beyond it wait here for
        the first chunk's accounts when the bulk route turned out missing)."""

    @property
    def batched(self) -> bool:
        """Whether accounts go to the bulk route together (False: one request per account)."""
        return self._batcher is not None and not self._batcher.unavailable

    async def run(
        self, planned: Sequence[tuple[Target, Plan]], stop: asyncio.Event | None = None
    ) -> BulkReport:
        """Send what is planned (skips recorded at once); returns when all are settled, the run is
        aborted, or `stop` is set (in-flight accounts are then cancelled and reported)."""
        started = time.perf_counter()
        report = self.report
        report.selected = len(planned)
        queue: deque[Target] = deque()
        for target, what in planned:
            if what is Plan.SKIP_JOURNAL:
                report.skipped_journal.append(target)
            elif what is Plan.SKIP_IN_STATE:
                self._settle(Settled(target, "skipped", f"already {self.admin_action}"))
            else:
                queue.append(target)
        width = self.concurrency
        if self._batcher is not None and self.batched:
            width = max(width, self._batcher.size)
        workers = [
            asyncio.create_task(self._worker(queue, n), name=f"bulk-worker-{n}")
            for n in range(min(width, len(queue)))
        ]
        try:
            await self._wait(workers, stop)
        finally:
            if any(not w.done() for w in workers):
                report.stopped = True
                for worker in workers:
                    worker.cancel()
                await asyncio.gather(*workers, return_exceptions=True)
            if self._batcher is not None:
                await self._batcher.aclose()
            report.interrupted.extend(self._in_flight.values())
            report.not_attempted.extend(queue)
            report.elapsed = time.perf_counter() - started
        return report

    @staticmethod
    async def _wait(workers: list[asyncio.Task[None]], stop: asyncio.Event | None) -> None:
        if not workers:
            return
        everything = asyncio.gather(*workers)
        # When the workers are cancelled the gather ends with their CancelledError: read it, so that
        # asyncio does not report it as never retrieved.
        everything.add_done_callback(lambda f: f.cancelled() or f.exception())
        if stop is None:
            await everything
            return
        stopper = asyncio.create_task(stop.wait())
        waited: list[asyncio.Future[Any]] = [everything, stopper]
        try:
            await asyncio.wait(waited, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await stopper
        if everything.done():
            everything.result()

    async def _worker(self, queue: deque[Target], n: int) -> None:
        while queue and self.report.aborted is None:
            if n >= self.concurrency and not self.batched:
                return  # one request per account: `concurrency` workers are enough
            target = queue.popleft()
            self._in_flight[n] = target
            try:
                settled = await self._act(target)
            except AutoliqClientError as exc:
                fatal = fatal_reason(exc)
                if fatal is not None and self.report.aborted is None:
                    self.report.aborted = fatal
                settled = Settled(target, "failed", describe_error(exc))
            del self._in_flight[n]
            self._settle(settled)

    async def _act(self, target: Target) -> Settled:
        """Send the action and read it back; try again (reading first) while the outcome is unknown."""
        last: AutoliqClientError | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                await self._sleep(min(self.retry_pause * 2 ** (attempt - 1), RETRY_PAUSE_CAP))
                try:
                    statuses = await self._read(target.account_id)
                except (ServerError, TransportError) as exc:
                    last = exc
                    continue
                if statuses and statuses[0].get("adminAction") == self.admin_action:
                    why = describe_error(last) if last is not None else "an unknown outcome"
                    return Settled(target, "done", f"applied after all (seen on reading again after {why})")
            try:
                result = await self._write(target.account_id)
            except ActionNotAppliedError as exc:
                if exc.result.write_error is None:
                    raise  # the write was answered and the read-back shows otherwise: not a glitch
                last = exc
            except (ServerError, TransportError) as exc:
                last = exc  # the read-back failed too: unknown
            else:
                if result.write_error is not None:
                    lost = describe_error(result.write_error)
                    note = f"the write's answer was lost ({lost}); the read-back shows it"
                    return Settled(target, "done", note)
                return Settled(target, "done")
        assert last is not None
        tries = self.retries + 1
        raise _GaveUp(f"{describe_error(last)} ({tries} attempt{'s' if tries > 1 else ''})") from last

    async def _write(self, account_id: int) -> ActionResult:
        """setadminautoliqaction read back (`verify=True`): in the next bulk request while the
        bulk route works, else alone."""
        if self._batcher is not None and not self._batcher.unavailable:
            try:
                return await self._batcher.write(account_id)
            except _Unbatched:
                pass  # the server has no bulk route: nothing was sent for the account
        async with self._slots:
            return await self.client.set_admin_auto_liq_action(
                account_id, self.admin_action, reason_code=self.reason_code, reason=self.reason, verify=True
            )

    async def _read(self, account_id: int) -> list[Any]:
        """The account's status as `accountRiskStatus/deps` answers it: in the next `items` read
        while the bulk route works, else alone."""
        if self._batcher is not None and not self._batcher.unavailable:
            return await self._batcher.read(account_id)
        async with self._slots:
            return await self.client.risk_status_deps(account_id)

    def _settle(self, settled: Settled) -> None:
        report = self.report
        if settled.outcome == "done":
            report.done.append(settled)
        elif settled.outcome == "skipped":
            report.skipped_in_state.append(settled.target)
        else:
            report.failed.append(settled)
        if self.journal is not None:
            line: dict[str, Any] = {
                "accountId": settled.target.account_id,
                "outcome": settled.outcome,
                "adminAction": self.admin_action,
                "time": utc_stamp(),
            }
            if settled.detail is not None:
                line["error" if settled.outcome == "failed" else "detail"] = settled.detail
            self.journal.record(line)
        if self.on_settled is not None:
            self.on_settled(settled)


class _Unbatched(Exception):
    """The server has no bulk route: the account was not sent; send it alone."""


class _Batcher:
    """The writes (and the reads) of the accounts in flight, sent together: the requests asked for
    while the event loop runs its current callbacks, or `size` of them, make one SDK call
    (`set_admin_auto_liq_action_many` with `verify=True`, without the SDK's own fallback; or
    `risk_statuses_of`), whose per-account outcomes are handed back to each caller."""

    def __init__(
        self, client: AsyncClient, admin_action: str, reason_code: str, reason: str | None, size: int
    ) -> None:
        self.client = client
        self.admin_action = admin_action
        self.reason_code = reason_code
        self.reason = reason
        self.size = size
        self.unavailable = False
        """Set once the server answered the bulk route 404 (Tradovate)."""
        self._writes: list[tuple[int, asyncio.Future[Any]]] = []
        self._reads: list[tuple[int, asyncio.Future[Any]]] = []
        self._scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()

    async def write(self, account_id: int) -> ActionResult:
        """`set_admin_auto_liq_action(..., verify=True)`'s result for the account, or its error;
        `_Unbatched` when the server has no bulk route."""
        result: ActionResult = await self._enqueue(self._writes, account_id)
        return result

    async def read(self, account_id: int) -> list[Any]:
        """The account's status in a list (empty when the server shows none), as `deps` answers."""
        found: list[Any] = await self._enqueue(self._reads, account_id)
        return found

    def _enqueue(
        self, pending: list[tuple[int, asyncio.Future[Any]]], account_id: int
    ) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        pending.append((account_id, future))
        if len(pending) >= self.size:
            self._send(pending)
        elif not self._scheduled:
            # The other workers that can ask now run before this callback: one request for them all.
            self._scheduled = True
            loop.call_soon(self._send_all)
        return future

    def _send_all(self) -> None:
        self._scheduled = False
        while self._writes:
            self._send(self._writes)
        while self._reads:
            self._send(self._reads)

    def _send(self, pending: list[tuple[int, asyncio.Future[Any]]]) -> None:
        batch = pending[: self.size]
        del pending[: len(batch)]
        work = self._write_batch(batch) if pending is self._writes else self._read_batch(batch)
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _write_batch(self, batch: list[tuple[int, asyncio.Future[Any]]]) -> None:
        try:
            outcomes = await self.client.set_admin_auto_liq_action_many(
                [a for a, _ in batch],
                self.admin_action,
                reason_code=self.reason_code,
                reason=self.reason,
                verify=True,
                fallback=False,
            )
        except BulkUnavailableError:
            self.unavailable = True
            _fail_all(batch, _Unbatched())
            return
        except Exception as exc:
            _fail_all(batch, exc)
            return
        except BaseException:
            _fail_all(batch, None)
            raise
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if not future.done():
                if isinstance(outcome, Exception):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)

    async def _read_batch(self, batch: list[tuple[int, asyncio.Future[Any]]]) -> None:
        try:
            statuses = await self.client.risk_statuses_of([a for a, _ in batch])
        except Exception as exc:
            _fail_all(batch, exc)
            return
        except BaseException:
            _fail_all(batch, None)
            raise
        by_id = {s.get("id"): s for s in statuses}
        for account_id, future in batch:
            if not future.done():
                future.set_result([by_id[account_id]] if account_id in by_id else [])

    async def aclose(self) -> None:
        """Cancel the requests still in flight (their callers were stopped)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def _fail_all(batch: list[tuple[int, asyncio.Future[Any]]], error: Exception | None) -> None:
    """Each caller of `batch` gets `error` (None: cancelled, the run is stopping)."""
    for _, future in batch:
        if future.done():
            continue
        if error is None:
            future.cancel()
        else:
            future.set_exception(error)
