"""One admin action over many accounts: each verified by read-back, journaled, retried when safe.

The plan, per selected account (the same for `--dry-run`, which sends nothing):

- verified in the journal of a resumed run: skipped (`fromJournal`), no request;
- already in the requested state when the statuses were read at the start: skipped
  (`alreadyInState`), no request, unless `force`;
- otherwise sent with `verify=True`: the SDK posts setadminautoliqaction, then reads
  `accountRiskStatus/deps` back. Penalty tickets and 429s are waited out by the SDK.

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
    ApiError,
    AsyncClient,
    AuthError,
    AutoliqClientError,
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
    ) -> None:
        if concurrency < 1 or retries < 0:
            raise ValueError("concurrency must be positive and retries not negative")
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
        workers = [
            asyncio.create_task(self._worker(queue, n), name=f"bulk-worker-{n}")
            for n in range(min(self.concurrency, len(queue)))
        ]
        try:
            await self._wait(workers, stop)
        finally:
            if any(not w.done() for w in workers):
                report.stopped = True
                for worker in workers:
                    worker.cancel()
                await asyncio.gather(*workers, return_exceptions=True)
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
                    statuses = await self.client.risk_status_deps(target.account_id)
                except (ServerError, TransportError) as exc:
                    last = exc
                    continue
                if statuses and statuses[0].get("adminAction") == self.admin_action:
                    why = describe_error(last) if last is not None else "an unknown outcome"
                    return Settled(target, "done", f"applied after all (seen on reading again after {why})")
            try:
                result = await self.client.set_admin_auto_liq_action(
                    target.account_id,
                    self.admin_action,
                    reason_code=self.reason_code,
                    reason=self.reason,
                    verify=True,
                )
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
