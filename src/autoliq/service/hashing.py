"""Password hashing on its own few threads, with a bounded queue.

A slow hash costs tens of milliseconds of CPU and memory on purpose. On the default executor or the
storage threads, a flood of logins would queue ahead of an admin's lock; here it waits only for the
other hashes, and past `max_pending` a login is turned away at once (the caller answers a penalty
ticket) instead of queueing without bound. On Linux its threads run at a lower CPU priority.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

_T = TypeVar("_T")

DEFAULT_THREADS = 1
"""One hash at a time: argon2id at p=1 uses one core, and the event loop keeps the other ones."""
DEFAULT_MAX_PENDING = 8
"""Hashes running or waiting at most (with one thread, ~8 hash times of queueing at worst)."""


NICENESS = 10
"""How much lower the hashing threads' CPU priority is than the process's (Linux)."""


def _lower_priority() -> None:
    """On Linux, a thread has its own nice value: the hashing threads yield the CPU to the event
    loop and the writer when the machine is busy. Elsewhere the call would renice the whole
    process (or another one), so nothing is done."""
    if sys.platform != "linux":
        return
    tid = threading.get_native_id()
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + NICENESS))


class HashingPool:
    """A small executor for password hashes; `run` answers None when its queue is full."""

    def __init__(self, threads: int = DEFAULT_THREADS, max_pending: int = DEFAULT_MAX_PENDING) -> None:
        if threads < 1 or max_pending < threads:
            raise ValueError("hashing pool: threads >= 1 and max_pending >= threads")
        self.threads = threads
        self.max_pending = max_pending
        self._pending = 0
        self._executor: ThreadPoolExecutor | None = None

    @property
    def pending(self) -> int:
        """Hashes running or waiting now."""
        return self._pending

    async def run(self, work: Callable[..., _T], *args: object) -> _T | None:
        """`work(*args)` on the pool's threads; None, without running it, when the pool is full."""
        if self._pending >= self.max_pending:
            return None
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                self.threads, thread_name_prefix="autoliq-hash", initializer=_lower_priority
            )
        self._pending += 1  # only the event loop's thread counts: no lock needed
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, work, *args)
        finally:
            self._pending -= 1

    def shutdown(self) -> None:
        """Stop the threads (running hashes finish; the pool starts again if used)."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
