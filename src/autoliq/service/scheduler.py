"""The scheduler: fires the stored timers that the clock has reached, each once, in its own
transaction (the timer row is deleted by the transaction that acts on it)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import partial

from autoliq.domain.errors import StorageUnavailable
from autoliq.domain.events import RiskStatusChanged
from autoliq.domain.states import Actor
from autoliq.domain.timers import Timer, TimerKind, expired_status, expiry_reason
from autoliq.service import risk_engine
from autoliq.service.clock import Clock
from autoliq.service.ports import Store, UnitOfWork

log = logging.getLogger(__name__)


async def run_periodically(
    step: Callable[[], Awaitable[object]], interval: float, name: str, what: str
) -> None:
    """`step` every `interval` seconds until cancelled: the background loop of the scheduler and of
    the webhook deliverer. A storage fault is logged at debug (the writer logs it once, when it
    starts failing); any other failure is logged with its traceback; both are retried next turn."""
    while True:
        try:
            await step()
        except asyncio.CancelledError:
            raise
        except StorageUnavailable:
            log.debug("%s: storage unavailable; retrying", name)
        except Exception:
            log.exception("%s: %s failed; retrying", name, what)
        await asyncio.sleep(interval)


BATCH = 500


def fire(store: Store, timer: Timer) -> bool:
    """Fire one timer inside a transaction; False when it had fired already or no longer applies."""
    if not store.delete_timer(timer.id):
        return False
    if timer.kind is TimerKind.ADMIN_ACTION_EXPIRY:
        status = store.risk_status(timer.account_id)
        account = store.account(timer.account_id)
        after = None if status is None else expired_status(timer, status)
        if after is None or account is None or timer.admin_action is None:
            return False
        store.save_risk_status(after)
        entry = store.append_log(
            timer.account_id, timer.due_at, after, Actor.SYSTEM, None, None, expiry_reason(timer.admin_action)
        )
        store.emit(RiskStatusChanged(account.organization_id, account.id, account.user_id, after, entry))
        return True
    if timer.kind is TimerKind.AUTO_LIQ_UNLOCK:
        return risk_engine.unlock(store, timer)
    if timer.kind is TimerKind.FLATTEN:
        return risk_engine.flatten(store, timer)
    return False


def _due_timers(store: Store, now: datetime) -> list[Timer]:
    return store.due_timers(now, BATCH)


class Scheduler:
    """Runs due timers: on demand (`run_due`, which the sandbox clock calls after it moves) and in
    the background every `interval` seconds of real time (`run_forever`)."""

    def __init__(self, uow: UnitOfWork, clock: Clock, *, interval: float = 0.25) -> None:
        self._uow = uow
        self._clock = clock
        self._interval = interval
        self._running = asyncio.Lock()
        self.fired = 0
        self.stored_now: Callable[[Store], datetime] | None = None
        """The clock as stored, read inside the session job's transaction (the sandbox clock's): a
        worker's own copy lags another worker's move by a relay poll, and a replay moves the clock
        back, where a stale copy would close trade dates the replay has yet to run through."""

    def _close_sessions(self, store: Store) -> int:
        if self.stored_now is None:
            return risk_engine.close_sessions(store, now=self._clock.now())
        # The session row first (locked on PostgreSQL): a replay's reset, which writes it, is then
        # either wholly before this transaction (and its clock read below) or wholly after it.
        store.session_closed_date()
        return risk_engine.close_sessions(store, now=self.stored_now(store))

    async def run_due(self) -> int:
        """Fire every timer due now, earliest first; how many took effect."""
        fired = 0
        async with self._running:
            # A trade date's end first: EOD trailing marks and Day-order expiry.
            await self._uow.write(self._close_sessions)
            while True:
                due = await self._uow.read(partial(_due_timers, now=self._clock.now()))
                for timer in due:
                    if await self._uow.write(partial(fire, timer=timer), accounts=(timer.account_id,)):
                        fired += 1
                if len(due) < BATCH:
                    break
        self.fired += fired
        return fired

    async def run_forever(self) -> None:
        """`run_due` in a loop until cancelled; a failure is logged and retried on the next turn."""
        await run_periodically(self.run_due, self._interval, "scheduler", "running due timers")
