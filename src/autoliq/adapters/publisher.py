"""In-process event fan-out, after commit: subscribers get every event in commit order."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from autoliq.domain.events import Event


class InMemoryPublisher:
    """Delivers committed events to subscriber queues on the event loop."""

    def __init__(self, max_queue: int = 10_000) -> None:
        self._subscribers: set[asyncio.Queue[Event]] = set()
        self._max_queue = max_queue
        self.published = 0
        self._listeners: list[Callable[[Sequence[Event]], None]] = []

    def subscribe(self) -> asyncio.Queue[Event]:
        """A new queue that receives every event published from now on."""
        q: asyncio.Queue[Event] = asyncio.Queue(self._max_queue)
        self._subscribers.add(q)
        return q

    def unsubscribe(self, q: asyncio.Queue[Event]) -> None:
        """Stop delivering to `q`."""
        self._subscribers.discard(q)

    def add_listener(self, listener: Callable[[Sequence[Event]], None]) -> None:
        """Call `listener` with every batch of events, on the event loop (for process-local caches
        that the events invalidate)."""
        self._listeners.append(listener)

    def publish(self, events: Sequence[Event]) -> None:
        """Fan `events` out; a subscriber whose queue is full is dropped, not waited for."""
        self.published += len(events)
        for listener in self._listeners:
            listener(events)
        for q in list(self._subscribers):
            for event in events:
                try:
                    q.put_nowait(event)
                except asyncio.QueueFull:
                    self._subscribers.discard(q)
                    break
